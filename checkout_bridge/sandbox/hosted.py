"""The hosted payment page (``/pay/{session_id}``): test cards and scenario buttons.

The shopper arrives here by top-level navigation. The page accepts only documented test card
numbers (:mod:`~checkout_bridge.sandbox.cards`); a card number is used for the lookup and then
dropped: it is never stored, logged or echoed back (only brand and last 4 digits are kept).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from checkout_bridge.money import minor_unit_exponent, normalize_currency
from checkout_bridge.sandbox.cards import TEST_CARDS, lookup
from checkout_bridge.sandbox.errors import SandboxError
from checkout_bridge.sandbox.service import SCENARIOS, PaymentOutcome, SandboxService

__all__ = ["format_amount", "hosted_routes"]

_EXPIRY = re.compile(r"^\s*(0[1-9]|1[0-2])\s*/\s*(\d{2})\s*$")
_CVC = re.compile(r"^\d{3,4}$")


# The symbols Intl.NumberFormat("en-US", {style: "currency"}) puts before the amount; any other
# currency is shown as its code and a no-break space ("CHF 1,234.50"), as Intl does. The room
# page formats money with Intl in "en-US" (static/js/util.js money), so both read the same;
# tests/browser/test_money_format.py compares the two under node.
_SYMBOLS = {
    "USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "CAD": "CA$", "AUD": "A$", "NZD": "NZ$",
    "HKD": "HK$", "MXN": "MX$", "BRL": "R$", "INR": "₹", "KRW": "₩", "CNY": "CN¥", "ILS": "₪",
    "TWD": "NT$", "PHP": "₱", "VND": "₫",
}  # fmt: skip


def format_amount(amount_minor: int, currency: str) -> str:
    """``1299, "usd"`` → ``"$12.99"``, ``"jpy"`` → ``"¥1,299"``: what Intl.NumberFormat shows."""
    code = normalize_currency(currency)
    exponent = minor_unit_exponent(code)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    number = f"{major:,}" + (f".{minor:0{exponent}d}" if exponent else "")
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code}\u00a0{number}"


def _service(request: Request) -> SandboxService:
    service: SandboxService = request.app.state.sandbox_service
    return service


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    env: jinja2.Environment = request.app.state.sandbox_templates
    html = env.get_template(name).render(format_amount=format_amount, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})


async def _page(request: Request, error: str | None = None, status: int = 200) -> Response:
    service = _service(request)
    session_id = request.path_params["session_id"]
    try:
        stored = await service.session(session_id)
    except SandboxError:
        return _render(request, "closed.html", 404, title="Unknown checkout session", session=None)
    session = stored.doc
    if session["status"] == "open" and session["expires_at"] <= service.now():
        await service.sweep()
        session = (await service.session(session_id)).doc
    if session["status"] != "open":
        return _render(request, "closed.html", 200, title="Checkout closed", session=session)
    return _render(
        request,
        "pay.html",
        status,
        session=session,
        lines=stored.private["line_items"],
        error=error,
        cards=TEST_CARDS.values(),
    )


async def _show(request: Request) -> Response:
    return await _page(request)


def _follow(request: Request, outcome: PaymentOutcome) -> Response:
    session_id = request.path_params["session_id"]
    if outcome.redirect_to is not None:
        return RedirectResponse(outcome.redirect_to, status_code=303)
    if outcome.needs_authentication:
        return RedirectResponse(f"/pay/{session_id}/authenticate", status_code=303)
    raise AssertionError("an outcome with an error is rendered by the caller")


def _card_error(form: Any, now_year: int, now_month: int) -> str | None:
    expiry = _EXPIRY.match(str(form.get("expiry", "")))
    if expiry is None:
        return "Enter the expiry date as MM/YY."
    month, year = int(expiry.group(1)), 2000 + int(expiry.group(2))
    if (year, month) < (now_year, now_month):
        return "This card has expired."
    if not _CVC.match(str(form.get("cvc", "")).strip()):
        return "Enter the 3 or 4 digit security code (CVC)."
    return None


async def _submit(request: Request) -> Response:
    service = _service(request)
    session_id = request.path_params["session_id"]
    form = await request.form()
    scenario = str(form.get("scenario", "pay"))
    if scenario == "abandon":
        cancel_url = await service.cancel_url(session_id)
        if cancel_url is None:
            return _render(request, "closed.html", 200, title="Payment abandoned", session=None)
        return RedirectResponse(cancel_url, status_code=303)
    if scenario not in SCENARIOS:
        return await _page(request, "Unknown scenario.", 400)
    # The number is looked up and dropped here; it is never stored, logged or re-rendered.
    card = lookup(str(form.get("card_number", "")))
    if card is None:
        return await _page(
            request,
            "This sandbox accepts only the documented test card numbers listed below.",
            400,
        )
    today = datetime.datetime.fromtimestamp(service.now(), tz=datetime.UTC)
    problem = _card_error(form, today.year, today.month)
    if problem is not None:
        return await _page(request, problem, 400)
    try:
        outcome = await service.submit_card(session_id, card, scenario)
    except SandboxError as error:
        return await _page(request, error.message, 409)
    if outcome.error is not None:
        return await _page(request, outcome.error, 402)
    return _follow(request, outcome)


async def _authentication_page(request: Request) -> Response:
    service = _service(request)
    session_id = request.path_params["session_id"]
    try:
        card = await service.pending_authentication(session_id)
        session = (await service.session(session_id)).doc
    except SandboxError:
        return _render(request, "closed.html", 404, title="Unknown checkout session", session=None)
    if card is None or session["status"] != "open":
        return RedirectResponse(f"/pay/{session_id}", status_code=303)
    return _render(request, "authenticate.html", session=session, card=card)


async def _authenticate(request: Request) -> Response:
    service = _service(request)
    form = await request.form()
    approve = form.get("decision") == "approve"
    try:
        outcome = await service.authenticate(request.path_params["session_id"], approve)
    except SandboxError as error:
        return await _page(request, error.message, 409)
    if outcome.error is not None:
        return await _page(request, outcome.error, 402)
    return _follow(request, outcome)


def hosted_routes() -> list[Route]:
    return [
        Route("/pay/{session_id}", _show, methods=["GET"]),
        Route("/pay/{session_id}", _submit, methods=["POST"]),
        Route("/pay/{session_id}/authenticate", _authentication_page, methods=["GET"]),
        Route("/pay/{session_id}/authenticate", _authenticate, methods=["POST"]),
    ]
