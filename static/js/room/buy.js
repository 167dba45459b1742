// A live viewer buys on their own while the show goes on (docs/live.md "Viewers check out on
// their own"): "Buy now" on a pinned product (the variant sheet asks for options), "Check out my
// cart", and a sheet over the video with the viewer's orders — pending, on the payment page,
// processing, paid (with the receipt), not paid (with "Try again"). The payment page opens in a
// new tab, top-level, so the room and the video keep going here; if the browser blocks that,
// the sheet offers a link. The host sees paid orders arrive (count, revenue) and switches the
// audience's "someone just bought …" ticker; every viewer sees the ticker when it is on.
import { api, el, money, toast } from "../util.js";
import { $, explain, isLive, lineTitle, productTitle, requestRender, send, ui } from "./ctx.js";
import { isStaff } from "../state.js";
import { region } from "./dom.js";
import { checkoutPath } from "./pricing.js";

const STATUS = {
  pending: ["Waiting for you to pay", "wait"],
  checkout_open: ["On the payment page", "wait"],
  processing: ["Payment processing — the provider confirms it shortly", "wait"],
  canceled: ["You left the payment page — nothing was charged", "warn"],
  expired: ["The payment page expired", "warn"],
  failed: ["Payment failed", "warn"],
  paid: ["Paid ✔", "ok"],
  void: ["Not paid — the items are back in your cart", "warn"],
};

/** May this member check out their own lines here (a live viewer, cart open)? The server's
 * ``you.may_if.check_out_own`` exists only for the roles allowed to. */
function mayBuy() {
  const you = ui.view && ui.view.you;
  return Boolean(isLive() && you && you.may_if && you.may_if.check_out_own && ui.view.phase === "open");
}
export const canBuyNow = mayBuy;

const frozenIds = () => new Set((ui.view.checkout.viewer_orders || []).flatMap((o) => o.lines.map((l) => l.line_id)));
/** Is this cart line in one of the viewer's orders being paid? (its edits wait) */
export function isFrozen(lineId) { return frozenIds().has(lineId); }
const freeLines = () => { const f = frozenIds(); return ui.view.lines.filter((l) => l.payer === ui.me && !f.has(l.line_id)); };

let busy = false;
let popup = null; // the tab opened for the payment page (synchronously, on the tap)

function openTab() {
  // opened on the tap itself (browsers allow a new tab only then), filled when the page is known
  try { popup = window.open("", "_blank"); } catch { popup = null; }
  if (popup) { try { popup.opener = null; popup.document.title = "Opening the payment page…"; } catch { /* cross-origin later */ } }
}

function toPayPage(url) {
  if (!url || !/^https?:\/\//.test(url)) {
    // no page now (the order stands): the sheet offers "Pay"
    if (popup) { try { popup.close(); } catch { /* gone */ } popup = null; }
    return;
  }
  ui.payUrl = url;
  if (popup && !popup.closed) { popup.location.href = url; popup = null; return; }
  popup = null; // blocked: the sheet shows a link to open it
}

async function checkout(body, what) {
  if (busy) return;
  busy = true;
  ui.payUrl = null;
  ui.buyError = null;
  openTab();
  openSheet();
  requestRender();
  try {
    const res = await api(checkoutPath(), { method: "POST", token: ui.token, body });
    ui.lastOrderId = res.order.order_id;
    ui.lastOrder = res.order;
    toPayPage(res.pay && res.pay.url);
    if (!$("order-sheet").open) toast(`${what}: finish paying in the new tab. The show goes on here.`, "ok", 6000);
  } catch (err) {
    if (popup) { try { popup.close(); } catch { /* gone */ } popup = null; }
    ui.buyError = buyError(err);
    if (body.drop) { // a lost claim: the drop card says it; nothing was ordered, nothing to show
      ui.dropNote = { drop_id: body.drop.drop_id, text: ui.buyError };
      const d = $("order-sheet");
      if (d && d.open && !(ui.view.checkout.viewer_orders || []).some((o) => o.payer === ui.me)) d.close();
    }
  } finally { busy = false; ui.dropBusy = false; requestRender(); }
}

const DROP_ERRORS = {
  drop_sold_out: "Sold out — someone was quicker. Nothing was charged.",
  drop_ended: "This drop has ended. Nothing was charged.",
  drop_limit_reached: "You've reached this drop's limit per buyer.",
  no_active_drop: "There's no drop running right now.",
  invalid_variant: "Pick your option first.",
  payments_unconfigured: "Payments aren't set up in this shop yet.",
};

function buyError(err) {
  if (DROP_ERRORS[err.code]) return DROP_ERRORS[err.code];
  if (err.code === "out_of_stock") {
    const what = err.variant ? ` (${err.variant})` : "";
    return `Sold out${what} — someone was quicker. Nothing was charged.`;
  }
  if (err.code === "cart_empty") return "Nothing of yours is waiting to be checked out.";
  if (err.code === "line_in_checkout") return "That item is already in an order you are paying for.";
  if (err.code === "cart_locked") return "The host is checking out the whole cart; try again in a moment.";
  return explain(err);
}

/** "Buy now": add this product for me and open its payment page, in one step. */
export function buyNow(sku, variant = null, quantity = 1) {
  return checkout({ buy: { sku, variant, quantity } }, productTitle(sku));
}

/** Claim a drop: the room decides (the first claims committed win); a win is an order at the
 * drop's price whose payment page opens in a new tab, as "Buy now" does. */
export function claimDrop(drop, variant = null) {
  ui.dropBusy = true;
  return checkout({ drop: { drop_id: drop.drop_id, variant, quantity: 1 } }, `${drop.title} (drop)`);
}

/** Open the payment page of one of the viewer's open orders (the drop card's "Pay"). */
export function payOrder(orderId) { return payAgain(orderId); }

function checkOutMine(lineIds = null) {
  return checkout(lineIds ? { line_ids: lineIds } : {}, "Your cart");
}

async function payAgain(orderId) {
  if (busy) return;
  busy = true;
  openTab();
  try {
    const res = await api(checkoutPath(`/${encodeURIComponent(orderId)}/pay`), { method: "POST", token: ui.token, body: {} });
    toPayPage(res.url);
  } catch (err) {
    if (popup) { try { popup.close(); } catch { /* gone */ } popup = null; }
    toast(explain(err), "error");
  } finally { busy = false; requestRender(); }
}

async function cancelOrder(orderId) {
  try {
    await api(checkoutPath(`/${encodeURIComponent(orderId)}/cancel`), { method: "POST", token: ui.token, body: {} });
  } catch (err) { toast(explain(err), "error"); }
}

// ---- the sheet over the video -----------------------------------------------------------------
function sheet() {
  let d = $("order-sheet");
  if (d) return d;
  d = el("dialog", { id: "order-sheet", class: "sheet order-sheet", "aria-labelledby": "order-sheet-h" },
    el("div", { class: "sheet-head" },
      el("h2", { id: "order-sheet-h" }, "Your order"),
      el("button", { type: "button", class: "ghost", "aria-label": "Close", onclick: () => d.close() }, "✕")),
    el("div", { id: "order-sheet-body" }));
  // inside the stage: on a wide screen it sits over the video, on a phone it is a bottom sheet
  ($("stage") || document.body).append(d);
  return d;
}

function openSheet() {
  const d = sheet();
  // not modal: the video, the chat and the pins stay usable under it
  if (!d.open) d.show();
}

/** A void order whose lines left the cart (a drop's: its units went back to the drop). */
const goneFromCart = (o) => !o.lines.some((ol) => ui.view.lines.some((l) => l.line_id === ol.line_id));

function orderNode(o, current) {
  let [label, tone] = STATUS[o.status] || [o.status, "wait"];
  if (o.status === "void" && goneFromCart(o)) label = "Not paid — nothing was charged";
  // a paid order's lines left the cart: its receipt names them
  const receipt = (ui.view.checkout.my_receipts || []).find((r) => r.order_id === o.order_id);
  const lines = o.lines.map((ol, i) => {
    const line = ui.view.lines.find((l) => l.line_id === ol.line_id) || (receipt && receipt.lines[i]);
    return el("li", {}, `${ol.quantity} × ${line ? lineTitle(line) : "item"}`, " ", el("span", { class: "muted" }, money(ol.unit_minor * ol.quantity, o.currency)));
  });
  const open = !["paid", "void"].includes(o.status);
  const actions = [];
  if (open && ["pending", "checkout_open", "canceled", "expired"].includes(o.status)) {
    actions.push(el("button", { type: "button", class: "primary", dataset: { fk: `pay-${o.order_id}` }, onclick: () => payAgain(o.order_id) },
      `Pay ${money(o.total_minor, o.currency)}`));
  }
  if (open && o.status !== "processing") {
    actions.push(el("button", { type: "button", class: "ghost", dataset: { fk: `cancel-${o.order_id}` }, onclick: () => cancelOrder(o.order_id) }, "Cancel order"));
  }
  if (o.status === "void" && freeLines().length && mayBuy()) {
    actions.push(el("button", { type: "button", class: "primary", dataset: { fk: "retry" }, onclick: () => checkOutMine() }, "Try again"));
  }
  return el("div", { class: `order-card tone-${tone}`, dataset: { order: o.order_id, status: o.status } },
    el("p", { class: "order-status", role: "status" }, el("strong", {}, current ? label : `Last order: ${label}`)),
    el("ul", { class: "order-lines small" }, ...lines),
    el("p", { class: "order-total" }, "Total ", el("strong", {}, money(o.total_minor, o.currency))),
    actions.length ? el("div", { class: "row" }, ...actions) : null);
}

function renderSheet() {
  const d = $("order-sheet");
  if (!d || !ui.view) return;
  const c = ui.view.checkout;
  const mine = (c.viewer_orders || []).filter((o) => o.payer === ui.me);
  const last = c.my_last_order;
  const receipt = (c.my_receipts || [])[0] || null;
  const sig = [mine, last, receipt && receipt.order_id, Boolean(receipt), busy, ui.payUrl, ui.buyError, ui.view.lines.length, mayBuy()];
  region("order-sheet", sig, () => {
    const body = $("order-sheet-body");
    const parts = [];
    if (busy) parts.push(el("p", { class: "order-status", role: "status" }, "Opening the secure payment page…"));
    if (ui.buyError) parts.push(el("p", { class: "banner warn", role: "alert" }, ui.buyError));
    for (const o of mine) parts.push(orderNode(o, true));
    if (!mine.length && last) parts.push(orderNode(last, false));
    if (receipt && last && last.status === "paid" && receipt.order_id === last.order_id) {
      parts.push(el("p", { class: "small ok-text" }, "Your receipt is saved in this room."));
    }
    if (ui.payUrl && mine.length) {
      parts.push(el("p", { class: "small" }, "The payment page opened in a new tab. ",
        el("a", { href: ui.payUrl, target: "_blank", rel: "noopener", id: "pay-link" }, "Open it again")));
    }
    if (!parts.length) parts.push(el("p", { class: "muted" }, "No orders yet."));
    body.replaceChildren(...parts);
  });
}

// ---- the viewer's panel under the cart ------------------------------------------------------
export function viewerCheckout() {
  const free = freeLines();
  const total = free.reduce((n, l) => n + l.price_minor * l.quantity, 0);
  const cur = (free[0] || {}).currency || "USD";
  const mine = (ui.view.checkout.viewer_orders || []).filter((o) => o.payer === ui.me);
  const parts = [];
  if (mayBuy() && free.length) {
    parts.push(el("button", { type: "button", class: "primary", id: "check-out-mine", disabled: busy, onclick: () => checkOutMine() },
      `Check out my cart · ${money(total, cur)}`));
  }
  if (mine.length || ui.view.checkout.my_last_order) {
    const label = mine.length ? `${mine.length === 1 ? "1 order" : `${mine.length} orders`} being paid` : "Your last order";
    parts.push(el("button", { type: "button", class: "secondary", id: "my-orders", onclick: openSheet }, label));
  }
  if (!parts.length) parts.push(el("p", { class: "muted small" }, "Add something from the show to buy it."));
  return parts;
}

// ---- the host: orders arriving, the ticker ----------------------------------------------------
function renderHostSales() {
  const tools = $("host-tools");
  const sales = ui.view.checkout.sales;
  if (!tools || !sales) return;
  let box = $("sales");
  if (!box) {
    box = el("div", { id: "sales", class: "sales row", "aria-live": "polite" });
    tools.querySelector("h2").after(box);
  }
  const open = (ui.view.checkout.viewer_orders || []).length;
  region("sales", [sales.orders, sales.revenue_minor, sales.currency, open, ui.view.checkout.buy_ticker], () => {
    const ticker = el("input", { type: "checkbox", id: "buy-ticker", checked: ui.view.checkout.buy_ticker,
      onchange: (e) => send("SetBuyTicker", { on: e.target.checked }) });
    box.replaceChildren(
      el("span", { class: "sales-count" }, el("strong", { id: "sales-orders" }, String(sales.orders)), sales.orders === 1 ? " order paid" : " orders paid"),
      el("span", { class: "sales-revenue" }, el("strong", { id: "sales-revenue" }, money(sales.revenue_minor, sales.currency || "USD")), " sold"),
      el("span", { class: "muted small" }, `${open} being paid`),
      el("label", { class: "ticker-toggle small", for: "buy-ticker" }, ticker, " Show “someone just bought …” to viewers"));
  });
}

function ticker(ev) {
  const player = document.querySelector("#stage .player");
  if (!player) return;
  let box = $("buy-ticker-feed");
  if (!box) { box = el("div", { id: "buy-ticker-feed", class: "buy-ticker", "aria-live": "polite" }); player.append(box); }
  const item = el("p", { class: "buy-ticker-item" }, "🛍 ", el("strong", {}, ev.buyer), " just bought ", ev.title, ev.more ? ` and ${ev.more} more` : "");
  box.append(item);
  while (box.children.length > 3) box.firstChild.remove();
  // shown for a few seconds, then hidden (the last three stay in the page, out of sight)
  setTimeout(() => item.classList.add("gone"), 6000);
}

export function renderBuy() {
  if (!isLive() || !ui.view) return;
  renderSheet();
  if (isStaff(ui.view)) renderHostSales();
}

export function onBuyEvent(ev) {
  const v = ui.view;
  if (ev.type === "PurchaseShown") ticker(ev);
  if (ev.type === "OrderSettled" && v.checkout.my_last_order && v.checkout.my_last_order.order_id === ev.order_id) {
    const d = $("order-sheet");
    if (!d || !d.open) { // the sheet says it when it is open
      if (ev.outcome === "paid") toast("Paid ✔ — your order is confirmed.", "ok", 6000);
      else if (goneFromCart(v.checkout.my_last_order)) toast("Your order wasn't paid: nothing was charged.", "warn", 8000);
      else toast("Your order wasn't paid: the items are back in your cart.", "warn", 8000);
    }
    openSheet();
  }
}
