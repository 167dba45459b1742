"""Webhook fault switches: how the sandbox misbehaves on purpose so receivers can be tested.

- ``duplicate``: every event is delivered twice (two separate attempts, each freshly signed).
- ``reorder``: an event is held back until the next one has been sent, then delivered after it.
- ``delay``: seconds added before the first attempt of every event.
- ``wrong_secret``: deliveries are signed with a secret the receiver does not know.
- ``replay``: after every new event, the last delivered one is resent byte for byte, with its
  old ``Stripe-Signature`` header (so its timestamp is old).

Switches are set process-wide (``POST /_sandbox/faults``) or per checkout session through
metadata keys ``sandbox_fault_<name>``. Pure: parsing and merging only, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

__all__ = ["METADATA_PREFIX", "Faults", "FaultsError"]

METADATA_PREFIX = "sandbox_fault_"
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class FaultsError(ValueError):
    """A fault switch name or value is not understood; ``param`` names it."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _TRUE | _FALSE:
        return value.lower() in _TRUE
    raise FaultsError(name, f"{name} must be true or false")


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool):
        raise FaultsError(name, f"{name} must be a number of seconds")
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise FaultsError(name, f"{name} must be a number of seconds") from None
    if not math.isfinite(seconds) or seconds < 0 or seconds > 3600:
        raise FaultsError(name, f"{name} must be between 0 and 3600 seconds")
    return seconds


@dataclass(frozen=True)
class Faults:
    duplicate: bool = False
    reorder: bool = False
    delay: float = 0.0
    wrong_secret: bool = False
    replay: bool = False

    def updated(self, changes: Mapping[str, Any]) -> Faults:
        """These switches with ``changes`` applied; unknown names or bad values raise."""
        known = {f.name for f in fields(self)}
        values: dict[str, Any] = {}
        for name, value in changes.items():
            if name not in known:
                raise FaultsError(name, f"unknown fault switch {name!r}")
            values[name] = _seconds(name, value) if name == "delay" else _flag(name, value)
        return replace(self, **values)

    def merged(self, other: Faults) -> Faults:
        """Switches on in either; the longer delay."""
        return Faults(
            duplicate=self.duplicate or other.duplicate,
            reorder=self.reorder or other.reorder,
            delay=max(self.delay, other.delay),
            wrong_secret=self.wrong_secret or other.wrong_secret,
            replay=self.replay or other.replay,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, str]) -> Faults:
        """Per-session switches from ``metadata[sandbox_fault_<name>]`` entries."""
        changes = {
            key.removeprefix(METADATA_PREFIX): value
            for key, value in metadata.items()
            if key.startswith(METADATA_PREFIX)
        }
        try:
            return cls().updated(changes)
        except FaultsError as exc:
            raise FaultsError(f"metadata[{METADATA_PREFIX}{exc.param}]", str(exc)) from None
