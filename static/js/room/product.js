// The product panel and the variant sheet (a Shopify-style quick add): variant radio buttons with
// human names, price and stock, a quantity stepper and one Add button. Both are built once per
// product and then only their facts (price, stock, who is looking) are updated in place, so the
// variant and quantity a shopper picked survive every incoming event.
import { clear, el, money, toast } from "../util.js";
import { $, hasVariants, isLive, may, productTitle, refreshProduct, requestRender, send, ui } from "./ctx.js";
import { invalidate, region } from "./dom.js";
import { avatar, paintAvatars, viewersOf } from "./members.js";
import { voteButtons } from "./votes.js";
import { buyNow } from "./buy.js";

const MAX_QTY = 99;

function stockNote(item) {
  if (!item.in_stock) return "Sold out";
  if (item.stock != null && item.stock <= 5) return `Only ${item.stock} left`;
  return item.stock != null ? `${item.stock} in stock` : "In stock";
}

/**
 * A picker for one product: radios (when it has variants), quantity, Add. ``scope`` keeps ids
 * unique ("detail", "sheet"). Returns {node, update(product), focusFirst()}.
 */
function picker(product, scope, { label = "Add to cart", onAdded = () => {}, act = addToCart } = {}) {
  const sku = product.sku;
  const radios = [];
  let fieldset = null;
  if (hasVariants(product)) {
    const first = product.variants.find((v) => v.in_stock) || product.variants[0];
    fieldset = el("fieldset", { class: "variants", id: `${scope}-variants` },
      el("legend", {}, "Choose an option"),
      ...product.variants.map((v) => {
        const input = el("input", { type: "radio", name: `${scope}-variant`, value: v.variant_id, id: `${scope}-v-${v.variant_id}`,
          checked: v.variant_id === first.variant_id, dataset: { fk: `${scope}-v-${v.variant_id}` } });
        radios.push(input);
        return el("label", { class: "variant", for: input.id }, input,
          el("span", { class: "variant-name" }, v.title),
          el("span", { class: "variant-price" }),
          el("span", { class: "variant-stock small" }));
      }));
  }
  const qty = el("input", { id: `${scope}-qty`, type: "number", min: 1, max: MAX_QTY, value: 1, inputmode: "numeric", class: "qty-input" });
  const minus = el("button", { type: "button", class: "step", "aria-label": "One less", onclick: () => { qty.value = String(Math.max(1, (parseInt(qty.value, 10) || 1) - 1)); sync(); } }, "−");
  const plus = el("button", { type: "button", class: "step", "aria-label": "One more", onclick: () => { qty.value = String(Math.min(maxQty(), (parseInt(qty.value, 10) || 0) + 1)); sync(); } }, "+");
  const add = el("button", { type: "button", class: "primary add-to-cart", id: `${scope}-add` }, label);
  const price = el("p", { class: "price big", id: `${scope}-price` });
  const stock = el("p", { class: "stock small", id: `${scope}-stock` });
  let current = product;

  const chosen = () => {
    if (!hasVariants(current)) return null;
    const r = radios.find((x) => x.checked);
    return r ? current.variants.find((v) => v.variant_id === r.value) || null : null;
  };
  const item = () => chosen() || current;
  function maxQty() { const it = item(); return Math.max(1, Math.min(MAX_QTY, it.stock != null ? it.stock : MAX_QTY)); }
  const quantity = () => Math.max(1, Math.min(maxQty(), parseInt(qty.value, 10) || 1));
  function sync() {
    const it = item();
    // the box never shows more than can be added (another option, less stock)
    if ((parseInt(qty.value, 10) || 1) > maxQty()) qty.value = String(maxQty());
    const q = quantity();
    price.textContent = money(it.price_minor, current.currency);
    stock.textContent = stockNote(it);
    stock.classList.toggle("low", it.in_stock && it.stock != null && it.stock <= 5);
    qty.max = String(maxQty());
    minus.disabled = q <= 1;
    plus.disabled = q >= maxQty();
    const allowed = ui.view === null || may("add_line");
    add.disabled = !it.in_stock || !allowed;
    add.textContent = !it.in_stock ? "Sold out" : `${label} · ${money(it.price_minor * q, current.currency)}`;
    minus.setAttribute("aria-label", `One less ${current.title}`);
    plus.setAttribute("aria-label", `One more ${current.title}`);
  }
  function update(p) {
    current = p;
    for (const r of radios) {
      const v = p.variants.find((x) => x.variant_id === r.value);
      const box = r.closest("label");
      if (!v) { r.disabled = true; box.querySelector(".variant-stock").textContent = "No longer available"; continue; }
      r.disabled = !v.in_stock;
      box.querySelector(".variant-price").textContent = money(v.price_minor, p.currency);
      box.querySelector(".variant-stock").textContent = v.in_stock ? (v.stock != null && v.stock <= 5 ? `Only ${v.stock} left` : "") : "Sold out";
    }
    sync();
  }
  for (const r of radios) r.addEventListener("change", sync);
  qty.addEventListener("input", sync);
  qty.addEventListener("change", () => { qty.value = String(quantity()); sync(); });
  add.addEventListener("click", async () => {
    const v = chosen();
    const q = quantity();
    const ok = await act(sku, v ? v.variant_id : null, q);
    if (ok) onAdded();
  });
  update(product);
  const node = el("div", { class: "picker" },
    fieldset,
    el("div", { class: "buy-row" }, price, stock),
    el("div", { class: "row qty-row" },
      el("label", { for: qty.id }, "Quantity"),
      el("span", { class: "stepper" }, minus, qty, plus)),
    add);
  return {
    node, update,
    focusFirst: () => { const r = radios.find((x) => x.checked && !x.disabled) || radios.find((x) => !x.disabled); (r || qty).focus(); },
  };
}

export async function addToCart(sku, variant = null, quantity = 1) {
  const ok = await send("AddLine", { sku, variant, quantity, note: "" });
  if (ok) toast(`Added ${productTitle(sku)} to the cart`, "ok", 2500);
  return ok;
}

/** Add from anywhere (grid, pins, poll winner): straight in when it has no options, else the sheet. */
export function quickAdd(sku, { heading = null } = {}) {
  const p = ui.products.get(sku);
  if (p && !hasVariants(p)) { addToCart(sku, null, 1); return; }
  openSheet(sku, heading);
}

/** "Buy now" (a live viewer, buy.js): straight to payment when it has no options, else the
 * sheet asks for them first — its button says "Buy now". Two taps: Buy now, then pay. */
export function quickBuy(sku) {
  const p = ui.products.get(sku);
  if (p && !hasVariants(p)) { buyNow(sku, null, 1); return; }
  openSheet(sku, null, { buy: true });
}

// ---- the variant sheet (a modal dialog) -------------------------------------------------------
let sheet = null; // {sku, picker, buy}

export function openSheet(sku, heading = null, { buy = false } = {}) {
  const dialog = $("variant-sheet");
  const body = clear($("sheet-body"));
  const p = ui.products.get(sku);
  $("sheet-h").textContent = heading || (p ? p.title : "Choose an option");
  sheet = { sku, picker: null, buy };
  if (p) {
    sheet.picker = buy
      ? picker(p, "sheet", { label: "Buy now", act: async (...a) => { dialog.close(); await buyNow(...a); return true; } })
      : picker(p, "sheet", { onAdded: () => dialog.close() });
    body.append(
      p.image ? el("img", { src: p.image, alt: "", width: 120, height: 90, class: "sheet-img" }) : null,
      sheet.picker.node);
  } else {
    body.append(el("p", { class: "muted" }, "Loading…"));
  }
  if (!dialog.open) dialog.showModal();
  if (sheet.picker) sheet.picker.focusFirst();
  refreshProduct(sku); // price and stock as the shop has them now
}

function renderSheet() {
  const dialog = $("variant-sheet");
  if (!sheet || !dialog.open) { sheet = null; return; }
  const p = ui.products.get(sheet.sku);
  if (!p) return;
  region("sheet", [sheet.sku, p, ui.view && may("add_line")], () => {
    if (sheet.picker) sheet.picker.update(p);
    else openSheet(sheet.sku, $("sheet-h").textContent, { buy: sheet.buy });
  });
}

// ---- the product panel -------------------------------------------------------------------------
let panel = null; // {sku, picker}

export function openDetail(sku, { quiet = false } = {}) {
  const changed = ui.detail !== sku;
  ui.detail = sku;
  ui.conn.signal("Viewing", { sku }); // followers of the host open what the host opens
  if (changed) refreshProduct(sku);
  renderDetail();
  if (!quiet) $("product-detail").focus();
}

export function closeDetail() {
  ui.detail = null;
  ui.conn.signal("Viewing", { sku: null });
  renderDetail();
}

export function renderDetail() {
  const box = $("product-detail");
  const sku = ui.detail;
  const p = sku ? ui.products.get(sku) : null;
  region("detail-frame", [sku, Boolean(p)], () => {
    clear(box);
    panel = null;
    for (const name of ["detail-facts", "detail-tools", "detail-viewers"]) invalidate(name);
    if (!sku) { box.hidden = true; return; }
    box.hidden = false;
    if (!p) { box.append(el("p", {}, "Loading…")); return; }
    panel = { sku, picker: picker(p, "detail") };
    box.append(
      el("div", { class: "detail-media" }, el("img", { src: p.image || "", alt: p.title, width: 320, height: 240 })),
      el("div", { class: "detail-body" },
        el("h3", { id: "detail-h" }, p.title),
        el("p", { class: "description" }, p.description || ""),
        panel.picker.node,
        el("p", { class: "viewers-of" }),
        el("div", { class: "row detail-tools" }),
        el("button", { type: "button", class: "ghost close-detail", onclick: closeDetail }, "Close")));
  });
  if (!panel || !p) return;
  region("detail-facts", [p, ui.view && may("add_line")], () => panel.picker.update(p));
  const v = ui.view;
  const pinned = v && v.stage.pins.includes(sku);
  const tally = v && v.votes.tallies[sku];
  const mine = v && v.votes.mine[sku];
  region("detail-tools", [sku, tally, mine, may("bring_everyone_here"), isLive() && may(pinned ? "unpin_product" : "pin_product"), pinned], () => {
    const tools = box.querySelector(".detail-tools");
    const active = document.activeElement;
    const had = tools.contains(active) ? active.dataset.fk : null;
    clear(tools).append(...[voteButtons(sku),
      may("bring_everyone_here") ? el("button", { type: "button", dataset: { fk: "bring" }, onclick: () => send("BringEveryoneHere", { sku }).then((ok) => ok && toast("Everyone is looking at this now", "ok")) }, "Bring everyone here") : null,
      isLive() && may(pinned ? "unpin_product" : "pin_product") ? el("button", { type: "button", dataset: { fk: "pin" }, onclick: () => send(pinned ? "UnpinProduct" : "PinProduct", { sku }) }, pinned ? "Unpin from stage" : "Pin to stage") : null].filter(Boolean));
    if (had) { const again = tools.querySelector(`[data-fk="${had}"]`); if (again) again.focus(); }
  });
  renderDetailViewers();
}

export function renderDetailViewers() {
  const box = $("product-detail").querySelector(".viewers-of");
  if (!box || !ui.detail) return;
  const here = viewersOf(ui.detail);
  region("detail-viewers", [ui.detail, here.map((p) => [p.member_id, p.display_name])], () => {
    clear(box);
    if (here.length) box.append("Also looking: ", ...here.map((p) => avatar(p.member_id, p.display_name, "small")));
    paintAvatars(box);
  });
}

export function renderProduct() {
  renderDetail();
  renderSheet();
}

const REFRESH_MS = 30000;

export function wireProduct() {
  // what is open shows the shop's price and stock as they are now, not as they were at opening
  setInterval(() => {
    if (document.visibilityState !== "visible") return;
    if (ui.detail) refreshProduct(ui.detail);
    if (sheet) refreshProduct(sheet.sku);
  }, REFRESH_MS);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && ui.detail && !document.querySelector("dialog[open]")) closeDetail();
  });
  $("sheet-close").addEventListener("click", () => $("variant-sheet").close());
  $("variant-sheet").addEventListener("close", () => {
    const sku = sheet && sheet.sku;
    sheet = null;
    // the button that opened the sheet may have been redrawn meanwhile: focus its successor
    setTimeout(() => {
      if (sku && (!document.activeElement || document.activeElement === document.body)) {
        const again = document.querySelector(`#grid .product[data-key="${CSS.escape(sku)}"] .add`);
        if (again) again.focus();
      }
    }, 0);
  });
}
