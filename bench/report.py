"""Figures and tables: percentiles of latency arrays and plain-text tables for the terminal.

A :class:`Table` is what every benchmark returns; ``__main__`` prints them and can dump them as
JSON. Nothing here measures anything.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Table", "fmt", "percentile_ms"]


def percentile_ms(values: array[int], *quantiles: float) -> list[float | None]:
    """Nearest-rank percentiles of nanosecond samples, in milliseconds (None when empty)."""
    if not values:
        return [None for _ in quantiles]
    ordered = sorted(values)
    n = len(ordered)
    return [ordered[min(n - 1, max(0, int(q * n + 0.5) - 1))] / 1e6 for q in quantiles]


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *row: Any) -> None:
        self.rows.append(list(row))

    def render(self) -> str:
        cells = [self.columns] + [[fmt(v) for v in r] for r in self.rows]
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.columns))]
        lines = [f"## {self.title}", ""]
        lines.append(
            "| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |"
        )
        lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
        for r in cells[1:]:
            lines.append(
                "| "
                + " | ".join(
                    c.rjust(w) if i else c.ljust(w)
                    for i, (c, w) in enumerate(zip(r, widths, strict=True))
                )
                + " |"
            )
        lines += [""] + [f"- {n}" for n in self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def as_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "columns": self.columns,
            "rows": self.rows,
            "notes": self.notes,
        }
