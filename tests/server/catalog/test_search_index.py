"""Product search through the snapshot's word index answers exactly what a scan of every text
answers: the same products, in (title, sku) order, the same total — for random catalogues and
queries, through incremental changes, and for the snapshots a change left behind."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rooms.catalog import ProductFacts
from server.catalog.index import WORDS_MAX, indexed, words
from server.catalog.memory import MerchantCatalog, apply_changes, run
from server.catalog.models import CatalogChanges, Listed, listed

# Letters whose case folding changes their length ("ß" -> "ss", "İ" -> "i̇": a letter and a
# combining dot, which is no word character), accents, digits, "_" (a word character) and the
# separators a query may hold.
ALPHABET = "abcAB éÉçßẞİ\u0131ﬁ019_-%./\n\t"  # \u0131: a dotless i
text = st.text(alphabet=ALPHABET, max_size=14)

Product = tuple[str, str, str, str]  # sku, title, description, brand


def entry(product: Product, price_minor: int = 100) -> Listed:
    sku, title, description, brand = product
    searched = "\n".join((title, description, brand)).casefold()  # repository.search_text
    return listed(ProductFacts(sku, title, price_minor, "USD"), searched)


def brute_force(
    products: dict[str, Product], query: str | None, limit: int, offset: int
) -> tuple[list[str], int]:
    """What search means (docs/catalog.md), one text at a time."""
    needle = (query or "").strip().casefold()
    found = [
        (title, sku)
        for sku, title, description, brand in products.values()
        if needle in "\n".join((title, description, brand)).casefold()
    ]
    found.sort()
    return [sku for _, sku in found[offset : offset + limit]], len(found)


@st.composite
def catalogues(draw: st.DrawFn, max_size: int = 25) -> dict[str, Product]:
    n = draw(st.integers(0, max_size))
    products: dict[str, Product] = {}
    for i in range(n):
        products[f"s{i}"] = (f"s{i}", draw(text), draw(text), draw(text))
    return products


@st.composite
def queries(draw: st.DrawFn, products: dict[str, Product]) -> str | None:
    """A piece of some product's text (in another case, padded), or any text at all."""
    texts = ["\n".join(p[1:]) for p in products.values()]
    from_a_text = draw(st.booleans())
    if texts and from_a_text:
        source = draw(st.sampled_from(texts))
        start = draw(st.integers(0, len(source)))
        piece = source[start : draw(st.integers(start, len(source)))]
        piece = piece.upper() if draw(st.booleans()) else piece
        return draw(st.sampled_from(["", " ", "\t"])) + piece + draw(st.sampled_from(["", " "]))
    return draw(st.none() | text)


PAGES = st.sampled_from([(100, 0), (3, 0), (2, 1), (5, 4), (1, 30)])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_index_finds_what_a_scan_finds(data: st.DataObject) -> None:
    products = data.draw(catalogues())
    snapshot = apply_changes(None, CatalogChanges(1, True, tuple(map(entry, products.values()))))
    for _ in range(6):
        query = data.draw(queries(products))
        limit, offset = data.draw(PAGES)
        assert snapshot.search(query, limit, offset) == brute_force(
            products, query, limit, offset
        ), query


@st.composite
def change_batches(
    draw: st.DrawFn, products: dict[str, Product], next_id: int
) -> tuple[dict[str, Product], CatalogChanges, int]:
    """One refresh's worth of changes: products deleted, texts or titles or only prices
    changed, new products, deleted and written again. Returns the catalogue after it."""
    after = dict(products)
    skus = sorted(products)
    gone = draw(st.lists(st.sampled_from(skus), unique=True, max_size=5)) if skus else []
    for sku in gone:
        del after[sku]
    written: list[Listed] = []
    for sku in draw(st.lists(st.sampled_from(skus), unique=True, max_size=6)) if skus else []:
        _, title, description, brand = products[sku]
        match draw(st.sampled_from(["price", "text", "title", "again"])):
            case "text":
                description = draw(text)
            case "title":
                title = draw(text)
            case "again":  # a new product under an old sku (or the same one, written back)
                title, description, brand = draw(text), draw(text), draw(text)
        after[sku] = (sku, title, description, brand)
        written.append(entry(after[sku], price_minor=draw(st.integers(1, 9))))
    for _ in range(draw(st.integers(0, 4))):
        next_id += 1
        sku = f"s{next_id}"
        after[sku] = (sku, draw(text), draw(text), draw(text))
        written.append(entry(after[sku]))
    return after, CatalogChanges(0, False, tuple(written), tuple(gone)), next_id


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_an_index_updated_change_by_change_finds_what_a_scan_finds(data: st.DataObject) -> None:
    products = data.draw(catalogues(max_size=12))
    snapshot = apply_changes(None, CatalogChanges(1, True, tuple(map(entry, products.values()))))
    history: list[tuple[MerchantCatalog, dict[str, Product]]] = [(snapshot, products)]
    next_id = 1_000
    for revision in range(2, 2 + data.draw(st.integers(1, 5))):
        products, changes, next_id = data.draw(change_batches(products, next_id))
        changes = CatalogChanges(revision, False, changes.products, changes.gone)
        snapshot = apply_changes(snapshot, changes)
        history.append((snapshot, products))
        assert len(snapshot) == len(products)
        for _ in range(4):
            query = data.draw(queries(products))
            assert snapshot.search(query, 100, 0) == brute_force(products, query, 100, 0), query
    # A change copies what it changes: every earlier snapshot still answers as it did.
    for old, its_products in history:
        old._found.clear()
        for _sku, title, description, _ in list(its_products.values())[:5]:
            for query in (title, description, f"{title[-2:]}\n{description[:2]}"):
                assert old.search(query, 100, 0) == brute_force(its_products, query, 100, 0)


def catalogue_of(n: int) -> dict[str, Product]:
    return {
        f"p{i:05d}": (f"p{i:05d}", f"Lamp {i}", f"tent-{i % 7} 100%", "Trail") for i in range(n)
    }


def test_a_selective_query_looks_only_at_its_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    products = catalogue_of(3_000)
    snapshot = apply_changes(None, CatalogChanges(1, True, tuple(map(entry, products.values()))))

    def no_scan(self: MerchantCatalog, needle: str) -> object:
        raise AssertionError(f"scanned every text for {needle!r}")

    monkeypatch.setattr(MerchantCatalog, "_scan", no_scan)
    for query in ["lamp 12", "LAMP", "12", "tent-3", "tent-3 100%", "-3 1", "trail", "amp 29"]:
        assert snapshot.search(query, 20, 3) == brute_force(products, query, 20, 3), query
    with pytest.raises(AssertionError, match="scanned"):
        snapshot.search("%", 1, 0)  # no word in it: every text is looked at


def test_the_index_hands_unselective_fragments_to_the_scan() -> None:
    items = [(f"s{i}", f"w{i:05d} x{i % 3} x{i % 3}a") for i in range(WORDS_MAX + 2)]
    index = run(indexed(items))

    def slots(needle: str) -> list[int] | None:
        found = run(index.matches(needle))
        return None if found is None else sorted(found)

    assert slots("w0") is None  # fits more words than WORDS_MAX
    assert slots("-") is None  # no word characters
    assert slots("x") is None  # more postings than texts to scan
    assert slots("w00012") == [12]
    assert slots("x2") == list(range(2, WORDS_MAX + 2, 3))
    assert slots("w00012 x1") == []  # 12 % 3 == 0
    assert (index.words, index.postings, len(index)) == (WORDS_MAX + 8, 3 * len(items), len(items))


def test_words_are_runs_of_word_characters_after_folding() -> None:
    assert words("tent-4p\n100% merino_wool ﬁ") == {"tent", "4p", "100", "merino_wool", "ﬁ"}
    assert words("İ".casefold()) == {"i"}  # the combining dot is no word character


def test_a_price_change_shares_the_order_the_index_and_the_labels() -> None:
    products = catalogue_of(50)
    base = apply_changes(None, CatalogChanges(1, True, tuple(map(entry, products.values()))))
    priced = apply_changes(base, CatalogChanges(2, False, (entry(products["p00007"], 999),)))
    assert getattr(priced.product("p00007"), "price_minor", None) == 999
    assert priced.index is base.index
    assert (priced._order is base._order, priced._label is base._label) == (True, True)
    renamed = ("p00007", "Zebra lamp", "striped", "Trail")
    after = apply_changes(priced, CatalogChanges(3, False, (entry(renamed),)))
    products["p00007"] = renamed
    assert after.index is not base.index
    assert after.search("zebra", 10, 0) == (["p00007"], 1)
    assert after.search("lamp 7", 10, 0) == brute_force(products, "lamp 7", 10, 0)
    assert base.search("zebra", 10, 0) == ([], 0)  # the old snapshot is as it was
