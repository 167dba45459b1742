"""Structured (JSON) logs. Log records carry ids and codes, never message bodies or tokens."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

__all__ = ["configure_logging", "silence_frame_dumps"]


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


_FILTER = _NoFrameDumps()


def silence_frame_dumps() -> None:
    for name in ("uvicorn.error", "websockets", "websockets.server", "websockets.protocol"):
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def configure_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_FILTER)
    silence_frame_dumps()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log prints request paths, which can carry invite tokens in the query.
    logging.getLogger("uvicorn.access").disabled = True
