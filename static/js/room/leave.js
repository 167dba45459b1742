// "Leave room" for members (never the host): a confirm sheet that says exactly what happens to
// the person's cart lines — the rule is the room core's (rooms/rules/membership.py leaving_lines):
// lines they added and pay for are removed, lines they pay for that someone else added go back
// to that person, lines someone else pays for stay. Someone who pays for part of a cart being
// checked out can't leave until it is paid or unlocked. After leaving, the page says so.
import { el, forgetMember } from "../util.js";
import { $, cfg, lineTitle, may, nameOf, send, ui } from "./ctx.js";
import { region } from "./dom.js";

const canLeave = () => Boolean(ui.view && ui.view.you) && ui.view.host_id !== ui.me && may("leave");

/** The header's "Leave room" button (drawn once; shown only to members who may leave). */
export function renderLeave() {
  region("leave", [canLeave()], () => {
    let button = $("leave-btn");
    if (!button) {
      const box = document.querySelector(".topbar .me");
      if (!box) return;
      button = el("button", { type: "button", id: "leave-btn", class: "ghost leave", onclick: openLeave }, "Leave room");
      box.append(button);
    }
    button.hidden = !canLeave();
  });
}

function plural(n, one, many) { return `${n} ${n === 1 ? one : many}`; }
const names = (lines) => lines.map(lineTitle).join(", ");

/** What leaving does to this member's lines, in plain words (one sentence per kind of line). */
export function leaveConsequences() {
  const v = ui.view;
  const me = ui.me;
  const paying = v.lines.filter((l) => l.payer === me);
  if (v.phase !== "open" && (paying.length || (v.checkout.shares || []).some((s) => s.payer === me))) {
    return { blocked: true, text: ["You pay for part of the cart being checked out. You can leave once the order is paid, or when the host unlocks the cart."] };
  }
  if (v.phase !== "open") return { blocked: false, text: ["The cart is being checked out: it stays as it is."] };
  const removed = paying.filter((l) => l.added_by === me);
  const returned = paying.filter((l) => l.added_by !== me);
  const kept = v.lines.filter((l) => l.added_by === me && l.payer !== me);
  const text = [];
  if (removed.length) text.push(`${plural(removed.length, "item", "items")} you added will be removed from the cart: ${names(removed)}.`);
  for (const l of returned) {
    const back = v.members.some((m) => m.member_id === l.added_by) ? l.added_by : v.host_id;
    text.push(`You were paying for ${lineTitle(l)}: ${nameOf(back)} pays for it again.`);
  }
  for (const l of kept) text.push(`${lineTitle(l)} stays in the cart: ${nameOf(l.payer)} pays for it.`);
  if (!text.length) text.push("You have nothing in the cart.");
  return { blocked: false, text };
}

function sheet() {
  let dialog = $("leave-dialog");
  if (!dialog) {
    dialog = el("dialog", { id: "leave-dialog", class: "sheet", "aria-labelledby": "leave-h" });
    document.body.append(dialog);
  }
  return dialog;
}

function openLeave() {
  const dialog = sheet();
  const { blocked, text } = leaveConsequences();
  dialog.replaceChildren(
    el("h2", { id: "leave-h" }, `Leave “${ui.view.title}”?`),
    el("ul", { class: "leave-what", id: "leave-what" }, ...text.map((t) => el("li", {}, t))),
    el("p", { class: "small muted" }, "You can come back with the invite link."),
    el("div", { class: "row actions" },
      el("button", { type: "button", class: "danger-btn", id: "leave-confirm", disabled: blocked, onclick: () => leave(dialog) }, "Leave room"),
      el("button", { type: "button", id: "leave-stay", onclick: () => dialog.close() }, "Stay")));
  if (!dialog.open) dialog.showModal();
  $("leave-stay").focus();
}

async function leave(dialog) {
  const done = await send("Leave", {});
  if (!done) return; // refused: the toast says why
  // Left on purpose: the server's close that follows (FORBIDDEN) must not say "removed".
  ui.removed = "left";
  dialog.close();
  forgetMember(cfg.room_id);
  const conn = ui.conn;
  if (conn) {
    conn.stopped = true; // no reconnect: this browser is no longer a member
    const ws = conn.ws;
    conn.ws = null; // its close is ours: no "fatal" from it
    clearInterval(conn.pingTimer);
    if (ws) { try { ws.close(); } catch { /* closing */ } }
  }
  $("main").hidden = true;
  const bar = $("pay-bar");
  if (bar) bar.hidden = true;
  const leaveBtn = $("leave-btn");
  if (leaveBtn) leaveBtn.hidden = true;
  const gate = $("gate");
  gate.replaceChildren(
    el("h2", { id: "left-h" }, "You left the room"),
    el("p", {}, `You are no longer in “${ui.view.title}”. The others keep shopping; you can come back with the invite link.`),
    el("p", {}, el("a", { href: "/", class: "button primary" }, "Back to the shop")));
  gate.hidden = false;
  $("conn").textContent = "Left";
}
