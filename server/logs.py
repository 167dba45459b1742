"""Structured (JSON) logs. Log records carry ids and codes, never message bodies or tokens.

This module is for: the one log handler of a ``coshop serve`` process (JSON lines on stderr)
and the guards that keep data out of every record, whatever ``--log-level`` says:

* **No frame dumps**: the websockets library logs whole frames at DEBUG (chat text, tokens in
  hello frames); those records are dropped.
* **No SQL parameters**: aiosqlite logs every call with its arguments at DEBUG, httpcore logs
  request and response headers at DEBUG, python-multipart logs form data at DEBUG, and
  SQLAlchemy logs statements with parameters (and result rows) at INFO/DEBUG. Those loggers
  are capped (:data:`_CAPS`) and their records below the cap are dropped by the handler too.
  Engines are built with ``hide_parameters=True`` (``server/db/engine.py``), so a database
  error logged with its traceback names the statement but not its values.
* **No query strings**: access lines (uvicorn's ``uvicorn.access`` for HTTP, its
  ``"WebSocket /path"`` lines on ``uvicorn.error``, httpx's ``HTTP Request:`` lines for our
  own outbound calls) keep the path and drop everything from ``?`` on: invite links, tokens
  or signatures a client put in a URL never reach a log.

It must not: decide what coshop's own loggers say (they log ids and codes only), or be needed
for correctness — :func:`install_log_guards` is idempotent and cheap to call twice.
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging", "install_log_guards", "silence_frame_dumps", "strip_query"]

# Third-party loggers that put data into records below a level: the lowest level let through.
_CAPS: dict[str, int] = {
    "aiosqlite": logging.INFO,  # DEBUG: "executing <partial(cursor.execute, sql, params)>"
    "sqlalchemy": logging.WARNING,  # INFO: statements and parameters; DEBUG: result rows
    "httpcore": logging.INFO,  # DEBUG: request and response headers
    "hpack": logging.INFO,  # DEBUG: decoded HTTP/2 headers
    "python_multipart": logging.INFO,  # DEBUG: form fields as they are parsed
    "multipart": logging.INFO,
}


def strip_query(value: object) -> str:
    """``value`` as text, without its query string (``/join/r1?invite=x`` → ``/join/r1``)."""
    text = str(value)
    return text.split("?", 1)[0]


class _NoFrameDumps(logging.Filter):
    """Drop the websockets library's DEBUG dumps of whole frames ("> TEXT '{...}'").

    uvicorn hands its ``uvicorn.error`` logger to websockets, which logs every frame at DEBUG
    level — chat text, tokens in hello frames, a card number someone pasted. coshop never logs
    message bodies or tokens, whatever the log level.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.DEBUG:
            return True
        return not str(record.msg).startswith(("> ", "< ", "% "))


class _CappedLoggers(logging.Filter):
    """Drop records of a capped third-party logger (or its children) below its cap.

    The levels set on those loggers already stop them; this filter sits on the handler too,
    so a test or a library that lowers a level again still cannot push data out.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        for prefix, level in _CAPS.items():
            if (name == prefix or name.startswith(prefix + ".")) and record.levelno < level:
                return False
        return True


class _NoQueryStrings(logging.Filter):
    """Rewrite access lines so that the path they print has no query string.

    Access lines are the records of ``uvicorn.access`` (``'%s - "%s %s HTTP/%s" %d'``),
    uvicorn's WebSocket handshake lines on ``uvicorn.error`` (``'%s - "WebSocket %s" …'``)
    and httpx's ``'HTTP Request: %s %s "%s %d %s"'``. Only their arguments are rewritten; the
    record is always kept.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_access_line(record) and isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                arg if isinstance(arg, int | float) else strip_query(arg) for arg in record.args
            )
        return True


def _is_access_line(record: logging.LogRecord) -> bool:
    if record.name == "uvicorn.access":
        return True
    msg = str(record.msg)
    if record.name == "uvicorn.error":
        return '"WebSocket %s"' in msg
    if record.name == "httpx":
        return msg.startswith("HTTP Request:")
    return False


_FILTER = _NoFrameDumps()
_CAPPED = _CappedLoggers()
_NO_QUERY = _NoQueryStrings()


def _add_filter(logger: logging.Logger | logging.Handler, flt: logging.Filter) -> None:
    if flt not in logger.filters:
        logger.addFilter(flt)


def install_log_guards() -> None:
    """Install the guards of the module docstring on the loggers concerned (idempotent).

    Filters on a logger see the records logged on that logger, whichever handler (ours, a
    test's capture, uvicorn's own) finally writes them.
    """
    for name in ("uvicorn.error", "websockets", "websockets.server", "websockets.protocol"):
        _add_filter(logging.getLogger(name), _FILTER)
    for name in ("uvicorn.access", "uvicorn.error", "httpx"):
        _add_filter(logging.getLogger(name), _NO_QUERY)
    for name, level in _CAPS.items():
        logger = logging.getLogger(name)
        if logger.level < level:  # NOTSET (0) would follow the root logger down to DEBUG
            logger.setLevel(level)


def silence_frame_dumps() -> None:
    """The name ``server/app.py`` calls: installs every guard (:func:`install_log_guards`)."""
    install_log_guards()


def configure_logging(level: str = "info", stream: TextIO | None = None) -> None:
    """One JSON-lines handler on the root logger at ``level``, with every guard installed.

    ``stream`` defaults to stderr (the tests pass their own to read what an operator would).
    """
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    for flt in (_FILTER, _CAPPED, _NO_QUERY):
        handler.addFilter(flt)
    install_log_guards()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
