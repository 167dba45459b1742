// The payment provider's return page (/checkout/return?order=…&room=…): it follows the order live
// — every 2 s for up to two minutes it asks GET /api/v1/rooms/{room}/checkout how the order and
// this member's share stand — and says so, with the link back to the room. Other pages that use
// the message template do nothing here.
import { api, el, loadMember, money } from "./util.js";

const POLL_MS = 2000;
const FOR_MS = 120000;
const LABEL = {
  pending: "not paid yet", checkout_open: "on the payment page", processing: "processing", authorized: "card authorised",
  paid: "paid", failed: "payment failed", expired: "payment page expired", canceled: "left the payment page",
  refunded: "refunded", partially_refunded: "partly refunded", released: "taken over by the group",
};
const DONE = ["paid", "authorized", "refunded", "partially_refunded"];

const params = new URLSearchParams(location.search);
const orderId = params.get("order") || "";
const roomId = params.get("room") || "";
const member = location.pathname === "/checkout/return" && roomId ? loadMember(roomId) : null;

function show(order) {
  const title = document.getElementById("msg-title");
  const text = document.getElementById("msg-text");
  const list = document.getElementById("return-shares");
  // a share the group released (a holdout's) is nobody's to pay; a payer who took part of one
  // over has two shares: the one still to pay is theirs here
  const live = order.shares.filter((s) => s.status !== "released");
  const own = order.shares.filter((s) => s.payer === member.member_id);
  const mine = own.find((s) => s.status !== "released" && !DONE.includes(s.status)) || own.find((s) => s.status !== "released") || own[0];
  const done = live.filter((s) => DONE.includes(s.status)).length;
  if (order.status === "paid") {
    title.textContent = "Order paid";
    text.textContent = "Every share is paid. The room has the receipt.";
  } else if (order.status === "void") {
    const held = order.all_or_nothing;
    title.textContent = "Order cancelled";
    text.textContent = held ? "The order was cancelled: the card holds were released and nothing was charged." : "The order was cancelled; any payment made is refunded.";
  } else if (mine && mine.status === "released") {
    title.textContent = "Nothing to pay";
    text.textContent = "The group took your share over: you have nothing to pay. The room shows who did.";
  } else if (mine && mine.status === "failed") {
    title.textContent = "Payment failed";
    text.textContent = "Your payment didn't go through. Go back to the room to try again.";
  } else if (mine && DONE.includes(mine.status)) {
    title.textContent = "Thank you";
    text.textContent = `Your share is ${mine.status === "authorized" ? "authorised" : "paid"}. ${done} of ${live.length} shares are in; waiting for the others.`;
  } else if (params.get("canceled") !== "1") {
    title.textContent = "Thank you";
    const others = live.length > 1 ? ` ${done} of ${live.length} shares are in.` : "";
    text.textContent = `Your payment is being confirmed by the provider.${others}`;
  }
  if (mine) {
    // back from the provider without cancelling, a share still "on the payment page" was sent
    // by an asynchronous method: the provider confirms it later
    const shown = mine.status === "checkout_open" && params.get("canceled") !== "1" ? "processing" : mine.status;
    list.replaceChildren(el("li", { class: `share status-${shown}` }, "Your share: ", money(mine.amount_minor, order.currency), " — ", LABEL[shown] || shown));
    list.hidden = false;
  }
  return order.status !== "collecting";
}

async function follow() {
  const started = Date.now();
  for (;;) {
    try {
      const status = await api(`/api/v1/rooms/${encodeURIComponent(roomId)}/checkout`, { token: member.token });
      const order = status && status.order;
      if (!order || order.order_id !== orderId) return;
      if (show(order)) return;
    } catch { return; }
    if (Date.now() - started > FOR_MS) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

if (member && orderId) follow();
