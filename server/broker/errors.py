"""The broker's exception tree; every error carries a stable string ``code``.

::

    BrokerError                 broker_error
     ├── BrokerUnavailable      broker_unavailable    Redis unreachable or too slow to answer
     ├── BrokerClosed           broker_closed         used before start() or after close()
     ├── InvalidBrokerUrl       broker_url_invalid    create_broker() got an unknown scheme
     ├── InvalidName            broker_name_invalid   a room id, process id or prefix we refuse
     ├── UnknownKind            broker_kind_unknown   publish() kind is not "events"/"signal"
     └── InvalidFrame           broker_frame_invalid  bytes on a channel that are not our frame

Foreign errors (``redis.exceptions.RedisError``, ``OSError``) are translated at the boundary with
``raise BrokerUnavailable(...) from exc``; nothing outside this package sees them.
"""

from __future__ import annotations

__all__ = [
    "BrokerClosed",
    "BrokerError",
    "BrokerUnavailable",
    "InvalidBrokerUrl",
    "InvalidFrame",
    "InvalidName",
    "UnknownKind",
]


class BrokerError(Exception):
    """Base of every error raised by ``server.broker``."""

    code: str = "broker_error"


class BrokerUnavailable(BrokerError):
    """The shared broker (Redis) cannot be reached right now; the caller may retry later."""

    code = "broker_unavailable"


class BrokerClosed(BrokerError):
    """The broker was not started yet, or was already closed."""

    code = "broker_closed"


class InvalidBrokerUrl(BrokerError):
    """The broker URL has a scheme coshop does not support."""

    code = "broker_url_invalid"


class InvalidName(BrokerError):
    """A room id, process id or key prefix that cannot be used in channel or key names."""

    code = "broker_name_invalid"


class UnknownKind(BrokerError):
    """``publish()`` was given a kind other than ``"events"`` or ``"signal"``."""

    code = "broker_kind_unknown"


class InvalidFrame(BrokerError):
    """Bytes received on a room channel that do not decode as a broker frame."""

    code = "broker_frame_invalid"
