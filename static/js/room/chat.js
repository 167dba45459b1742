// Chat, moderation tools, reactions. The message list is keyed by message id: a new message
// appends, a deleted one goes, nothing else is touched. The draft is kept per room in
// sessionStorage and restored after a reload.
//
// A message may carry a shared product (PostMessage.product): it is drawn as a card — image,
// title, the variant's human name, the price and Add (the variant sheet when the product has
// options). The event keeps what the product was when shared; the card shows the catalogue's
// current facts once the page has read them (ensureProducts), and says what it cost when shared
// if that differs.
//
// What is typed stays in the box until the room took it: a message refused (slow mode, a word
// the room blocks, a mute) is still there to fix or send later. Slow mode shows a countdown on
// the Send button until the next message may go. Staff get the room's word list and what the
// room blocked or muted lately ("Chat rules"); rooms/wordlist.py does the matching.
import { colourFor, el, money, toast } from "../util.js";
import { $, cfg, ensureProducts, explain, hasVariants, may, nameOf, send, ui, variantName } from "./ctx.js";
import { ROLE_LABEL } from "./members.js";
import { keyed, redraw, region } from "./dom.js";
import { openDetail, quickAdd } from "./product.js";

// chat state of this page: when the next message may go (slow mode), the note under the box,
// how many of my messages the room blocked (to tell a blocked send from a posted one), and the
// latest moderation facts for staff
const chat = { waitUntil: 0, timer: null, note: null, ownBlocked: 0, log: [] };
const LOG_MAX = 8;

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

// ---- product cards ------------------------------------------------------------------------------
/** What a card shows: the catalogue's facts now when the page has them, else the snapshot. */
function cardFacts(shared) {
  const p = ui.products.get(shared.sku);
  const v = p && shared.variant ? (p.variants || []).find((x) => x.variant_id === shared.variant) : null;
  const now = v || p;
  return {
    sku: shared.sku,
    variant: shared.variant || null,
    title: p ? p.title : shared.title,
    variantName: shared.variant ? variantName(shared.sku, shared.variant) : "",
    price: now ? now.price_minor : shared.price_minor,
    currency: p ? p.currency : shared.currency,
    sharedPrice: shared.price_minor,
    image: (p && p.image) || shared.image || "",
    inStock: now ? now.in_stock !== false : true,
    options: hasVariants(p),
    // "From" like the grid: a product shared without a variant whose variants cost differently
    from: !v && hasVariants(p) && p.variants.some((x) => x.price_minor !== p.price_minor),
    loaded: Boolean(p),
    add: may("add_line"),
  };
}

function productCard(m) {
  const f = cardFacts(m.product);
  const name = f.variantName ? `${f.title} — ${f.variantName}` : f.title;
  const changed = f.loaded && f.price !== f.sharedPrice && f.currency === m.product.currency;
  const label = f.options ? `Choose options and add ${f.title} to the cart` : `Add ${name} to the cart`;
  return el("div", { class: "chat-card", dataset: { sku: f.sku } },
    f.image ? el("img", { class: "chat-card-img", src: f.image, alt: "", width: 64, height: 64, loading: "lazy" })
      : el("span", { class: "chat-card-img empty", "aria-hidden": "true" }),
    el("div", { class: "chat-card-body" },
      el("button", { type: "button", class: "link chat-card-title", dataset: { fk: `open-${m.message_id}` },
        "aria-label": `View ${name}`, onclick: () => openDetail(f.sku) }, f.title),
      f.variantName ? el("span", { class: "chat-card-variant" }, f.variantName) : null,
      el("span", { class: "chat-card-price" }, f.from ? "From " : "", money(f.price, f.currency),
        changed ? el("span", { class: "chat-card-was" }, ` (${money(f.sharedPrice, m.product.currency)} when shared)`) : null)),
    f.add ? el("button", { type: "button", class: "primary chat-card-add", dataset: { fk: `add-${m.message_id}` },
      disabled: !f.inStock, "aria-label": f.inStock ? label : `${name} is sold out`, "aria-haspopup": f.options ? "dialog" : null,
      onclick: () => quickAdd(f.sku, { heading: name }) }, f.inStock ? "Add" : "Sold out") : null);
}

/** Share a product of the room's catalogue in chat: it arrives as a card for everyone. */
export async function shareProduct(sku, variant = null, text = "") {
  const ok = await send("PostMessage", { text, product: { sku, variant } });
  if (ok) toast("Shared in the chat", "ok", 2500);
  return ok;
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
    who, badge ? " " : null, badge, " ", m.product && !m.text ? el("span", { class: "text muted" }, "shared") : el("span", { class: "text" }, m.text),
    m.product ? productCard(m) : null,
    del || mute || ban ? el("span", { class: "mod" },
      del ? el("button", { type: "button", class: "link", "aria-label": "Delete message", dataset: { fk: `del-${m.message_id}` }, onclick: () => send("DeleteMessage", { message_id: m.message_id }) }, "Delete") : null,
      mute ? el("button", { type: "button", class: "link", "aria-label": `Mute ${nameOf(m.author)}`, dataset: { fk: `mute-${m.message_id}` }, onclick: () => send("MuteMember", { member_id: m.author, until: null }).then((ok) => ok && toast(`${nameOf(m.author)} is muted`)) }, "Mute") : null,
      ban ? el("button", { type: "button", class: "link danger", "aria-label": `Ban ${nameOf(m.author)}`, dataset: { fk: `ban-${m.message_id}` }, onclick: () => confirmBan(m.author) }, "Ban") : null) : null);
}

function quote(words) { return words.map((w) => `“${w}”`).join(", "); }

function untilText(until) {
  if (until === null || until === undefined) return "until a moderator unmutes you";
  return `until ${new Date(until).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}`;
}

/** Fold a moderation event into the view (state.js does the rest) and the page's chat state. */
export function onModerationEvent(v, ev) {
  const mod = v.moderation;
  switch (ev.type) {
    case "WordListSet":
      if (mod) mod[ev.scope === "room" ? "word_list" : "merchant_word_list"] = ev.entries;
      break;
    case "MessageBlocked": {
      if (ev.author_name) ui.names.set(ev.author, ev.author_name);
      if (mod) {
        const window = (mod.auto_mute && mod.auto_mute.window_ms) || 0;
        mod.strikes[ev.author] = [...(mod.strikes[ev.author] || []).filter((t) => t > ev.at - window), ev.at];
        logLine(`${nameOf(ev.author)}: message blocked (${quote(ev.words)}) · strike ${ev.strikes}`);
      }
      if (ev.author === ui.me) {
        chat.ownBlocked += 1;
        setNote(`Not sent: ${quote(ev.words)} ${ev.words.length > 1 ? "aren't" : "isn't"} allowed in this room. Please rephrase — repeated blocked messages get you muted for a while.`, "error");
      }
      break;
    }
    case "MemberMuted":
      if (mod) {
        mod.muted = [...mod.muted.filter((m) => m.member_id !== ev.member_id), { member_id: ev.member_id, until: ev.until }];
        delete mod.strikes[ev.member_id];
        if (ev.reason === "blocked_words") logLine(`${nameOf(ev.member_id)} was muted automatically ${untilText(ev.until)} (repeated blocked words)`);
      }
      if (ev.member_id === ui.me && ev.reason === "blocked_words") {
        setNote(`You're muted ${untilText(ev.until)}: too many of your messages held blocked words.`, "error");
      }
      break;
    case "MemberUnmuted":
      if (mod) mod.muted = mod.muted.filter((m) => m.member_id !== ev.member_id);
      if (ev.member_id === ui.me) setNote(null);
      break;
    case "MessagePosted":
      // my own message went out: under slow mode the next one waits
      if (ev.author === ui.me && v.chat.slow_mode && !may("ignore_slow_mode")) startWait(v.chat.slow_mode * 1000);
      if (ev.product) {
        // a shared product: keep it on the message (state.js copies text fields only) and read
        // the catalogue's current facts for the card
        const posted = v.chat.messages.find((m) => m.message_id === ev.message_id);
        if (posted) posted.product = ev.product;
        ensureProducts([ev.product.sku]);
      }
      break;
    default: break;
  }
}

function logLine(text) {
  chat.log = [{ text, at: Date.now() }, ...chat.log].slice(0, LOG_MAX);
}

function setNote(text, kind = "info") {
  chat.note = text ? { text, kind } : null;
  const box = $("chat-note");
  if (!box) return;
  box.textContent = text || "";
  box.className = `chat-note ${kind}`;
  box.hidden = !text;
}

/** Slow mode: the Send button counts down until the next message may go. */
function startWait(ms) {
  chat.waitUntil = Math.max(chat.waitUntil, Date.now() + ms);
  tick();
}

function tick() {
  clearTimeout(chat.timer);
  const button = $("chat-send");
  const left = Math.ceil((chat.waitUntil - Date.now()) / 1000);
  if (!button) return;
  if (left > 0) {
    button.disabled = true;
    button.textContent = `Wait ${left} s`;
    button.dataset.wait = String(left);
    const cd = $("chat-countdown");
    if (cd) { cd.hidden = false; cd.textContent = `Slow mode: you can send again in ${left} s. Your message stays in the box.`; }
    chat.timer = setTimeout(tick, 250);
    return;
  }
  button.disabled = false;
  button.textContent = "Send";
  delete button.dataset.wait;
  const cd = $("chat-countdown");
  if (cd) { cd.hidden = true; cd.textContent = ""; }
}

async function submitMessage(input) {
  const text = input.value.trim();
  if (!text || Date.now() < chat.waitUntil) return;
  const blockedBefore = chat.ownBlocked;
  setNote(null);
  let ok = false;
  try {
    await ui.conn.command("PostMessage", { text });
    ok = chat.ownBlocked === blockedBefore; // acked, but the room may have blocked it
  } catch (err) {
    const wait = /(\d+)\s*s\b/.exec(err.message || "");
    if (err.code === "slow_mode") startWait((wait ? Number(wait[1]) : (ui.view && ui.view.chat.slow_mode) || 1) * 1000);
    else if (err.code === "blocked_word") setNote(`Not sent: ${err.message.replace(/^blocked_word:\s*/, "")}`, "error");
    else if (err.code === "muted") setNote(explain(err), "error");
    else toast(explain(err), "error");
  }
  // sent: clear the box unless they already typed something new; refused: the text stays
  if (ok && input.value.trim() === text) { input.value = ""; saveDraft(""); }
}

// ---- chat rules (staff) ----------------------------------------------------------------------
const ACTIONS = { block: "Block", mask: "Hide as •••" };

function setRoomWords(entries) {
  return send("SetRoomWordList", { entries });
}

function renderRules() {
  const box = $("word-rules");
  if (!box) return;
  const mod = ui.view && ui.view.moderation;
  const show = Boolean(mod) && may("set_room_word_list");
  box.hidden = !show;
  if (!show) return;
  const words = mod.word_list;
  const muted = mod.muted.filter((m) => m.until === null || m.until > Date.now());
  region("word-rules", [words, mod.merchant_word_list.length, muted, chat.log.map((l) => l.text)], () => {
    redraw($("word-list"), words.length
      ? words.map((w) => el("li", { class: "chip word", dataset: { word: w.word } },
        el("span", {}, w.word), " ", el("span", { class: "muted" }, ACTIONS[w.action] || w.action), " ",
        el("button", { type: "button", class: "link", "aria-label": `Remove ${w.word}`, dataset: { fk: `rm-${w.word}` },
          onclick: () => setRoomWords(words.filter((x) => x.word !== w.word)) }, "Remove")))
      : [el("li", { class: "empty muted" }, "No words yet. Add one below.")]);
    const shop = mod.merchant_word_list.length;
    $("shop-words").textContent = shop ? `The store also blocks or hides ${shop} word${shop === 1 ? "" : "s"} in every room.` : "";
    redraw($("mod-log"),
      muted.map((m) => el("li", { dataset: { muted: m.member_id } }, `${nameOf(m.member_id)} is muted ${untilText(m.until)} `,
        el("button", { type: "button", class: "link", dataset: { fk: `unmute-${m.member_id}` }, onclick: () => send("UnmuteMember", { member_id: m.member_id }) }, "Unmute"))),
      chat.log.map((l) => el("li", { class: "muted" }, l.text)));
  });
}

function wireRules() {
  const panel = $("chat-panel");
  if (!panel || $("word-rules")) return;
  const input = el("input", { id: "word-input", maxlength: "40", autocomplete: "off", placeholder: "A word or short phrase" });
  const action = el("select", { id: "word-action", "aria-label": "What happens to messages with it" },
    ...Object.entries(ACTIONS).map(([value, label]) => el("option", { value }, label)));
  const form = el("form", { id: "word-form", class: "row" },
    el("label", { for: "word-input", class: "sr-only" }, "Word to add"), input, action,
    el("button", { type: "submit" }, "Add"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const word = input.value.trim();
    if (!word) return;
    const words = (ui.view && ui.view.moderation && ui.view.moderation.word_list) || [];
    const entries = [...words.filter((w) => w.word !== word.toLowerCase()), { word, action: action.value }];
    if (await setRoomWords(entries)) input.value = "";
  });
  panel.append(el("details", { id: "word-rules", class: "word-rules", hidden: true },
    el("summary", {}, "Chat rules"),
    el("p", { class: "hint" }, "Messages with these words are refused (Block) or shown with the word hidden (Hide). Capitals, accents and stretched letters don't get around it. Three blocked messages in ten minutes mute a viewer for five."),
    el("ul", { id: "word-list", class: "chips" }), form,
    el("p", { id: "shop-words", class: "hint" }),
    el("h3", { class: "sub" }, "Recent"),
    el("ul", { id: "mod-log", class: "mod-log" })));
}

export function renderChat() {
  const v = ui.view;
  const tools = [may("delete_message"), may("delete_any_message"), may("mute_member"), may("ban")];
  const msgs = v.chat.messages;
  const sig = (m) => [m.text, m.author_name, m.author_role, tools, m.product ? cardFacts(m.product) : null];
  region("chat", [msgs.map((m) => [m.message_id, sig(m)])], () => {
    const list = $("messages");
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
    keyed(list, msgs, { key: (m) => m.message_id, sig, render: message });
    if (atBottom || msgs.length < 8) list.scrollTop = list.scrollHeight;
  });
  renderShareButton();
  renderRules();
  const parts = [];
  if (v.muted && (v.muted.until === null || v.muted.until === undefined || v.muted.until > Date.now())) parts.push(`You are muted ${untilText(v.muted.until)}.`);
  if (v.chat.slow_mode && !may("ignore_slow_mode")) parts.push(`Slow mode: one message every ${v.chat.slow_mode} s.`);
  else if (v.chat.slow_mode) parts.push(`Slow mode is on (${v.chat.slow_mode} s) for the audience.`);
  region("chat-notice", parts, () => {
    const notice = $("slow-notice");
    notice.textContent = parts.join(" ");
    notice.hidden = !parts.length;
  });
}

/** "Share … in chat" under the chat box while a product of the catalogue is open. */
function renderShareButton() {
  const button = $("chat-share");
  if (!button) return;
  const p = ui.detail ? ui.products.get(ui.detail) : null;
  const show = Boolean(p) && may("post_message");
  region("chat-share", [show, p && p.sku, p && p.title], () => {
    button.hidden = !show;
    if (show) button.textContent = `Share ${p.title} in chat`;
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
  const form = $("chat-form");
  const s = drafts();
  const saved = s ? s.getItem(DRAFT_KEY) : null;
  if (saved && !input.value) input.value = saved;
  input.addEventListener("input", () => saveDraft(input.value));
  const button = form.querySelector("button[type=submit]");
  if (button) button.id = "chat-send";
  form.after(el("button", { type: "button", id: "chat-share", class: "chat-share", hidden: true,
    onclick: () => { if (ui.detail) shareProduct(ui.detail); } }),
  el("p", { id: "chat-countdown", class: "chat-countdown", role: "status", "aria-live": "polite", hidden: true }),
    el("p", { id: "chat-note", class: "chat-note", role: "status", "aria-live": "polite", hidden: true }));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submitMessage(input);
  });
  wireRules();
  const bar = $("reaction-bar");
  for (const emoji of REACTIONS) {
    bar.append(el("button", { type: "button", class: "react", "aria-label": `React ${emoji}`,
      onclick: () => { ui.conn.signal("React", { emoji }); burst({ [emoji]: 1 }); } }, emoji));
  }
}
