// Checkout: the host's payment choices, the server's pricing, who pays what and how each payment
// stands (pending, on the payment page, processing, paid, failed — by whom, with a retry), the
// Pay button (never while a payment is processing), the outcome and the return from the provider.
import { api, el, money, toast } from "../util.js";
import { $, cfg, isLive, may, nameOf, possessive, requestRender, send, ui } from "./ctx.js";
import { redraw, region } from "./dom.js";
import { checkoutPath, issueText, loadSnapshotPrices, pricingOf } from "./pricing.js";
import { Embed } from "../embedded.js";
import { onCartEvent } from "./cart.js";
import { viewerCheckout } from "./buy.js";
import { isStaff } from "../state.js";

export const embed = new Embed(cfg.parent_origin);

const SHARE_LABEL = {
  pending: "has not paid yet", checkout_open: "is on the payment page", processing: "payment processing…",
  authorized: "card authorised", paid: "paid", failed: "payment failed", expired: "payment page expired",
  canceled: "left the payment page", refunded: "refunded", partially_refunded: "partly refunded",
  released: "doesn't pay",
};
const SHARE_DONE = ["paid", "authorized", "refunded", "partially_refunded"];
const RETRY = ["failed", "expired", "canceled"];
const PAY_MODES = [
  ["host_pays", "I pay for everything", "You pay the whole order."],
  ["own_lines", "Each pays their own lines", "Everyone pays for the lines marked “Pays: …” in the cart."],
  ["equal_split", "Split equally", "The shop's total is split equally among the people you pick."],
];

// A payer back from the provider with "success" whose share is still on the payment page has
// sent an asynchronous payment (a bank debit, a delayed method): it is processing. The room hears
// only the outcome, so this browser remembers it per order until the share moves on.
const SENT_KEY = (orderId) => `coshop.sent.${cfg.room_id}.${orderId}`;
function sentStore() { try { return window.sessionStorage; } catch { return null; } }
function markSent(orderId, on) {
  const s = sentStore();
  if (!s || !orderId) return;
  try { if (on) s.setItem(SENT_KEY(orderId), "1"); else s.removeItem(SENT_KEY(orderId)); } catch { /* blocked */ }
}
const wasSent = (orderId) => { const s = sentStore(); return Boolean(s && orderId && s.getItem(SENT_KEY(orderId))); };

/** A share's state as shown: the server's, with "processing" for this member's sent payment. */
export function shownStatus(share, orderId) {
  if (share.payer === ui.me && share.status === "checkout_open" && wasSent(orderId)) return "processing";
  return share.status;
}

function checkoutCurrency() {
  const p = pricingOf();
  return (p && p.currency) || (ui.view.lines[0] || {}).currency || ui.lastCurrency || "USD";
}

function outcomeText(o) {
  if (o.outcome === "paid") return ["Order paid — a fresh cart is open.", null];
  const held = (o.shares || []).some((s) => s.status === "authorized");
  const paid = (o.shares || []).some((s) => ["paid", "refunded", "partially_refunded"].includes(s.status));
  if (held) return ["Checkout cancelled — nothing was charged.", " The card holds were released. The cart is open again."];
  if (paid) return ["Checkout cancelled.", " Payments already made are refunded. The cart is open again."];
  return ["Checkout cancelled — nothing was charged.", " The cart is open again."];
}

function shareRow(s, cur, orderId) {
  const status = shownStatus(s, orderId);
  const done = SHARE_DONE.includes(status);
  const held = status === "released" ? holdoutOf(s.payer) : null;
  // after a re-split, someone whose own share is in pays an extra part of another's share
  const part = status === "pending" ? (ui.view.checkout.holdouts || []).find((h) => h.covered_by.includes(s.payer)) : null;
  const label = held ? releasedText(held) : part ? `part of ${possessive(part.payer)} share — not paid yet` : SHARE_LABEL[status] || status;
  return el("li", { class: `share status-${status}`, dataset: { payer: s.payer, status } },
    el("span", { class: "share-who" }, nameOf(s.payer)),
    el("span", { class: "share-amount" }, status === "released" ? "—" : money(s.amount_minor, cur)),
    el("span", { class: `share-status ${done ? "done" : ""} ${RETRY.includes(status) ? "bad" : ""}` }, done ? `✔ ${label}` : label));
}

// ---- who is in an equal split -------------------------------------------------------------------
// The host's ticks survive re-renders (ui.splitPicks); a person not touched yet follows the room's
// default (rooms/rules/checkout.py split_default: the host, and members whose role is in
// view.checkout.split_roles who added or pay for a line — never the shop's staff, never someone
// who left). Amounts are exact: the server splits the same total the same way (the first people
// in room order get the odd cents).
function splitDefault() {
  const v = ui.view;
  const roles = new Set(v.checkout.split_roles || []);
  const involved = new Set(v.lines.flatMap((l) => [l.added_by, l.payer]));
  return new Set(v.members.filter((m) => roles.has(m.role) && (m.member_id === v.host_id || involved.has(m.member_id))).map((m) => m.member_id));
}
const ROLE_NOTE = { associate: "store staff", moderator: "moderator", cohost: "co-host", host: "host" };
function picks() {
  ui.splitPicks = ui.splitPicks || new Map();
  const v = ui.view;
  const def = splitDefault();
  return v.members.filter((m) => m.role !== "viewer")
    .map((m) => ({ m, on: ui.splitPicks.has(m.member_id) ? ui.splitPicks.get(m.member_id) : def.has(m.member_id) }));
}
export const pickedIds = () => picks().filter((p) => p.on).map((p) => p.m.member_id);
function splitTotal() {
  const p = pricingOf();
  if (p && ui.view.phase !== "open") return [p.total_minor, p.currency];
  const lines = ui.view.lines;
  return [lines.reduce((sum, l) => sum + l.price_minor * l.quantity, 0), (lines[0] || {}).currency || checkoutCurrency()];
}
function splitPicker() {
  const list = picks();
  const on = list.filter((p) => p.on);
  const [total, cur] = splitTotal();
  const base = on.length ? Math.floor(total / on.length) : 0;
  const extra = on.length ? total - base * on.length : 0;
  const amountOf = new Map(on.map((p, i) => [p.m.member_id, base + (i < extra ? 1 : 0)]));
  return el("fieldset", { class: "split-picker", id: "split-picker" },
    el("legend", {}, "Who's in the split"),
    el("ul", { class: "split-people" }, ...list.map(({ m, on: ticked }) => {
      const id = `split-${m.member_id}`;
      return el("li", { class: `split-person ${ticked ? "on" : ""}`, dataset: { member: m.member_id } },
        el("input", { type: "checkbox", id, checked: ticked, onchange: (e) => { ui.splitPicks.set(m.member_id, e.target.checked); requestRender(); } }),
        el("label", { for: id, class: "split-name" }, m.member_id === ui.me ? "You" : m.display_name,
          ROLE_NOTE[m.role] && m.role !== "host" ? el("span", { class: "role-note" }, ` · ${ROLE_NOTE[m.role]}`) : null),
        el("span", { class: "split-amount" }, ticked ? money(amountOf.get(m.member_id), cur) : "—"));
    })),
    el("p", { class: "small muted", id: "split-summary" }, on.length
      ? `${on.length} ${on.length === 1 ? "person pays" : "people pay"} about ${money(base, cur)} each. Everyone sees their amount before anyone pays.`
      : "Pick at least one person to split with."));
}

function modeChooser(locked, blocked) {
  const pricing = pricingOf();
  const changed = locked && pricing && (pricing.issues || []).some((i) => i.kind === "price_changed");
  const mode = el("select", { id: "pay-mode", onchange: (e) => { ui.payMode = e.target.value; requestRender(); } },
    ...PAY_MODES.map(([value, label]) => el("option", { value, selected: value === ui.payMode }, label)));
  const aon = el("input", { type: "checkbox", id: "pay-aon", checked: ui.allOrNothing, onchange: (e) => { ui.allOrNothing = e.target.checked; } });
  const hint = (PAY_MODES.find(([value]) => value === ui.payMode) || PAY_MODES[0])[2];
  const payments = cfg.payments !== false;
  return el("div", { class: "mode-chooser" },
    payments && !blocked ? el("div", { class: "row" }, el("label", { for: "pay-mode" }, "Payment"), mode) : null,
    payments && !blocked ? el("p", { class: "small muted", id: "pay-mode-hint" }, hint) : null,
    payments && !blocked && ui.payMode === "equal_split" ? splitPicker() : null,
    payments && !blocked && ui.payMode !== "host_pays" ? el("label", { for: "pay-aon", class: "switch small" }, aon, " Charge nobody until everyone has paid") : null,
    changed && !blocked ? el("p", { class: "small" }, "Checking out again accepts the new prices.") : null,
    payments ? null : el("p", { class: "small muted", id: "no-payments" }, "Payments are not set up on this server: you can lock the cart, but not pay here."),
    el("div", { class: "row actions" },
      payments && !blocked ? el("button", { type: "button", class: "primary", id: "checkout-btn", disabled: ui.freezing || (ui.payMode === "equal_split" && !pickedIds().length), onclick: startCheckout },
        ui.freezing ? "Checking prices…" : changed ? "Accept prices and check out" : "Check out") : null,
      locked
        ? may("unlock_cart") ? el("button", { type: "button", id: "unlock-btn", onclick: () => send("UnlockCart", {}) }, "Unlock to edit") : null
        : may("lock_cart") ? el("button", { type: "button", id: "lock-btn", onclick: () => send("LockCart", {}) }, "Lock cart") : null,
      locked && !blocked && cfg.handoff && may("hand_off") ? el("button", { type: "button", class: "link", id: "handoff-btn", onclick: handoff }, "Use the shop's own checkout") : null));
}

// ---- a payer who does not pay (a "holdout"): the group decides ---------------------------------
// The host covers the share, the other payers split it, or (each paying their own lines) the
// holdout's lines are dropped; the order is re-planned on the server (nobody is charged twice) and
// everyone sees the choice (view.checkout.holdouts, HoldoutResolved).
const HOLD_NOW = ["failed", "expired", "canceled"];
const holdoutOf = (payer) => [...(ui.view.checkout.holdouts || [])].reverse().find((h) => h.payer === payer) || null;
const whose = (id) => (id === ui.me ? "your" : `${nameOf(id)}'s`);
const cap = (text) => text.charAt(0).toUpperCase() + text.slice(1);
/** "Ada", "you and Cal", "Ada, Cal and you" */
const people = (ids) => {
  const names = ids.map((id) => (id === ui.me ? "you" : nameOf(id)));
  return names.length <= 1 ? names.join("") : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
};
function releasedText(h) {
  if (h.choice === "host_covers") return `covered by ${people(h.covered_by)}`;
  if (h.choice === "split_others") return `split between ${people(h.covered_by)}`;
  return "items dropped";
}
function holdoutOutcome(h) {
  if (h.choice === "host_covers") return `${cap(people(h.covered_by))} ${h.covered_by[0] === ui.me ? "cover" : "covers"} ${whose(h.payer)} share.`;
  if (h.choice === "split_others") return `${cap(whose(h.payer))} share is split between ${people(h.covered_by)}.`;
  return `${cap(whose(h.payer))} items were dropped from the order.`;
}

/** The order's mode and deadline (REST): the drop choice needs "each pays their own lines". */
function orderInfo(orderId) {
  if (!orderId) return null;
  if (ui.orderInfo && ui.orderInfo.order_id === orderId) return ui.orderInfo;
  if (ui.orderInfoLoading !== orderId) {
    ui.orderInfoLoading = orderId;
    api(checkoutPath(), { token: ui.token }).then((status) => {
      const o = status && status.order;
      if (o && o.order_id === orderId) { ui.orderInfo = { order_id: o.order_id, mode: o.mode, deadline_ms: o.deadline_ms }; requestRender(); }
    }).catch(() => { ui.orderInfoLoading = null; });
  }
  return null;
}

function holdoutPanel(share, shares, cur, orderId) {
  const v = ui.view;
  const who = share.payer === ui.me ? "You" : nameOf(share.payer);
  const amount = money(share.amount_minor, cur);
  const others = shares.filter((s) => s.payer !== share.payer && s.status !== "released").map((s) => s.payer);
  const info = orderInfo(orderId);
  const head = {
    failed: `${possessive(share.payer)} payment failed`, expired: `${possessive(share.payer)} payment page expired`,
    canceled: `${who} left the payment page`, checkout_open: `${who} ${share.payer === ui.me ? "are" : "is"} on the payment page`,
  }[share.shown] || `${who} ${share.payer === ui.me ? "haven't" : "hasn't"} paid yet`;
  const choices = [];
  if (share.payer !== v.host_id && ui.me === v.host_id) {
    choices.push(["host_covers", `I'll pay ${whose(share.payer)} share (${amount})`,
      "You pay it on the payment page as an extra payment; their items stay in the order."]);
  }
  if (others.length && !(others.length === 1 && others[0] === ui.me && choices.length)) {
    // (split with the host alone is the host covering it: one button says that)
    const n = others.length;
    const each = Math.floor(share.amount_minor / n);
    choices.push(["split_others", `Split it between ${people(others)} (${n === 1 ? amount : `about ${money(each, cur)} each`})`,
      "Each pays their part as an extra payment; the items stay in the order."]);
  }
  if (others.length && info && info.mode === "own_lines") {
    choices.push(["drop_lines", `Drop ${whose(share.payer)} items (−${amount})`,
      "Their items leave the order; everyone else pays as planned."]);
  }
  if (!choices.length) return null;
  const urgent = HOLD_NOW.includes(share.shown) || (info && info.deadline_ms - Date.now() < 10 * 60_000);
  // nobody is asked to decide for someone who simply has not paid yet, until time runs short
  if (!urgent && share.shown === "pending") return null;
  const body = [
    el("p", { class: "small" }, urgent
      ? "The order waits for everyone. They can still try again, or you decide now — nobody is charged twice:"
      : "You can wait for them, or decide now — nobody is charged twice:"),
    el("div", { class: "choices" }, ...choices.map(([choice, label, why]) => el("button", {
      type: "button", class: choice === "split_others" || choice === "host_covers" ? "secondary" : "ghost",
      dataset: { fk: `holdout-${share.payer}-${choice}`, choice },
      onclick: () => resolveHoldout(orderId, share.payer, choice, label),
    }, label, el("span", { class: "why" }, why)))),
  ];
  const attrs = { class: "holdout", dataset: { payer: share.payer } };
  if (urgent) return el("section", { ...attrs, "aria-label": head }, el("h3", {}, head), ...body);
  return el("details", attrs, el("summary", {}, `${head} — decide for them?`), ...body);
}

async function resolveHoldout(orderId, payer, choice, label) {
  if (!window.confirm(`${label}?`)) return;
  try {
    await api(checkoutPath(`/${encodeURIComponent(orderId)}/holdout`), { method: "POST", token: ui.token, body: { payer, choice } });
  } catch (err) { checkoutFailed(err); }
}

export function renderCheckout() {
  const v = ui.view;
  const c = v.checkout;
  if (isLive() && !isStaff(v)) {
    // a live viewer checks out their own lines (buy.js); the room-wide order is the host's
    const mine = (c.viewer_orders || []).filter((o) => o.payer === ui.me);
    region("checkout", ["viewer", v.phase, v.lines.map((l) => [l.line_id, l.quantity, l.price_minor]), mine, c.my_last_order, v.you && v.you.may_if], () => {
      $("checkout").replaceChildren(...viewerCheckout());
    });
    return;
  }
  const cur = checkoutCurrency();
  const shares = (c.shares || []).map((s) => ({ ...s, shown: shownStatus(s, c.order_id) }));
  const flags = ["check_out", "unlock_cart", "lock_cart", "hand_off", "cancel_checkout"].map(may);
  const sig = [v.phase, c.order_id, c.pricing, c.handoff_url, shares, shares.map((s) => nameOf(s.payer)), ui.outcome, ui.returned,
    ui.freezing, ui.paying, ui.payMode, v.lines.length, flags, cur, c.receipts || [], ui.shopAgain || null,
    c.holdouts || [], may("resolve_holdout"), ui.orderInfo || null,
    ui.payMode === "equal_split" ? [picks().map((p) => [p.m.member_id, p.m.display_name, p.on]), splitTotal()] : null];
  region("checkout", sig, () => {
    const parts = [];
    const phaseText = { open: "Cart open", locked: "Cart locked for checkout", settling: "Waiting for payments" }[v.phase] || v.phase;
    parts.push(el("p", { class: `phase phase-${v.phase}`, id: "checkout-phase" }, phaseText));

    if (ui.outcome && v.phase === "open") {
      const paid = ui.outcome.outcome === "paid";
      const [head, rest] = outcomeText(ui.outcome);
      parts.push(el("div", { class: `banner ${paid ? "ok" : "warn"}`, id: "checkout-result", role: "status" },
        el("strong", {}, head), rest ? el("span", {}, rest) : null,
        paid && ui.outcome.shares && ui.outcome.shares.length && !(c.receipts || []).length ? el("ul", { class: "shares done", "aria-label": "Payments in the last order" },
          ...ui.outcome.shares.map((s) => el("li", {}, `${nameOf(s.payer)}: ${SHARE_LABEL[s.status] || s.status} · ${money(s.amount_minor, ui.outcome.currency)}`))) : null));
    }

    const mineNow = shares.find((s) => s.payer === ui.me);
    if (!(ui.outcome && v.phase === "open") && ui.returned && v.phase !== "open" && !(mineNow && [...SHARE_DONE, ...RETRY, "processing", "released"].includes(mineNow.shown))) {
      parts.push(el("div", { class: `banner ${ui.returned === "success" ? "ok" : "warn"}`, id: "checkout-return", role: "status" },
        ui.returned === "success"
          ? "Thanks — your payment was sent. It shows as paid once the payment provider confirms it."
          : "You left the payment page. Nothing was charged; you can pay again below."));
    }

    const pricing = c.pricing;
    const blocking = pricing && v.phase !== "open" ? (pricing.issues || []).filter((i) => i.kind !== "price_changed") : [];
    if (pricing && v.phase !== "open") {
      const issues = pricing.issues || [];
      const changed = issues.filter((i) => i.kind === "price_changed");
      parts.push(el("div", { class: `pricing ${blocking.length ? "blocked" : ""}`, id: "pricing" },
        el("p", { class: "pricing-total" }, "Shop's total: ", el("strong", {}, money(pricing.total_minor, pricing.currency))),
        blocking.length ? el("p", { class: "error small", id: "blocked-note" },
          `Can't check out yet: ${blocking.length === 1 ? "one line needs" : `${blocking.length} lines need`} a change — see the cart${may("unlock_cart") ? "" : " (the host unlocks it to fix it)"}.`) : null,
        changed.length && v.phase === "locked" ? el("p", { class: "warn-text small" }, `${changed.length === 1 ? "A price has" : "Some prices have"} changed since you added ${changed.length === 1 ? "it" : "them"}.`) : null,
        issues.length ? el("ul", { class: "issues", "aria-label": "What changed" },
          ...issues.map((i) => { const l = v.lines.find((x) => x.line_id === i.line_id); return el("li", { dataset: { line: i.line_id, kind: i.kind } }, el("span", { class: "issue-title" }, l ? l.title : "A product"), ": ", issueText(i, pricing.currency)); })) : null));
    }

    if (v.phase === "settling" && shares.length) {
      const live = shares.filter((s) => s.shown !== "released");
      const paidCount = live.filter((s) => SHARE_DONE.includes(s.shown)).length;
      const extra = (c.holdouts || []).some((h) => h.covered_by.length);
      parts.push(el("h3", { class: "shares-h" }, `${extra ? "Extra payments" : "Payments"}: ${paidCount} of ${live.length} done`));
      parts.push(el("ul", { class: "shares", id: "shares" }, ...shares.map((s) => shareRow(s, cur, c.order_id))));
      const processing = shares.filter((s) => s.shown === "processing" && s.payer !== ui.me);
      if (processing.length) parts.push(el("p", { class: "ok-text small", id: "others-processing", role: "status" }, `${processing.map((s) => `${possessive(s.payer)} payment`).join(", ")} ${processing.length === 1 ? "is" : "are"} processing — the payment provider confirms ${processing.length === 1 ? "it" : "them"} shortly.`));
      const failed = shares.filter((s) => RETRY.includes(s.shown) && s.payer !== ui.me);
      if (failed.length) parts.push(el("p", { class: "warn-text small", id: "others-failed" }, `${failed.map((s) => `${possessive(s.payer)} payment`).join(", ")} did not go through — waiting for them to try again${may("resolve_holdout") ? " or for you to decide" : " or for the host to decide"}.`));
      const decided = c.holdouts || [];
      if (decided.length) {
        parts.push(el("ul", { class: "holdout-outcome ok-text small", id: "holdouts", "aria-label": "What the group decided" },
          ...decided.map((h) => el("li", { dataset: { payer: h.payer, choice: h.choice } }, holdoutOutcome(h)))));
      }
      if (may("resolve_holdout")) {
        // the others' shares not in (the host pays or cancels her own)
        for (const s of shares) {
          if (s.payer === ui.me || SHARE_DONE.includes(s.shown) || ["processing", "released"].includes(s.shown)) continue;
          const panel = holdoutPanel(s, shares, cur, c.order_id);
          if (panel) parts.push(panel);
        }
      }
    }

    if (v.phase === "open" && may("check_out") && v.lines.length) parts.push(modeChooser(false, false));
    if (v.phase === "open" && !may("check_out") && may("lock_cart") && v.lines.length) parts.push(modeChooser(false, true));
    if (v.phase === "locked") {
      if (may("check_out")) parts.push(modeChooser(true, blocking.length > 0));
      else parts.push(el("p", { class: "small muted", id: "host-checking-out" }, "The host is checking out. The cart can't be changed for now. Your amount appears here when the host starts checkout."));
    }
    if (v.phase === "settling" && c.order_id) {
      const mine = shares.find((s) => s.payer === ui.me);
      if (mine && mine.shown === "released") {
        const h = holdoutOf(ui.me);
        parts.push(el("p", { class: "ok-text", id: "my-share-released" }, h && h.choice === "drop_lines"
          ? "Your items were dropped from this order: you have nothing to pay."
          : `${h ? `Your share is ${releasedText(h)}` : "Your share was taken over"} — you have nothing to pay.`));
      } else if (mine && mine.shown === "processing") {
        parts.push(el("p", { class: "ok-text", id: "my-share-processing", role: "status" }, "Your payment is processing. The provider confirms it shortly; nothing to do."));
      } else if (mine && !SHARE_DONE.includes(mine.shown)) {
        const amount = money(mine.amount_minor, cur);
        const retry = RETRY.includes(mine.shown);
        const label = retry ? `Try again (${amount})` : mine.shown === "checkout_open" ? `Continue to payment (${amount})` : shares.length === 1 ? `Pay ${amount}` : `Pay my share (${amount})`;
        if (retry) parts.push(el("p", { class: "error small", id: "my-share-failed" }, mine.shown === "failed" ? "Your payment didn't go through. Try again, with another card if needed." : "Your payment page closed before you paid."));
        const took = (c.holdouts || []).filter((h) => h.covered_by.includes(ui.me));
        if (took.length) parts.push(el("p", { class: "small", id: "my-share-covers" }, `This is your part of ${took.map((h) => `${possessive(h.payer)} share`).join(" and ")}, an extra payment: anything you paid before stays paid.`));
        parts.push(el("button", { type: "button", class: "primary pay", id: "pay-btn", disabled: ui.paying, onclick: () => pay(c.order_id) }, ui.paying ? "Opening the payment page…" : label));
        parts.push(el("p", { class: "small muted" }, "You pay on the payment provider's page; coshop never sees your card."));
      } else if (mine) {
        parts.push(el("p", { class: "ok-text", id: "my-share-done" }, mine.shown === "authorized" ? "Your card is authorised. You are charged when everyone has paid." : "Your share is paid. Waiting for the others."));
      } else if (shares.length) {
        parts.push(el("p", { class: "small muted" }, "You have nothing to pay in this order."));
      }
      if (may("cancel_checkout")) parts.push(el("button", { type: "button", class: "link danger", id: "cancel-checkout", onclick: () => cancelCheckout(c.order_id) }, "Cancel checkout"));
    }
    if (c.handoff_url && /^https?:\/\//.test(c.handoff_url)) {
      parts.push(el("p", {}, el("a", { href: c.handoff_url, rel: "noopener", target: "_top", class: "button primary" }, "Continue to the shop's checkout")));
    }
    parts.push(ordersPart());
    redraw($("checkout"), parts);
    renderPayBar(shares, cur, c.order_id);
  });
}

// ---- orders the room keeps (view.checkout.receipts, newest first) ------------------------------
const STEP = {
  checkout_started: () => "Checkout started",
  host_covers: (who) => `The host covered ${whose(who)} share`,
  split_others: (who) => `${possessive(who)} share was split between the others`,
  drop_lines: (who) => `${possessive(who)} items were dropped`,
  checkout_open: (who) => `${nameOf(who)} opened the payment page`,
  processing: (who) => `${possessive(who)} payment processing`,
  authorized: (who) => `${possessive(who)} card authorised`,
  paid: (who) => (who ? `${nameOf(who)} paid` : "Order paid"),
  failed: (who) => `${possessive(who)} payment failed`,
  expired: (who) => `${possessive(who)} payment page expired`,
  canceled: (who) => `${nameOf(who)} left the payment page`,
};
const when = (ms) => new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(new Date(ms));

function receiptNode(r, { open }) {
  const lineName = (l) => {
    const p = ui.products.get(l.sku);
    const variant = l.variant && p ? (p.variants || []).find((x) => x.variant_id === l.variant) : null;
    return variant ? `${l.title} — ${variant.title}` : l.title;
  };
  const body = [
    el("ul", { class: "receipt-lines", "aria-label": "What was bought" }, ...r.lines.map((l) => el("li", {},
      el("span", { class: "receipt-item" }, `${lineName(l)}${l.quantity > 1 ? ` × ${l.quantity}` : ""}`),
      el("span", { class: "receipt-amount" }, money(l.unit_minor * l.quantity, r.currency))))),
    el("p", { class: "receipt-total" }, el("span", {}, "Total"), el("strong", {}, money(r.total_minor, r.currency))),
    el("h3", { class: "receipt-h" }, "Who paid"),
    el("ul", { class: "receipt-shares" }, ...r.shares.filter((s) => s.status !== "released").map((s) => el("li", {},
      el("span", {}, nameOf(s.payer)), el("span", { class: "receipt-amount" }, money(s.amount_minor, r.currency))))),
    el("h3", { class: "receipt-h" }, "History"),
    el("ol", { class: "receipt-history" }, ...r.history.filter((h) => h.what !== "released").map((h) => el("li", {},
      (STEP[h.what] || ((who) => `${nameOf(who)}: ${h.what}`))(h.who), h.at ? el("span", { class: "muted" }, ` · ${when(h.at)}`) : null))),
  ];
  const head = [el("strong", {}, `Order #${r.number}`), el("span", { class: "receipt-status" }, "Paid"), el("span", { class: "muted small" }, when(r.paid_at))];
  if (open) {
    return el("article", { class: "receipt", id: "receipt", dataset: { order: r.order_id }, "aria-label": `Receipt for order ${r.number}` },
      el("div", { class: "receipt-head" }, ...head), ...body,
      el("button", { type: "button", class: "primary", id: "shop-again", onclick: () => shopAgain(r.order_id) }, "Shop again"));
  }
  return el("details", { class: "receipt past", dataset: { order: r.order_id } },
    el("summary", { class: "receipt-head" }, ...head, el("span", { class: "receipt-amount" }, money(r.total_minor, r.currency))), ...body);
}

/** The last paid order's receipt (until the group shops again), and the room's order history. */
function ordersPart() {
  const v = ui.view;
  const receipts = v.checkout.receipts || [];
  if (!receipts.length) return null;
  const [latest, ...older] = receipts;
  const current = v.phase === "open" && !v.lines.length && ui.shopAgain !== latest.order_id;
  const past = current ? older : receipts;
  return el("section", { class: "orders", id: "orders", "aria-label": "Orders" },
    current ? receiptNode(latest, { open: true }) : null,
    past.length ? el("h3", { class: "orders-h" }, `Order history (${past.length})`) : null,
    ...past.map((r) => receiptNode(r, { open: false })));
}

function shopAgain(orderId) {
  ui.shopAgain = orderId; // the receipt moves to the order history; the cart is open
  ui.outcome = null;
  requestRender();
  const search = $("search");
  $("catalog").scrollIntoView({ block: "start" });
  if (search) search.focus();
}

/** The phone's sticky bar: the total and the one thing to do next (pay, or see the cart). */
function renderPayBar(shares, cur, orderId) {
  const bar = $("pay-bar");
  if (!bar) return;
  const action = $("pay-bar-action");
  const mine = shares.find((s) => s.payer === ui.me);
  const total = $("pay-bar-total");
  const sent = ui.view.phase === "settling" && mine && [...SHARE_DONE, "processing"].includes(mine.shown);
  if (total) {
    total.dataset.mine = sent ? "1" : "";
    total.textContent = sent ? `Your share ${money(mine.amount_minor, cur)} ✔` : ui.cartTotalText || "";
  }
  if (ui.view.phase === "settling" && mine && !SHARE_DONE.includes(mine.shown) && mine.shown !== "processing") {
    action.textContent = `Pay ${money(mine.amount_minor, cur)}`;
    action.onclick = () => pay(orderId);
  } else {
    action.textContent = "View cart";
    action.onclick = () => { $("cart-panel").scrollIntoView(); $("cart-h").focus(); };
  }
  bar.hidden = !ui.view.lines.length && ui.view.phase === "open";
}

const CHECKOUT_ERRORS = {
  payments_unconfigured: "Payments are not set up on this server yet.",
  provider_unavailable: "The payment provider is not reachable. Try again in a moment.",
  handoff_unconfigured: "This shop has no checkout to hand the cart to.",
  cart_not_locked: "Lock the cart first.",
  cart_empty: "The cart is empty.",
  checkout_in_progress: "A checkout is already in progress.",
  snapshot_blocked: "Some products are unavailable or out of stock: fix the marked lines in the cart and try again.",
  prices_changed: "Some prices changed since you added them. Check the cart, then check out again to accept them.",
  not_a_payer: "You have nothing to pay in this order.",
  share_settled: "Your share is already settled.",
  order_closed: "This order is closed.",
  host_only: "Only the host can check out.",
  invalid_participants: "Someone you picked for the split is no longer in the room: check who's in the split.",
  no_payers: "Pick at least one person to split with.",
  payment_processing: "Your payment is already being confirmed by the payment provider: nothing to do.",
  share_not_holdout: "That person has nothing left to pay any more.",
  holdout_is_host: "You can't cover your own share: split it or drop your items instead.",
  no_one_to_split: "Nobody else pays in this order to split it with.",
  lines_not_separable: "Their share isn't their own items (the order is split another way): cover it or split it.",
  nothing_left: "Dropping these items leaves nothing to buy: cancel the checkout instead.",
};

function checkoutFailed(err) {
  if (err.status === 404 || err.status === 405) toast("Checkout is not available on this server yet.", "warn", 8000);
  else toast(CHECKOUT_ERRORS[err.code] || `Checkout failed: ${err.message}`, ["prices_changed", "snapshot_blocked"].includes(err.code) ? "warn" : "error", 10000);
}

async function startCheckout() {
  if (ui.freezing) return;
  ui.freezing = true;
  requestRender();
  try {
    // Only the mode travels: the server prices every line from the catalogue.
    // An equal split names who the host picked (the server checks each is in the room).
    const body = { mode: ui.payMode, all_or_nothing: ui.payMode !== "host_pays" && ui.allOrNothing };
    if (ui.payMode === "equal_split") body.participants = pickedIds();
    await api(checkoutPath(), { method: "POST", token: ui.token, body });
    ui.outcome = null;
  } catch (err) { checkoutFailed(err); } finally {
    ui.freezing = false;
    requestRender();
  }
}

async function cancelCheckout(orderId) {
  if (!window.confirm("Cancel this checkout? Card holds are released, payments already made are refunded and the cart unlocks.")) return;
  try {
    await api(checkoutPath(`/${encodeURIComponent(orderId)}/cancel`), { method: "POST", token: ui.token, body: {} });
  } catch (err) { checkoutFailed(err); }
}

async function handoff() {
  try {
    await api(checkoutPath("/handoff"), { method: "POST", token: ui.token, body: {} });
  } catch (err) { checkoutFailed(err); }
}

async function pay(orderId) {
  if (ui.paying) return;
  ui.paying = true;
  markSent(orderId, false); // a new attempt: its state comes from the provider again
  requestRender();
  try {
    const res = await api(checkoutPath(`/${encodeURIComponent(orderId)}/pay`), { method: "POST", token: ui.token, body: {} });
    const url = res && res.url;
    if (!url || !/^https?:\/\//.test(url)) throw Object.assign(new Error("no payment page"), { status: 500 });
    navigateTop(url);
  } catch (err) { checkoutFailed(err); } finally {
    // the page is about to go; if it does not (popup, embed), the button works again
    setTimeout(() => { ui.paying = false; requestRender(); }, 3000);
  }
}

function navigateTop(url) {
  // The payment page is always a top-level page, never inside an iframe.
  if (window.top === window.self) { location.assign(url); return; }
  if (embed.navigate(url)) return;
  const popup = window.open(url, "_blank", "noopener");
  if (!popup) toast("Open the payment page: allow pop-ups for this site.", "warn", 10000);
}

/** ?checkout=success|cancel from the return page: say so, then drop it from the address. */
export function readReturnFromCheckout() {
  const params = new URLSearchParams(location.search);
  const result = params.get("checkout");
  if (result !== "success" && result !== "cancel") return;
  ui.returned = result;
  params.delete("checkout");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  if (result === "cancel") toast("Payment cancelled. Nothing was charged; you can try again.", "warn", 10000);
}

/** After coming back from the payment page, learn how the latest order stands. */
export async function checkReturnedOrder() {
  if (!ui.returned || ui.returnChecked) return;
  ui.returnChecked = true;
  try {
    const status = await api(checkoutPath(), { token: ui.token });
    const order = status && status.order;
    const mine = order && order.shares.find((s) => s.payer === ui.me);
    if (ui.returned === "success" && order && order.status === "collecting" && mine && ["checkout_open", "processing"].includes(mine.status)) {
      markSent(order.order_id, true);
      toast("Payment sent — waiting for the provider's confirmation.", "ok", 8000);
    }
    if (order && ui.view && ui.view.phase === "open" && ["paid", "void"].includes(order.status) && !ui.outcome) {
      ui.outcome = { order_id: order.order_id, outcome: order.status, currency: order.currency,
        shares: order.shares.map((s) => ({ payer: s.payer, status: s.status, amount_minor: s.amount_minor })) };
    }
    requestRender();
  } catch { /* the room's events tell the rest */ }
}

/** Before state.js folds OrderSettled (it clears the shares): keep them for the outcome banner. */
export function beforeSettled(ev) {
  const c = ui.view.checkout;
  if (ev.order_id !== c.order_id) return;
  ui.lastCurrency = checkoutCurrency();
  ui.outcome = { order_id: ev.order_id, outcome: ev.outcome, currency: ui.lastCurrency, shares: (c.shares || []).map((s) => ({ ...s })) };
  ui.returned = null;
}

export function onCheckoutEvent(ev) {
  const v = ui.view;
  onCartEvent(ev); // the cart's etiquette notices and activity strip hear every event too
  // the room keeps the paid order (its receipt): state.js does not build it, the server's view does
  if (ev.type === "OrderSettled" && ev.outcome === "paid") v._stale = true;
  if (ev.type === "SettlementBegan") { ui.outcome = null; ui.returned = null; v.checkout.holdouts = []; }
  if (ev.type === "OrderSettled" && ev.outcome === "void") v.checkout.holdouts = [];
  if (ev.type === "HoldoutResolved" && ev.order_id === v.checkout.order_id) {
    const h = { payer: ev.payer, choice: ev.choice, covered_by: ev.covered_by, dropped_line_ids: ev.dropped_line_ids, at: ev.at };
    v.checkout.holdouts = [...(v.checkout.holdouts || []), h];
    ui.returned = null; // "your payment was sent" was about the plan before this one
    const dropped = new Set(ev.dropped_line_ids);
    v.lines = v.lines.filter((l) => !dropped.has(l.line_id));
    toast(holdoutOutcome(h), ev.payer === ui.me || ev.covered_by.includes(ui.me) ? "warn" : "info", 10000);
  }
  if (ev.type === "CartLocked" || ev.type === "LineAdded") ui.outcome = null;
  if (ev.type === "ShareUpdated" && ev.order_id === v.checkout.order_id) {
    if (ev.status === "paid") toast(ev.payer === ui.me ? "Your payment is confirmed ✔" : `${nameOf(ev.payer)} paid their share`, "ok", 5000);
    if (ev.status === "processing" && ev.payer !== ui.me) toast(`${possessive(ev.payer)} payment is processing.`, "info", 5000);
    if (ev.status === "failed") toast(ev.payer === ui.me ? "Your payment didn't go through: try again." : `${possessive(ev.payer)} payment failed.`, "warn", 8000);
    if (ev.payer === ui.me && ev.status !== "checkout_open") markSent(ev.order_id, false);
  }
  if (ev.type === "OrderSettled" && ui.outcome && ui.outcome.order_id === ev.order_id) {
    const [head, rest] = outcomeText(ui.outcome);
    toast(ev.outcome === "paid" ? "The order is paid. A fresh cart is open." : `${head}${rest || ""}`, ev.outcome === "paid" ? "ok" : "warn", 10000);
  }
  if (ev.type === "PricingReported") {
    loadSnapshotPrices();
    const n = (ev.issues || []).length;
    if (n && !may("check_out")) toast(ev.ready ? "The shop's prices changed: see the cart." : "Some products can't be bought as they are: see the cart.", "warn", 8000);
  }
}
