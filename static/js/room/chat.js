// Chat (text only), moderation tools, reactions. The message list is keyed by message id: a new
// message appends, a deleted one goes, nothing else is touched. The draft is kept per room in
// sessionStorage and restored after a reload.
import { colourFor, el, toast } from "../util.js";
import { $, cfg, may, nameOf, send, ui } from "./ctx.js";
import { ROLE_LABEL } from "./members.js";
import { keyed, region } from "./dom.js";

const REACTIONS = ["❤️", "🔥", "👍", "👏", "😮", "🛒"];
const DRAFT_KEY = `coshop.draft.${cfg.room_id}`;

function drafts() { try { return window.sessionStorage; } catch { return null; } }
function saveDraft(text) {
  const s = drafts();
  if (!s) return;
  try { if (text) s.setItem(DRAFT_KEY, text); else s.removeItem(DRAFT_KEY); } catch { /* storage full or blocked */ }
}

function confirmBan(memberId) {
  if (window.confirm(`Ban ${nameOf(memberId)} from this room?`)) send("Ban", { member_id: memberId });
}

function message(m) {
  const mine = m.author === ui.me;
  const del = may(mine ? "delete_message" : "delete_any_message");
  const mute = !mine && may("mute_member");
  const ban = !mine && may("ban");
  const who = el("span", { class: "author", dataset: { member: m.author } }, mine ? "You" : m.author_name || nameOf(m.author));
  who.style.color = colourFor(m.author);
  // A staff badge comes from the role the room gave the author, never from the typed name.
  const label = ROLE_LABEL[m.author_role || ""];
  const badge = label ? el("span", { class: "badge verified", dataset: { role: m.author_role }, title: `${label} (verified by the room)` }, label) : null;
  return el("li", { class: `msg ${mine ? "mine" : ""}`, dataset: { message: m.message_id } },
    who, badge ? " " : null, badge, " ", el("span", { class: "text" }, m.text),
    del || mute || ban ? el("span", { class: "mod" },
      del ? el("button", { type: "button", class: "link", "aria-label": "Delete message", dataset: { fk: `del-${m.message_id}` }, onclick: () => send("DeleteMessage", { message_id: m.message_id }) }, "Delete") : null,
      mute ? el("button", { type: "button", class: "link", "aria-label": `Mute ${nameOf(m.author)}`, dataset: { fk: `mute-${m.message_id}` }, onclick: () => send("MuteMember", { member_id: m.author, until: null }).then((ok) => ok && toast(`${nameOf(m.author)} is muted`)) }, "Mute") : null,
      ban ? el("button", { type: "button", class: "link danger", "aria-label": `Ban ${nameOf(m.author)}`, dataset: { fk: `ban-${m.message_id}` }, onclick: () => confirmBan(m.author) }, "Ban") : null) : null);
}

export function renderChat() {
  const v = ui.view;
  const tools = [may("delete_message"), may("delete_any_message"), may("mute_member"), may("ban")];
  const msgs = v.chat.messages;
  region("chat", [msgs.map((m) => [m.message_id, m.text]), tools], () => {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    keyed(list, msgs, { key: (m) => m.message_id, sig: (m) => [m.text, m.author_name, m.author_role, tools], render: message });
    if (atBottom || msgs.length < 8) list.scrollTop = list.scrollHeight;
  });
  const parts = [];
  if (v.muted) parts.push("You are muted by a moderator.");
  if (v.chat.slow_mode && !may("ignore_slow_mode")) parts.push(`Slow mode: one message every ${v.chat.slow_mode} s.`);
  else if (v.chat.slow_mode) parts.push(`Slow mode is on (${v.chat.slow_mode} s) for the audience.`);
  region("chat-notice", parts, () => {
    const notice = $("slow-notice");
    notice.textContent = parts.join(" ");
    notice.hidden = !parts.length;
  });
}

export function burst(counts) {
  const host = $("reaction-burst") || $("reaction-bar");
  if (!host || window.matchMedia("(prefers-reduced-motion: reduce)").matches) return;
  for (const [emoji, n] of Object.entries(counts)) {
    for (let i = 0; i < Math.min(n, 12); i++) {
      const bubble = el("span", { class: "bubble" }, emoji);
      bubble.style.left = `${10 + Math.random() * 80}%`;
      bubble.style.animationDelay = `${i * 80}ms`;
      host.append(bubble);
      setTimeout(() => bubble.remove(), 2200 + i * 80);
    }
  }
}

export function wireChat() {
  const input = $("chat-input");
  const s = drafts();
  const saved = s ? s.getItem(DRAFT_KEY) : null;
  if (saved && !input.value) input.value = saved;
  input.addEventListener("input", () => saveDraft(input.value));
  $("chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    saveDraft("");
    const ok = await send("PostMessage", { text });
    // refused (slow mode, muted): give the text back unless they already typed something new
    if (!ok && !input.value) { input.value = text; saveDraft(text); }
  });
  const bar = $("reaction-bar");
  for (const emoji of REACTIONS) {
    bar.append(el("button", { type: "button", class: "react", "aria-label": `React ${emoji}`,
      onclick: () => { ui.conn.signal("React", { emoji }); burst({ [emoji]: 1 }); } }, emoji));
  }
}
