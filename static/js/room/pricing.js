// The server's pricing of the locked cart (PricingReported, GET …/checkout): what changed or
// blocks each line, in plain words, and the shop's unit prices.
import { api, money } from "../util.js";
import { cfg, requestRender, ui } from "./ctx.js";

export const checkoutPath = (rest = "") => `/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/checkout${rest}`;
export const pricingOf = () => (ui.view && ui.view.checkout.pricing) || null;

/** One pricing issue in plain words ("Price went from $289.00 to $300.00", "Only 2 left"). */
export function issueText(issue, currency) {
  switch (issue.kind) {
    case "price_changed":
      return issue.shown_minor != null
        ? `Price went from ${money(issue.shown_minor, currency)} to ${money(issue.price_minor, currency)}`
        : `Price is now ${money(issue.price_minor, currency)}`;
    case "out_of_stock": return "Out of stock";
    case "insufficient_stock": return issue.available ? `Only ${issue.available} left` : "Out of stock";
    case "unknown_product": return "No longer sold by the shop";
    case "unknown_variant": return "This option is no longer available";
    default: return "Needs a change before checkout";
  }
}

export function issueFor(lineId) {
  const p = pricingOf();
  return p ? (p.issues || []).find((i) => i.line_id === lineId) || null : null;
}

/** The shop's unit price for a line of the priced cart, when known. */
export function shopUnitPrice(lineId) {
  const p = pricingOf();
  const s = ui.snapshotPrices;
  if (p && s && s.version === p.snapshot_version && s.lines.has(lineId)) return s.lines.get(lineId);
  const issue = issueFor(lineId);
  return issue && issue.kind === "price_changed" && issue.price_minor != null ? issue.price_minor : null;
}

/** The snapshot of the locked cart gives each line's price; the event lists only what changed.
 * Read it once per snapshot version. */
export async function loadSnapshotPrices() {
  const p = pricingOf();
  if (!p || (ui.snapshotPrices && ui.snapshotPrices.version === p.snapshot_version)) return;
  const want = p.snapshot_version;
  try {
    const status = await api(checkoutPath(), { token: ui.token });
    const snap = status && status.snapshot;
    if (snap && snap.version === want) {
      ui.snapshotPrices = { version: want, lines: new Map(snap.lines.map((l) => [l.line_id, l.unit_price_minor])) };
      requestRender();
    }
  } catch { /* the cart shows the room's prices and the shop's total */ }
}
