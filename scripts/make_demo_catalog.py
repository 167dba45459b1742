"""Generate the demo catalogue: ``server/catalog/demo/products.json`` and its SVG images.

The demo shop, "Trailhead Supply Co.", sells outdoor gear. Its products are listed once, below;
this script writes them as a schema.org JSON-LD feed (so the demo goes through the same import
path as a merchant's feed) and draws one flat SVG illustration per product in
``static/demo/img/<sku>.svg``. No network, no stock photos. Run it after editing the list:

    .venv/bin/python scripts/make_demo_catalog.py

The generated files are committed; the server never runs this script.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parent.parent
FEED = ROOT / "server" / "catalog" / "demo" / "products.json"
IMAGES = ROOT / "static" / "demo" / "img"
BRAND = "Trailhead"


@dataclass(frozen=True)
class Variant:
    sku: str
    size: str = ""
    color: str = ""
    stock: int = 10
    price: str | None = None


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    price: str
    icon: str
    colour: str  # background of the illustration
    description: str
    stock: int | None = 20
    variants: list[Variant] = field(default_factory=list)


ITEMS = [
    Item(
        "tent-2p",
        "Ridgeline 2-Person Tent",
        "289.00",
        "tent",
        "#2f6f5e",
        "Freestanding three-season tent with two doors and a 1.9 kg trail weight.",
        12,
    ),
    Item(
        "tent-4p",
        "Basecamp 4-Person Tent",
        "449.00",
        "tent",
        "#c0673a",
        "Roomy family tent with full-height walls and a vestibule for muddy boots.",
        4,
    ),
    Item(
        "pack-45",
        "Switchback 45L Backpack",
        "179.00",
        "pack",
        "#34495e",
        "Adjustable torso, hip-belt pockets and a rain cover tucked in the lid.",
        None,
        [
            Variant("pack-45-sm-forest", "S/M", "Forest", 6),
            Variant("pack-45-ml-forest", "M/L", "Forest", 8),
            Variant("pack-45-ml-slate", "M/L", "Slate", 3),
        ],
    ),
    Item(
        "daypack-22",
        "Summit 22L Daypack",
        "79.00",
        "pack",
        "#d35400",
        "Light daypack with a hydration sleeve and stretch side pockets.",
        None,
        [
            Variant("daypack-22-ember", "", "Ember", 14),
            Variant("daypack-22-slate", "", "Slate", 9),
            Variant("daypack-22-moss", "", "Moss", 0),
        ],
    ),
    Item(
        "bag-20f",
        "Alpenglow 20°F Sleeping Bag",
        "229.00",
        "bag",
        "#8e44ad",
        "Down-filled mummy bag rated to 20°F with a draft collar.",
        None,
        [
            Variant("bag-20f-reg", "Regular", "", 7),
            Variant("bag-20f-long", "Long", "", 2, "249.00"),
        ],
    ),
    Item(
        "pad-cloudrest",
        "Cloudrest Sleeping Pad",
        "119.00",
        "pad",
        "#16a085",
        "Insulated air pad, R-value 4.2, packs to the size of a water bottle.",
        18,
    ),
    Item(
        "stove-firefly",
        "Firefly Canister Stove",
        "54.95",
        "stove",
        "#c0392b",
        "Boils a litre in three and a half minutes; piezo igniter included.",
        25,
    ),
    Item(
        "pot-ti-900",
        "Titanium Cook Pot 900 ml",
        "44.50",
        "pot",
        "#7f8c8d",
        "Nests a fuel canister and the Firefly stove; folding handles.",
        30,
    ),
    Item(
        "mug-enamel",
        "Enamel Camp Mug",
        "16.00",
        "mug",
        "#2980b9",
        "Classic speckled enamel mug, 350 ml.",
        None,
        [
            Variant("mug-enamel-blue", "", "Blue", 40),
            Variant("mug-enamel-red", "", "Red", 35),
            Variant("mug-enamel-cream", "", "Cream", 12),
        ],
    ),
    Item(
        "bottle-750",
        "Insulated Trail Bottle 750 ml",
        "34.00",
        "bottle",
        "#27ae60",
        "Keeps water cold for 24 hours and coffee hot for 12.",
        None,
        [Variant("bottle-750-pine", "", "Pine", 22), Variant("bottle-750-sky", "", "Sky", 17)],
    ),
    Item(
        "filter-clearstream",
        "Clearstream Water Filter",
        "39.95",
        "bottle",
        "#5dade2",
        "Squeeze filter that removes 99.9999% of bacteria. Back in stock soon.",
        0,
    ),
    Item(
        "headlamp-400",
        "Lumen 400 Headlamp",
        "49.00",
        "headlamp",
        "#f39c12",
        "400 lumens, red night mode, USB-C rechargeable.",
        28,
    ),
    Item(
        "lantern-glowworm",
        "Glowworm Camp Lantern",
        "32.00",
        "lantern",
        "#e67e22",
        "Collapsible lantern with warm light and a hanging loop.",
        15,
    ),
    Item(
        "jacket-squall",
        "Squall Rain Jacket",
        "149.00",
        "jacket",
        "#1f618d",
        "Three-layer waterproof shell with pit zips and a helmet-ready hood.",
        None,
        [
            Variant("jacket-squall-s", "S", "", 5),
            Variant("jacket-squall-m", "M", "", 9),
            Variant("jacket-squall-l", "L", "", 7),
            Variant("jacket-squall-xl", "XL", "", 0),
        ],
    ),
    Item(
        "fleece-hearth",
        "Hearth Fleece Pullover",
        "89.00",
        "jacket",
        "#a04000",
        "Grid fleece quarter-zip that breathes on the climb.",
        None,
        [
            Variant("fleece-hearth-s", "S", "", 6),
            Variant("fleece-hearth-m", "M", "", 11),
            Variant("fleece-hearth-l", "L", "", 8),
        ],
    ),
    Item(
        "beanie-ridge",
        "Ridge Wool Beanie",
        "28.00",
        "beanie",
        "#6c3483",
        "Soft merino rib-knit beanie.",
        45,
    ),
    Item(
        "socks-merino",
        "Merino Hiking Socks, 2 Pack",
        "24.00",
        "socks",
        "#117864",
        "Cushioned merino socks that stay dry and fresh for days.",
        None,
        [
            Variant("socks-merino-s", "S", "", 20),
            Variant("socks-merino-m", "M", "", 30),
            Variant("socks-merino-l", "L", "", 25),
        ],
    ),
    Item(
        "boots-trailbreaker",
        "Trailbreaker Hiking Boots",
        "169.00",
        "boot",
        "#784212",
        "Waterproof leather mid boots with a grippy lug sole.",
        None,
        [
            Variant("boots-trailbreaker-8", "US 8", "", 3),
            Variant("boots-trailbreaker-9", "US 9", "", 5),
            Variant("boots-trailbreaker-10", "US 10", "", 4),
            Variant("boots-trailbreaker-11", "US 11", "", 0),
        ],
    ),
    Item(
        "poles-carbon",
        "Carbon Trekking Poles",
        "129.00",
        "poles",
        "#2c3e50",
        "Pair of three-section carbon poles with cork grips.",
        10,
    ),
    Item(
        "hammock-driftwood",
        "Driftwood Hammock",
        "69.00",
        "hammock",
        "#48c9b0",
        "Parachute-nylon hammock with tree-friendly straps.",
        16,
    ),
    Item(
        "chair-lite",
        "Camp Chair Lite",
        "99.00",
        "chair",
        "#b03a2e",
        "Packable chair that weighs less than a kilogram. Sold out for the season.",
        0,
    ),
    Item(
        "multitool-pocket",
        "Pocket Multi-Tool",
        "59.00",
        "knife",
        "#566573",
        "Twelve tools, including pliers, a blade and a bottle opener.",
        21,
    ),
    Item(
        "firstaid-trail",
        "Trail First-Aid Kit",
        "29.95",
        "kit",
        "#cb4335",
        "Everything for blisters, scrapes and splinters in a waterproof pouch.",
        33,
    ),
    Item(
        "compass-baseplate",
        "Baseplate Compass",
        "27.00",
        "compass",
        "#1e8449",
        "Declination-adjustable compass with a clinometer.",
        19,
    ),
    Item(
        "cooler-12l",
        "Packable Cooler 12 L",
        "64.00",
        "cooler",
        "#2874a6",
        "Soft-sided cooler that keeps ice for two days.",
        8,
    ),
    Item(
        "sunglasses-glacier",
        "Glacier Sunglasses",
        "45.00",
        "glasses",
        "#212f3d",
        "Category 4 lenses with removable side shields.",
        14,
    ),
]

_W = "#ffffff"
_ICONS = {
    "tent": f'<path d="M240 110 L350 300 H130 Z" fill="{_W}"/>'
    '<path d="M240 170 L275 300 H205 Z" fill="currentColor" opacity="0.55"/>'
    f'<path d="M240 110 L240 95" stroke="{_W}" stroke-width="6" stroke-linecap="round"/>',
    "pack": f'<rect x="170" y="120" width="140" height="180" rx="40" fill="{_W}"/>'
    '<rect x="195" y="200" width="90" height="70" rx="16" fill="currentColor" opacity="0.45"/>'
    f'<path d="M205 120 Q240 80 275 120" stroke="{_W}" stroke-width="12" fill="none"/>',
    "bag": f'<path d="M200 110 Q240 90 280 110 L300 300 Q240 320 180 300 Z" fill="{_W}"/>'
    '<path d="M205 150 H275 M200 200 H282 M195 250 H288" stroke="currentColor" '
    'stroke-width="6" opacity="0.45"/>',
    "pad": f'<rect x="140" y="160" width="200" height="110" rx="26" fill="{_W}"/>'
    '<path d="M180 170 V260 M220 170 V260 M260 170 V260 M300 170 V260" '
    'stroke="currentColor" stroke-width="6" opacity="0.4"/>',
    "stove": f'<rect x="195" y="210" width="90" height="90" rx="18" fill="{_W}"/>'
    f'<path d="M170 200 H310" stroke="{_W}" stroke-width="10" stroke-linecap="round"/>'
    '<path d="M240 190 Q215 160 240 120 Q265 160 240 190 Z" fill="#ffd166"/>',
    "pot": f'<path d="M160 170 H320 L305 300 H175 Z" fill="{_W}"/>'
    f'<path d="M150 170 H330" stroke="{_W}" stroke-width="12" stroke-linecap="round"/>'
    f'<path d="M320 190 H360" stroke="{_W}" stroke-width="10" stroke-linecap="round"/>',
    "mug": f'<rect x="170" y="150" width="120" height="150" rx="18" fill="{_W}"/>'
    f'<path d="M290 180 Q340 180 340 225 Q340 270 290 270" stroke="{_W}" stroke-width="14" '
    'fill="none"/>',
    "bottle": f'<rect x="200" y="140" width="80" height="170" rx="24" fill="{_W}"/>'
    f'<rect x="215" y="100" width="50" height="45" rx="10" fill="{_W}"/>'
    '<rect x="200" y="200" width="80" height="40" fill="currentColor" opacity="0.4"/>',
    "headlamp": f'<ellipse cx="240" cy="210" rx="130" ry="60" stroke="{_W}" '
    'stroke-width="14" fill="none"/>'
    f'<circle cx="240" cy="270" r="38" fill="{_W}"/>'
    '<circle cx="240" cy="270" r="20" fill="#ffd166"/>',
    "lantern": f'<rect x="195" y="150" width="90" height="140" rx="20" fill="{_W}"/>'
    '<rect x="210" y="175" width="60" height="90" rx="12" fill="#ffd166"/>'
    f'<path d="M215 150 Q240 105 265 150" stroke="{_W}" stroke-width="10" fill="none"/>',
    "jacket": f'<path d="M190 110 L240 135 L290 110 L350 160 L325 200 L300 185 V310 H180 '
    f'V185 L155 200 L130 160 Z" fill="{_W}"/>'
    '<path d="M240 135 V310" stroke="currentColor" stroke-width="6" opacity="0.45"/>',
    "beanie": f'<path d="M160 260 Q160 130 240 130 Q320 130 320 260 Z" fill="{_W}"/>'
    f'<rect x="150" y="250" width="180" height="45" rx="12" fill="{_W}"/>'
    f'<circle cx="240" cy="115" r="22" fill="{_W}"/>',
    "socks": f'<path d="M190 100 H250 V230 L300 260 Q320 300 280 310 L200 280 Q180 270 '
    f'190 240 Z" fill="{_W}"/>'
    '<rect x="190" y="100" width="60" height="25" fill="currentColor" opacity="0.45"/>',
    "boot": f'<path d="M170 110 H250 V220 L320 245 Q345 255 345 290 V305 H160 V260 Z" '
    f'fill="{_W}"/>'
    '<rect x="160" y="290" width="185" height="15" fill="currentColor" opacity="0.5"/>',
    "poles": f'<path d="M200 100 L180 320 M280 100 L300 320" stroke="{_W}" stroke-width="10" '
    'stroke-linecap="round"/>'
    f'<rect x="190" y="95" width="22" height="50" rx="8" fill="{_W}"/>'
    f'<rect x="268" y="95" width="22" height="50" rx="8" fill="{_W}"/>',
    "hammock": f'<path d="M120 150 Q240 330 360 150" stroke="{_W}" stroke-width="30" '
    'fill="none" stroke-linecap="round"/>'
    f'<path d="M120 150 L110 110 M360 150 L370 110" stroke="{_W}" stroke-width="6"/>',
    "chair": f'<path d="M170 140 H310 L295 230 H185 Z" fill="{_W}"/>'
    f'<path d="M180 230 L160 310 M300 230 L320 310 M185 230 L300 310 M295 230 L180 310" '
    f'stroke="{_W}" stroke-width="8" stroke-linecap="round"/>',
    "knife": f'<rect x="140" y="200" width="200" height="60" rx="28" fill="{_W}"/>'
    f'<path d="M300 205 L370 140 L380 150 L330 215 Z" fill="{_W}"/>'
    '<circle cx="175" cy="230" r="10" fill="currentColor" opacity="0.5"/>',
    "kit": f'<rect x="150" y="140" width="180" height="150" rx="22" fill="{_W}"/>'
    '<path d="M240 170 V260 M195 215 H285" stroke="currentColor" stroke-width="22"/>',
    "compass": f'<circle cx="240" cy="210" r="95" fill="{_W}"/>'
    '<path d="M240 130 L262 210 L240 290 L218 210 Z" fill="currentColor" opacity="0.55"/>'
    '<path d="M240 130 L262 210 H218 Z" fill="#e74c3c"/>',
    "cooler": f'<rect x="150" y="160" width="180" height="140" rx="20" fill="{_W}"/>'
    '<rect x="150" y="160" width="180" height="36" rx="12" fill="currentColor" opacity="0.4"/>'
    f'<path d="M200 160 Q240 110 280 160" stroke="{_W}" stroke-width="10" fill="none"/>',
    "glasses": f'<circle cx="190" cy="215" r="45" fill="{_W}"/>'
    f'<circle cx="290" cy="215" r="45" fill="{_W}"/>'
    f'<path d="M235 210 Q240 200 245 210" stroke="{_W}" stroke-width="8" fill="none"/>'
    '<circle cx="190" cy="215" r="30" fill="currentColor" opacity="0.6"/>'
    '<circle cx="290" cy="215" r="30" fill="currentColor" opacity="0.6"/>',
}


def _lines(name: str, width: int = 20) -> list[str]:
    words, lines, current = name.split(), [], ""
    for word in words:
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    lines.append(current)
    return lines[:2]


def svg(item: Item) -> str:
    """A 480x480 flat illustration: colour block, white pictogram, the product's name."""
    text_lines = _lines(item.name)
    first_y = 385 if len(text_lines) == 2 else 400
    label = "".join(
        f'<text x="240" y="{first_y + 34 * i}" text-anchor="middle" font-size="28" '
        f'font-weight="600" fill="#ffffff">{escape(line)}</text>'
        for i, line in enumerate(text_lines)
    )
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 480 480" width="480" height="480" '
        f'role="img" aria-label="{escape(item.name, {chr(34): "&quot;"})}" '
        f'style="color:{item.colour}" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">'
        f'<rect width="480" height="480" fill="{item.colour}"/>'
        '<circle cx="240" cy="205" r="150" fill="#ffffff" opacity="0.12"/>'
        '<path d="M0 340 L120 280 L220 330 L330 260 L480 330 V480 H0 Z" fill="#000000" '
        'opacity="0.18"/>'
        f"{_ICONS[item.icon]}{label}</svg>\n"
    )


def _offer(price: str, stock: int | None) -> dict[str, object]:
    offer: dict[str, object] = {
        "@type": "Offer",
        "price": price,
        "priceCurrency": "USD",
        "availability": "https://schema.org/" + ("OutOfStock" if stock == 0 else "InStock"),
    }
    if stock is not None:
        offer["inventoryLevel"] = {"@type": "QuantitativeValue", "value": stock}
    return offer


def node(item: Item) -> dict[str, object]:
    image = f"/static/demo/img/{item.sku}.svg"
    common: dict[str, object] = {
        "name": item.name,
        "description": item.description,
        "image": image,
        "brand": {"@type": "Brand", "name": BRAND},
    }
    if not item.variants:
        return {
            "@type": "Product",
            "sku": item.sku,
            **common,
            "offers": _offer(item.price, item.stock),
        }
    variants = []
    for v in item.variants:
        variant: dict[str, object] = {
            "@type": "Product",
            "sku": v.sku,
            "name": " / ".join(p for p in (item.name, v.size, v.color) if p),
            "offers": _offer(v.price or item.price, v.stock),
        }
        if v.size:
            variant["size"] = v.size
        if v.color:
            variant["color"] = v.color
        variants.append(variant)
    return {
        "@type": "ProductGroup",
        "productGroupID": item.sku,
        **common,
        "variesBy": ["https://schema.org/size", "https://schema.org/color"],
        "hasVariant": variants,
    }


def main() -> None:
    feed = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "name": "Trailhead Supply Co.", "url": "/"},
            *(node(item) for item in ITEMS),
        ],
    }
    FEED.parent.mkdir(parents=True, exist_ok=True)
    FEED.write_text(json.dumps(feed, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    IMAGES.mkdir(parents=True, exist_ok=True)
    for item in ITEMS:
        (IMAGES / f"{item.sku}.svg").write_text(svg(item), encoding="utf-8")
    print(f"wrote {FEED.relative_to(ROOT)} and {len(ITEMS)} images in {IMAGES.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
