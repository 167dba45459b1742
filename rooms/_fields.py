"""Field annotations shared by commands, events and signals (wire size caps).

``MaxLen`` caps the raw length of a string a client may send; the codec enforces it before any
rule runs, and the protocol's published schemas state it as ``maxLength``. Domain limits (e.g.
500 chars of chat after trimming) are checked by the rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

__all__ = ["Id", "MaxLen", "Name", "Note", "Sku", "Text", "Url"]


@dataclass(frozen=True, slots=True)
class MaxLen:
    """Largest raw string length the wire codec accepts for a field."""

    value: int

    def json_schema(self) -> dict[str, int]:
        """The same cap as a JSON Schema keyword (``server.protocol.schema`` merges it)."""
        return {"maxLength": self.value}


Id = Annotated[str, MaxLen(64)]
Sku = Annotated[str, MaxLen(64)]
Name = Annotated[str, MaxLen(200)]
Note = Annotated[str, MaxLen(400)]
Text = Annotated[str, MaxLen(1000)]
Url = Annotated[str, MaxLen(2048)]
