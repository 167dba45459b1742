"""The app factory: builds every resource in the lifespan, injects them through ``app.state``.

Nothing is created at import time. ``create_app(settings)`` is what ``coshop serve`` runs and what
the tests drive in their own event loop.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from checkout_bridge.providers import CartPermalinkProvider
from server.api.asyncapi import asyncapi_route
from server.api.console import console_routes
from server.api.me import me_routes
from server.api.merchants import merchant_routes
from server.api.moderation import moderation_routes
from server.api.openapi import openapi_document
from server.api.rooms import DEMO_MERCHANT, room_routes
from server.api.shopper_rooms import shopper_room_routes
from server.api.shows import show_routes, starting_pass
from server.api.stores import store_routes
from server.api.webhooks import webhook_routes
from server.assets import static_dir
from server.auth import TokenSigner
from server.broker import create_broker
from server.catalog.api import catalog_routes
from server.catalog.demo import load_demo_catalog
from server.catalog.repository import CatalogRepository
from server.checkout import CheckoutService, checkout_routes, provider_from_settings
from server.db.engine import create_engine, upgrade_engine
from server.health import Health, WatchedEventStore
from server.http.problem import ProblemError, problem_response
from server.http.ratelimit import RateLimitMiddleware, RateLimits, rate_limited
from server.http.text import CleanText
from server.hub.catalogs import CatalogCache
from server.hub.hub import Hub
from server.hub.shares import ClientShareExceeded
from server.logs import install_log_guards
from server.metrics import Metrics
from server.pages import page_routes
from server.settings import Settings
from server.storage import AlreadyExists, Registry, StorageUnavailable
from server.transport.ws import RoomSockets
from server.webhooks.service import WebhookService

__all__ = ["create_app"]

log = logging.getLogger("coshop.app")


async def _livez(request: Request) -> PlainTextResponse:
    # The event loop answers: the process is alive. Nothing else is checked (a restart would
    # not bring the database back).
    return PlainTextResponse("alive")


def _readiness(request: Request) -> list[str]:
    health: Health = request.app.state.health
    return health.reasons()


async def _readyz(request: Request) -> JSONResponse:
    reasons = _readiness(request)
    body = {"status": "degraded" if reasons else "ready", "reasons": reasons}
    return JSONResponse(
        body, status_code=503 if reasons else 200, headers={"Cache-Control": "no-store"}
    )


async def _healthz(request: Request) -> JSONResponse:
    # Kept for existing probes: always 200; "status" is the readiness of /readyz ("ok" when
    # ready), "broker" whether the broker's listener is connected.
    hub: Hub = request.app.state.hub
    reasons = _readiness(request)
    body = {
        "status": "degraded" if reasons else "ok",
        "rooms": hub.room_count,
        "broker": "broker" not in reasons,
    }
    return JSONResponse(body, status_code=200)


async def _metrics(request: Request) -> Response:
    metrics: Metrics = request.app.state.metrics
    return Response(metrics.render(), media_type="text/plain; version=0.0.4")


async def _openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document(request.app.state.settings.public_url))


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc)


async def _over_share(request: Request, exc: Exception) -> Response:
    # A client over its share of the room cap (server/hub/shares.py), from any route.
    return problem_response(rate_limited(ClientShareExceeded.retry_after_s, str(exc)))


async def _storage_down(request: Request, exc: Exception) -> Response:
    # The database did not answer (a restart, a lock held too long): say so and when to retry,
    # instead of a 500. Nothing was written.
    return problem_response(
        ProblemError(
            503,
            "storage_unavailable",
            "the database cannot be reached; try again shortly",
            headers={"Retry-After": "1"},
        )
    )


async def _not_found(request: Request, exc: Exception) -> Response:
    status = int(getattr(exc, "status_code", 404))
    code = {404: "not_found", 405: "method_not_allowed"}.get(status, "http_error")
    # Starlette's 405 carries the route's ``Allow`` header (RFC 9110 §15.5.6): keep it.
    headers = dict(getattr(exc, "headers", None) or {})
    return problem_response(
        ProblemError(status, code, str(getattr(exc, "detail", code)), headers=headers)
    )


async def _ensure_demo_merchant(registry: Registry, now: int) -> None:
    if await registry.get_merchant(DEMO_MERCHANT) is None:
        # The demo merchant's key is random and never shown: demo rooms are created anonymously.
        # Several processes may start at once; the loser of that race finds it created.
        with contextlib.suppress(AlreadyExists):
            await registry.create_merchant(
                DEMO_MERCHANT, "coshop demo shop", (), secrets.token_urlsafe(32), now
            )


def create_app(settings: Settings) -> Starlette:
    settings = settings.checked()
    install_log_guards()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        from server.api.common import now_ms

        engine = create_engine(settings.effective_database_url)
        await upgrade_engine(engine)
        metrics = Metrics()
        registry = Registry(engine)
        catalog = CatalogRepository(engine)
        if settings.demo:
            await _ensure_demo_merchant(registry, now_ms())
            await load_demo_catalog(engine, now_ms())
        broker = create_broker(
            settings.broker_url or None,
            prefix=settings.broker_prefix,
            process_id=settings.process_id or None,
        )
        await broker.start()
        health = Health(engine, broker)
        # the gauge is read from the broker when /metrics renders: it follows the listener
        metrics.follow_broker(lambda: broker.healthy)
        store = WatchedEventStore(engine)
        store.health = health
        catalogs = CatalogCache(catalog, refresh_s=settings.catalog_refresh_s)
        hub = Hub(
            settings=settings,
            store=store,
            registry=registry,
            catalogs=catalogs,
            broker=broker,
            metrics=metrics,
        )
        await hub.start()
        app.state.settings = settings
        app.state.engine = engine
        app.state.metrics = metrics
        app.state.registry = registry
        app.state.catalog = catalog
        app.state.broker = broker
        app.state.hub = hub
        app.state.health = health
        await health.start()
        app.state.signer = TokenSigner(settings.secret_key, member_ttl_s=settings.token_ttl_s)
        rate_limits = RateLimits(settings)
        app.state.rate_limits = rate_limits
        checkout = CheckoutService.from_state(
            app.state,
            provider_from_settings(settings),
            handoff=CartPermalinkProvider(settings.handoff_shop) if settings.handoff_shop else None,
            payment_window_s=settings.payment_window_s,
            sweep_interval_s=settings.checkout_sweep_s,
        )
        app.state.checkout = checkout
        # Outbound webhooks: the committer and the checkout service tell the feed which logs
        # grew (after their commit, without waiting); hooked before the feed's first recovery
        # pass, so no commit falls between the two.
        webhooks = WebhookService(
            engine,
            production=settings.production,
            metrics=metrics,
            disable_after_s=settings.webhook_disable_after_s,
        )
        hub.committer.committed = webhooks.rooms_committed
        checkout.order_changed = webhooks.order_changed
        app.state.webhooks = webhooks
        await webhooks.start()
        show_starting = starting_pass(app.state)  # show.starting, 10 minutes before a show
        await show_starting.start()
        await checkout.start()
        log.info("coshop started", extra={"public_url": settings.public_url})
        try:
            yield
        finally:
            # each part stops in turn; one that takes long is named in the log (a deploy that
            # waits on shutdown wants to know which part held it)
            for name, close in (
                ("health", health.close),
                ("show_starting", show_starting.close),
                ("webhooks", webhooks.close),
                ("checkout", checkout.close),
                ("rate_limits", rate_limits.close),
                ("hub", hub.close),
                ("catalogs", catalogs.close),
                ("store", store.close),
                ("broker", broker.close),
                ("engine", engine.dispose),
            ):
                began = time.monotonic()
                await close()
                took = time.monotonic() - began
                if took > 2.0:
                    log.warning("slow shutdown", extra={"part": name, "seconds": round(took, 2)})

    routes: list[BaseRoute] = [
        Route("/livez", _livez),
        Route("/readyz", _readyz),
        Route("/healthz", _healthz),
        Route("/metrics", _metrics),
        Route("/openapi.json", _openapi),
        Route("/asyncapi.json", asyncapi_route),
        *room_routes(),
        *merchant_routes(),
        *moderation_routes(),
        *console_routes(),
        *webhook_routes(),
        *shopper_room_routes(),
        *me_routes(),
        *catalog_routes(),
        *checkout_routes(),
        *show_routes(),
        *store_routes(),
        *page_routes(),
        Mount("/static", StaticFiles(directory=static_dir()), name="static"),
    ]
    return Starlette(
        routes=routes,
        # /ws/rooms/{room_id} is served by RoomSockets, ahead of the router (server/ws.py)
        # a client over its REST windows is refused before anything else reads its request
        # (server/http/ratelimit.py); a REST path or query that is not clean text is refused
        # before any route (invalid_text)
        middleware=[
            Middleware(RoomSockets),
            Middleware(RateLimitMiddleware),
            Middleware(CleanText),
        ],
        lifespan=lifespan,
        exception_handlers={
            ProblemError: _problem,
            ClientShareExceeded: _over_share,
            StorageUnavailable: _storage_down,
            404: _not_found,
            405: _not_found,
        },
    )
