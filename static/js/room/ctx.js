// What every feature module of the room page shares: the page's config, the local state (`ui`),
// what this member may do (from the server's view.you.may), names, products and sending commands.
import { api, config, loadMember, toast } from "../util.js";

export const cfg = config();
export const $ = (id) => document.getElementById(id);
export const member = loadMember(cfg.room_id);

export const ui = {
  view: null,
  me: member ? member.member_id : null,
  token: member ? member.token : null,
  conn: null,
  products: new Map(),     // sku -> product (catalogue REST)
  grid: [],                // skus shown in the grid
  query: "",
  detail: null,            // sku open in the detail panel
  presence: new Map(),     // member id -> {member_id, display_name, role, viewing}
  names: new Map(),        // member id -> display name (roster, presence, joins)
  followLocal: true,       // a member may opt out of following the host
  pollPicks: [],
  pollAddWinner: new Map(), // poll id -> "add the winner" ticked (survives re-renders)
  pendingWinner: new Set(), // polls this member closed and wants the winner of (variant asked)
  online: 0,
  payMode: "host_pays",    // the host's checkout choices survive re-renders
  allOrNothing: false,
  freezing: false,         // a checkout request is in flight
  paying: false,           // opening the payment page
  outcome: null,           // how the last order ended: {order_id, outcome, currency, shares}
  returned: null,          // "success" | "cancel" from the payment provider's return page
  snapshotPrices: null,
  lastCurrency: null,
};

let renderer = () => {};
let scheduled = false;
/** Ask for a render on the next microtask (many events → one pass; regions skip what is unchanged). */
export function requestRender() {
  if (scheduled) return;
  scheduled = true;
  queueMicrotask(() => { scheduled = false; renderer(); });
}
export function setRenderer(fn) { renderer = fn; }

// What this member may do comes from the server (view.you.may, rooms/permissions.py): the page
// never guesses from role names. may_if says what an allowed action waits for (a phase, the end
// of a mute), so the answer stays right after CartLocked or MemberUnmuted.
function mutedNow() {
  const m = ui.view && ui.view.muted;
  return Boolean(m) && (m.until === null || m.until === undefined || Date.now() < m.until);
}
export function may(action) {
  const you = ui.view && ui.view.you;
  if (!you || !you.may) return false;
  const when = you.may_if && you.may_if[action];
  if (!when) return Boolean(you.may[action]);
  if (when.phases && !when.phases.includes(ui.view.phase)) return false;
  return !(when.unmuted && mutedNow());
}
export const isLive = () => cfg.kind === "live";
export function nameOf(id) {
  if (id === ui.me) return "You";
  if (id === "system") return "coshop";
  return ui.names.get(id) || "Viewer";
}
/** A name inside a sentence: "Bob's payment failed" / "Your payment failed". */
export function possessive(id) { return id === ui.me ? "Your" : `${nameOf(id)}'s`; }

export function explain(err) {
  const known = {
    slow_mode: "Slow mode is on: wait a moment before sending again.",
    muted: "A moderator has muted you.",
    cart_locked: "The cart is locked for checkout.",
    rate_limited: "Slow down a little.",
    forbidden: "You are not allowed to do that here.",
    not_your_line: "Only whoever added this line, whoever pays for it, or the host can change it.",
    nothing_to_decline: "You added this line yourself: remove it instead.",
    payment_processing: "Your payment is already being confirmed by the payment provider: nothing to do.",
    invalid_participants: "Someone picked for the split is no longer in the room: check who's in the split.",
    close_time_past: "Pick a time in the future for the cart to close.",
    close_time_too_far: "The cart can close at most 7 days from now.",
    nothing_to_nudge: "There's nothing to remind them of: they've already done it.",
    nudged_recently: "They were reminded a moment ago. Give them a minute.",
    no_close_time: "The cart has no deadline.",
    invalid_price: "A drop's price must be more than zero.",
    invalid_duration: "A drop's countdown runs from 10 seconds to 20 minutes.",
    invalid_limit: "The per-buyer limit is at least 1 and at most the drop's units.",
    invalid_quantity: "Pick a quantity of at least 1.",
    drop_running: "A drop is running: end it before starting another.",
    not_pinned: "Pin the product first: a drop runs on a pinned product.",
    drop_line: "This drop item is held for you at the drop price: pay for it, or cancel the order to let it go.",
    drop_ended: "This drop has ended.",
    drop_sold_out: "Sold out — someone was quicker. Nothing was charged.",
    drop_limit_reached: "You've reached this drop's limit per buyer.",
    no_active_drop: "There's no drop running right now.",
  };
  return known[err.code] || err.message || err.code;
}

export async function send(name, args) {
  try {
    return await ui.conn.command(name, args);
  } catch (err) {
    toast(explain(err), "error");
    return null;
  }
}

// ---- products -----------------------------------------------------------------------------------
const productPath = (sku) => `/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products/${encodeURIComponent(sku)}`;
const fetching = new Set();
/** Fetch the products the page shows but has not loaded (cart lines, pins, poll options). */
export function ensureProducts(skus) {
  for (const sku of new Set(skus)) {
    if (!sku || ui.products.has(sku)) continue;
    refreshProduct(sku);
  }
}
/** Read a product's facts again (price, stock, variants): the panel and the sheet show them live. */
export function refreshProduct(sku) {
  if (!sku || fetching.has(sku)) return Promise.resolve(ui.products.get(sku) || null);
  fetching.add(sku);
  return api(productPath(sku))
    .then((p) => { ui.products.set(sku, p); requestRender(); return p; })
    .catch(() => ui.products.get(sku) || null)
    .finally(() => fetching.delete(sku));
}
export function productTitle(sku) { const p = ui.products.get(sku); return p ? p.title : sku; }
export const hasVariants = (p) => Boolean(p && p.variants && p.variants.length);
/** A variant's human name ("Long"), from the catalogue data the page has; the id otherwise. */
export function variantName(sku, variantId) {
  if (!variantId) return "";
  const p = ui.products.get(sku);
  const v = p && (p.variants || []).find((x) => x.variant_id === variantId);
  return v ? v.title : variantId;
}
/** What a cart line is called: "Alpenglow 20°F Sleeping Bag — Long". */
export function lineTitle(line) {
  const name = variantName(line.sku, line.variant);
  const base = line.title || productTitle(line.sku);
  return name ? `${base} — ${name}` : base;
}
