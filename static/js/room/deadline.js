// The cart's deadline and reminders (rooms/rules/deadline.py). Everyone sees "Cart closes at
// 18:30 · 4:32 left" counting down (the count is written into one element every second, never by
// re-rendering the region); at the deadline the room locks the cart itself (CartLocked by
// "system"). The host sets, changes or clears it, and reminds ("nudges") a member who has added
// nothing yet or whose share is unpaid; the reminder reaches only that member, who sees it as a
// notice in their room until they do it (or dismiss it).
import { el, toast } from "../util.js";
import { $, may, nameOf, requestRender, send, ui } from "./ctx.js";
import { region } from "./dom.js";

const QUICK = [[15, "15 min"], [30, "30 min"], [60, "1 hour"], [120, "2 hours"]];
const PAID = ["paid", "authorized", "processing", "refunded", "partially_refunded", "released"];
const clock = (ms) => new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" }).format(new Date(ms));
const sameDay = (ms) => new Date(ms).toDateString() === new Date().toDateString();
const when = (ms) => (sameDay(ms) ? clock(ms)
  : new Intl.DateTimeFormat(undefined, { weekday: "short", hour: "numeric", minute: "2-digit" }).format(new Date(ms)));

/** "4:32 left", "1 h 05 min left", "closing…" */
export function leftText(ms, now = Date.now()) {
  const s = Math.ceil((ms - now) / 1000);
  if (s <= 0) return "closing…";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  if (h >= 24) return `${Math.floor(h / 24)} d ${h % 24} h left`;
  if (h) return `${h} h ${String(m).padStart(2, "0")} min left`;
  return `${m}:${String(sec).padStart(2, "0")} left`;
}

/** A local date-time input's value for ``ms`` ("2026-12-07T18:30:00"). */
function localValue(ms) {
  const d = new Date(ms);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const deadlineOf = () => (ui.view && ui.view.checkout.deadline) || null;

/** Who the host may remind now: members (not the host) who added nothing / have not paid. */
function waitingOn() {
  const v = ui.view;
  if (!may("nudge")) return [];
  const others = v.members.filter((m) => m.member_id !== ui.me && m.role !== "associate" && m.role !== "moderator");
  if (v.phase === "open") {
    const involved = new Set(v.lines.flatMap((l) => [l.added_by, l.payer]));
    return others.filter((m) => !involved.has(m.member_id)).map((m) => ({ m, reason: "add" }));
  }
  if (v.phase === "settling") {
    const shares = new Map((v.checkout.shares || []).map((s) => [s.payer, s]));
    return others.filter((m) => shares.has(m.member_id) && !PAID.includes(shares.get(m.member_id).status)).map((m) => ({ m, reason: "pay" }));
  }
  return [];
}

function nudgeText(n) {
  const who = n.by === "system" ? "The room" : nameOf(n.by);
  const d = deadlineOf();
  if (n.reason === "pay") return `${who} reminds you to pay your share so the order can go through.`;
  return `${who} reminds you to add what you'd like to the cart${d ? ` before it closes at ${when(d.closes_at)}` : ""}.`;
}

function myNudge() {
  const n = ((ui.view && ui.view.checkout.nudges) || []).find((x) => x.member_id === ui.me);
  return n && !(ui.dismissedNudges || new Set()).has(`${n.at}`) ? n : null;
}

function deadlineForm(d) {
  const input = el("input", {
    type: "datetime-local", id: "deadline-at", step: "1",
    value: ui.deadlineDraft || (d ? localValue(d.closes_at) : ""),
    min: localValue(Date.now()), max: localValue(Date.now() + 7 * 24 * 3600 * 1000),
    "aria-describedby": "deadline-hint",
    oninput: (e) => { ui.deadlineDraft = e.target.value; },
  });
  const submit = (e) => {
    e.preventDefault();
    const value = $("deadline-at").value;
    const at = value ? new Date(value).getTime() : NaN;
    if (!Number.isFinite(at)) { toast("Pick a date and time for the cart to close.", "warn"); return; }
    setDeadline(at);
  };
  return el("form", { class: "deadline-form", id: "deadline-form", onsubmit: submit },
    el("div", { class: "row quick", role: "group", "aria-label": "Close the cart in" },
      el("span", { class: "small muted" }, d ? "Move it to" : "Close the cart in"),
      ...QUICK.map(([min, label]) => el("button", { type: "button", class: "chip", dataset: { fk: `dl-${min}` },
        onclick: () => setDeadline(Date.now() + min * 60_000) }, label))),
    el("div", { class: "row" },
      el("label", { for: "deadline-at" }, "or at"), input,
      el("button", { type: "submit", id: "deadline-set" }, d ? "Change" : "Set deadline"),
      d ? el("button", { type: "button", class: "link", id: "deadline-clear", onclick: () => setDeadlineRaw(null) }, "No deadline") : null),
    el("p", { class: "small muted", id: "deadline-hint" }, "At that time the cart locks by itself, so you can check out. Up to 7 days ahead."));
}

async function setDeadline(at) {
  await setDeadlineRaw(Math.round(at));
}
async function setDeadlineRaw(at) {
  const ok = await send("SetDeadline", { closes_at: at });
  if (ok) { ui.deadlineDraft = ""; ui.deadlineEditing = false; requestRender(); }
}

/** The deadline strip above the cart: countdown, the host's controls, reminders. */
export function renderDeadline() {
  const box = $("deadline");
  if (!box || !ui.view) return;
  const v = ui.view;
  const d = deadlineOf();
  const waiting = waitingOn();
  const mine = myNudge();
  const nudged = new Map((v.checkout.nudges || []).map((n) => [n.member_id, n]));
  const sig = [v.phase, d, may("set_deadline"), ui.deadlineEditing || false, mine,
    waiting.map(({ m, reason }) => [m.member_id, m.display_name, reason, (nudged.get(m.member_id) || {}).at || 0])];
  region("deadline", sig, () => {
    const parts = [];
    if (mine) {
      parts.push(el("div", { class: "banner warn nudge", id: "nudge", role: "status", dataset: { reason: mine.reason } },
        el("span", {}, "⏰ ", nudgeText(mine)),
        el("button", { type: "button", class: "link", id: "nudge-dismiss", onclick: () => {
          ui.dismissedNudges = ui.dismissedNudges || new Set();
          ui.dismissedNudges.add(`${mine.at}`);
          requestRender();
        } }, "OK")));
    }
    if (d && v.phase === "open") {
      parts.push(el("p", { class: "deadline-line", id: "deadline-line" },
        el("span", { class: "deadline-icon", "aria-hidden": "true" }, "⏱ "),
        `Cart closes at ${when(d.closes_at)}`,
        el("span", { class: "deadline-left", id: "deadline-left", dataset: { closesAt: d.closes_at } }, ` · ${leftText(d.closes_at)}`),
        may("set_deadline") && !ui.deadlineEditing ? el("button", { type: "button", class: "link", id: "deadline-edit",
          onclick: () => { ui.deadlineEditing = true; requestRender(); } }, "Change") : null));
    }
    if (v.phase === "open" && may("set_deadline") && (!d || ui.deadlineEditing)) {
      parts.push(el("details", { class: "deadline-setup", id: "deadline-setup", open: Boolean(d) || ui.deadlineOpen || undefined,
        ontoggle: (e) => { ui.deadlineOpen = e.target.open; } },
      el("summary", {}, d ? "Change when the cart closes" : "Set a time for the cart to close"),
      deadlineForm(d)));
    }
    if (waiting.length) {
      const what = v.phase === "open" ? "hasn't added anything yet" : "hasn't paid yet";
      parts.push(el("ul", { class: "waiting", id: "waiting", "aria-label": "Waiting on" },
        ...waiting.map(({ m, reason }) => {
          const sent = nudged.get(m.member_id);
          const recent = sent && sent.reason === reason;
          return el("li", { dataset: { member: m.member_id } },
            el("span", {}, `${m.display_name} ${what}`),
            recent ? el("span", { class: "small muted" }, " · reminded ✓") : null,
            el("button", { type: "button", class: "link", dataset: { fk: `nudge-${m.member_id}` }, "aria-label": `Remind ${m.display_name}`,
              onclick: () => send("Nudge", { member_id: m.member_id }) }, recent ? "Remind again" : "Remind"));
        })));
    }
    box.replaceChildren(...parts);
    box.hidden = !parts.length;
  });
  tick();
}

/** Write the time left into the countdown (no re-render; the rest of the page is untouched). */
function tick() {
  const left = $("deadline-left");
  if (!left) return;
  const text = ` · ${leftText(Number(left.dataset.closesAt))}`;
  if (left.textContent !== text) left.textContent = text;
}
setInterval(tick, 1000);

/** What the room says when the deadline locks the cart or a reminder arrives. */
export function onDeadlineEvent(ev) {
  const c = ui.view.checkout;
  switch (ev.type) {
    case "DeadlineSet":
      c.deadline = ev.closes_at === null ? null : { closes_at: ev.closes_at, set_by: ev.by };
      if (ev.closes_at === null && ev.by === "system") toast("The cart's deadline passed with nothing in it.", "info", 6000);
      else if (ev.by !== ui.me && ev.closes_at !== null) toast(`${nameOf(ev.by)} set the cart to close at ${when(ev.closes_at)}.`, "info", 6000);
      break;
    case "MemberNudged":
      c.nudges = (c.nudges || []).filter((n) => n.member_id !== ev.member_id);
      c.nudges.push({ member_id: ev.member_id, reason: ev.reason, by: ev.by, at: ev.at });
      if (ev.by === ui.me) toast(`Reminder sent to ${nameOf(ev.member_id)}.`, "ok", 4000);
      break;
    case "CartLocked":
      c.deadline = null;
      c.nudges = [];
      ui.deadlineEditing = false;
      if (ev.by === "system") toast("Time's up: the cart closed by itself. The host can check out now.", "info", 10000);
      break;
    case "LineAdded": case "PayerAssigned": {
      const who = ev.type === "LineAdded" ? ev.added_by : ev.payer;
      c.nudges = (c.nudges || []).filter((n) => !(n.member_id === who && n.reason === "add"));
      break;
    }
    case "ShareUpdated":
      if (PAID.includes(ev.status)) c.nudges = (c.nudges || []).filter((n) => !(n.member_id === ev.payer && n.reason === "pay"));
      break;
    case "OrderSettled":
      c.nudges = [];
      break;
    case "MemberLeft": case "MemberKicked": case "MemberBanned":
      c.nudges = (c.nudges || []).filter((n) => n.member_id !== ev.member_id);
      break;
    default: break;
  }
}
