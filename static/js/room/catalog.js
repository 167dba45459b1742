// The product grid: search, one primary action per card ("Add", or "Choose options" that opens
// the variant sheet), votes and "Add to poll" in a secondary menu, avatars of who looks at what.
// Cards are keyed by sku and rebuilt only when what they show changed.
import { api, clear, el, money, toast } from "../util.js";
import { $, cfg, hasVariants, may, ui } from "./ctx.js";
import { keyed, region } from "./dom.js";
import { avatar, paintAvatars, viewersOf } from "./members.js";
import { togglePick } from "./polls.js";
import { openDetail, quickAdd } from "./product.js";
import { tallyOf, voteButtons } from "./votes.js";

export async function loadCatalog(q) {
  ui.query = q;
  const grid = $("grid");
  grid.setAttribute("aria-busy", "true");
  try {
    const qs = new URLSearchParams({ limit: "48" });
    if (q) qs.set("q", q);
    const page = await api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products?${qs}`);
    for (const p of page.items) ui.products.set(p.sku, p);
    ui.grid = page.items.map((p) => p.sku);
  } catch (err) {
    toast(`Could not load products: ${err.message}`, "error");
    ui.grid = [];
  }
  grid.removeAttribute("aria-busy");
  renderGrid();
}

function card(p, pickable) {
  const sku = p.sku;
  const { t } = tallyOf(sku);
  const options = hasVariants(p);
  const allowed = ui.view === null || may("add_line");
  const picked = ui.pollPicks.includes(sku);
  const menuId = `more-${sku}`;
  return el("li", { class: "product", dataset: { sku } },
    el("button", { type: "button", class: "product-open", "aria-label": `View ${p.title}`, onclick: () => openDetail(sku) },
      el("img", { src: p.image || "", alt: "", loading: "lazy", width: 160, height: 120 }),
      el("span", { class: "product-title" }, p.title)),
    el("div", { class: "product-meta" },
      el("span", { class: "price" }, options && p.variants.some((v) => v.price_minor !== p.price_minor) ? "From " : "", money(p.price_minor, p.currency)),
      t.up || t.down ? el("span", { class: "tally small muted" }, `▲ ${t.up}${t.down ? ` ▼ ${t.down}` : ""}`) : null,
      el("span", { class: "viewers-of" })),
    el("div", { class: "product-actions" },
      el("button", { type: "button", class: "add primary", dataset: { fk: `add-${sku}` }, disabled: !p.in_stock || !allowed,
        "aria-label": p.in_stock ? `${options ? "Choose options for" : "Add"} ${p.title}${options ? "" : " to the cart"}` : `${p.title} is sold out`,
        "aria-haspopup": options ? "dialog" : null,
        onclick: () => quickAdd(sku) }, !p.in_stock ? "Sold out" : options ? "Choose options" : "Add to cart"),
      el("details", { class: "more" },
        el("summary", { "aria-label": `More for ${p.title}`, dataset: { fk: `more-${sku}` } }, "⋯"),
        el("div", { class: "menu", id: menuId },
          voteButtons(sku),
          pickable ? el("button", { type: "button", class: "pick", dataset: { fk: `pick-${sku}` }, "aria-pressed": String(picked),
            "aria-label": `${picked ? "Remove" : "Add"} ${p.title} ${picked ? "from" : "to"} the poll`, onclick: () => togglePick(sku) }, picked ? "✓ In the poll" : "Add to poll") : null))));
}

export function renderGrid() {
  const pickable = may("open_poll");
  const items = ui.grid.map((sku) => ui.products.get(sku)).filter(Boolean);
  const canAdd = ui.view === null || may("add_line");
  region("grid", [items.map((p) => p.sku), ui.query, pickable, canAdd, ui.pollPicks, ui.view && ui.view.votes], () => {
    keyed($("grid"), items, {
      key: (p) => p.sku,
      sig: (p) => [p.title, p.price_minor, p.in_stock, p.image, (p.variants || []).length, tallyOf(p.sku), pickable, canAdd, ui.pollPicks.includes(p.sku)],
      render: (p) => {
        const node = card(p, pickable);
        // keep an open "more" menu open when the card is redrawn (a vote in it changed the tally)
        const old = $("grid").querySelector(`.product[data-key="${CSS.escape(p.sku)}"] details.more`);
        if (old && old.open) node.querySelector("details.more").open = true;
        return node;
      },
      empty: () => el("li", { class: "empty" }, ui.query ? `No products match “${ui.query}”.` : "No products yet."),
    });
    renderGridViewers(true);
  });
  renderGridViewers(false);
}

export function renderGridViewers(force) {
  const where = [...ui.presence.values()].map((p) => [p.member_id, p.display_name, p.viewing]);
  region("grid-viewers", force ? Math.random() : where, () => {
    for (const node of document.querySelectorAll("#grid .product[data-sku]")) {
      const box = node.querySelector(".viewers-of");
      const people = viewersOf(node.dataset.sku);
      clear(box);
      if (people.length) box.append(el("span", { class: "sr-only" }, "Looking at this now:"), ...people.map((p) => avatar(p.member_id, p.display_name, "small")));
      paintAvatars(box);
    }
  });
}

export function wireCatalog() {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); loadCatalog($("search").value.trim()); });
  // one "more" menu open at a time; Escape closes it and gives focus back to its button
  $("grid").addEventListener("toggle", (e) => {
    if (e.target.matches("details.more") && e.target.open) for (const d of document.querySelectorAll("#grid details.more[open]")) if (d !== e.target) d.open = false;
  }, true);
  // a click anywhere else, or "Add to poll", closes an open menu (a vote keeps it open: its tally)
  document.addEventListener("click", (e) => {
    for (const d of document.querySelectorAll("#grid details.more[open]")) {
      if (!d.contains(e.target) || e.target.closest("button.pick")) d.open = false;
    }
  });
  $("grid").addEventListener("keydown", (e) => {
    const d = e.target.closest("details.more");
    if (e.key === "Escape" && d && d.open) { d.open = false; d.querySelector("summary").focus(); e.stopPropagation(); }
  });
}
