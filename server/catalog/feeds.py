"""Parse a product feed — schema.org JSON(-LD) or Google Merchant Center CSV/TSV — into records.

Pure: takes the feed's text and file name, returns a :class:`FeedResult`; never reads files,
never touches the database. Bad rows become :class:`RowError` values and good rows still load;
a change made to a good row (a card number redacted) is a notice of the same shape.
A problem with the whole file (too large, not JSON, no header) is reported as row 0.
"""

from __future__ import annotations

from server.catalog.assemble import assemble
from server.catalog.fields import LIMITS, NOTICE_CODES
from server.catalog.gmc import parse_delimited
from server.catalog.jsonld import parse_jsonld
from server.catalog.records import FeedResult, ProductRecord, RowError, VariantRecord

__all__ = [
    "FeedResult",
    "ProductRecord",
    "RowError",
    "VariantRecord",
    "detect_format",
    "parse_feed",
]


def detect_format(text: str, filename: str) -> str:
    """``"json"``, ``"csv"`` or ``"tsv"``: by extension, else by the first line's content."""
    name = filename.lower()
    if name.endswith((".json", ".jsonld")):
        return "json"
    if name.endswith(".tsv"):
        return "tsv"
    stripped = text.lstrip("\ufeff \t\r\n")
    if not name.endswith(".csv") and stripped[:1] in {"{", "["}:
        return "json"
    first_line = stripped.split("\n", 1)[0]
    return "tsv" if first_line.count("\t") > first_line.count(",") else "csv"


def parse_feed(text: str, filename: str) -> FeedResult:
    """Parse ``text`` (the feed file's content); ``filename`` picks the format."""
    if len(text) > LIMITS.max_feed_chars:
        return FeedResult(
            errors=[
                RowError(
                    0,
                    None,
                    "feed_too_large",
                    f"the feed has {len(text)} characters; the limit is {LIMITS.max_feed_chars}",
                )
            ]
        )
    fmt = detect_format(text, filename)
    if not text.strip():
        return FeedResult(errors=[RowError(0, None, "empty_feed", "the feed is empty")], format=fmt)
    if fmt == "json":
        candidates, errors = parse_jsonld(text)
    else:
        body = text.removeprefix("\ufeff")
        candidates, errors = parse_delimited(body, "\t" if fmt == "tsv" else ",")
    # The parsers report changes made to rows they kept (NOTICE_CODES) along with their errors.
    notices = [e for e in errors if e.code in NOTICE_CODES]
    errors = [e for e in errors if e.code not in NOTICE_CODES]
    products = assemble(candidates, errors)
    errors.sort(key=lambda e: e.row)
    return FeedResult(products=products, errors=errors, format=fmt, notices=notices)
