// The room page's wiring: the connection (connection.js), the local copy of the room view
// (state.js) and the feature modules, each of which draws only its own region and only when the
// state it shows changed (dom.js). Events go to state first, then to the features that react to
// them (toasts, following the host, the variant sheet for a poll's winner), then one render pass.
import { RoomConnection } from "../connection.js";
import { CloseCode } from "../protocol.js";
import { applyEvent } from "../state.js";
import { api, el, formsReady, toast } from "../util.js";
import { onBuyEvent, renderBuy } from "./buy.js";
import { renderCart } from "./cart.js";
import { loadCatalog, renderGrid, renderGridViewers, wireCatalog } from "./catalog.js";
import { burst, onModerationEvent, renderChat, wireChat } from "./chat.js";
import { beforeSettled, checkReturnedOrder, embed, onCheckoutEvent, readReturnFromCheckout, renderCheckout } from "./checkout.js";
import { $, cfg, ensureProducts, explain, isLive, may, member, nameOf, productTitle, refreshProduct, requestRender, send, setRenderer, ui } from "./ctx.js";
import { onDeadlineEvent, renderDeadline } from "./deadline.js";
import { renderDrops } from "./drops.js";
import { clearToasts, dedupeToasts } from "./dom.js";
import { wireInvites } from "./invites.js";
import { renderLeave } from "./leave.js";
import { renderAvatars, renderFollow, renderMe } from "./members.js";
import { loadSnapshotPrices } from "./pricing.js";
import { onPollClosed, renderPolls, wirePolls } from "./polls.js";
import { openDetail, renderDetailViewers, renderProduct, wireProduct } from "./product.js";
import { renderStage, renderStageCount, wireStage } from "./stage.js";

function renderAll() {
  if (!ui.view) { renderGrid(); renderProduct(); return; }
  renderMe();
  renderLeave(); // the header's "Leave room" (room chrome; what leaving does: leave.js)
  renderFollow();
  renderGrid();
  renderProduct();
  renderDeadline();
  renderCart();
  renderCheckout();
  renderPolls();
  renderChat();
  renderStage();
  renderDrops();
  renderBuy();
  renderAvatars();
}
setRenderer(renderAll);

if (!member) {
  $("gate").hidden = false;
  $("conn").hidden = true;
} else {
  $("main").hidden = false;
  $("me-name").textContent = `You: ${member.name}`;
  boot();
}

function boot() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const conn = new RoomConnection({ url: `${proto}://${location.host}/ws/rooms/${encodeURIComponent(cfg.room_id)}`, token: member.token });
  ui.conn = conn;
  window.coshopRoom = ui; // for debugging from the console (and the browser tests)
  conn.addEventListener("state", (e) => renderConn(e.detail));
  conn.addEventListener("snapshot", (e) => { ui.view = e.detail.view; onSnapshot(); });
  conn.addEventListener("events", (e) => onEvents(e.detail));
  conn.addEventListener("presence", (e) => onPresence(e.detail.members));
  conn.addEventListener("sig", (e) => onSignal(e.detail));
  conn.addEventListener("reactions", (e) => burst(e.detail.counts));
  conn.addEventListener("count", (e) => {
    ui.online = e.detail.online;
    // a live audience does not receive other viewers' joins: the server counts members for it
    if (ui.view && Number.isInteger(e.detail.members)) ui.view.member_count = e.detail.members;
    renderStageCount();
  });
  conn.addEventListener("notice", (e) => toast(e.detail.message || e.detail.code, "warn", 8000));
  conn.addEventListener("error", (e) => {
    if (REMOVED.has(e.detail.code)) { showRemoved(e.detail.code); return; }
    toast(explain(e.detail), "error");
  });
  conn.addEventListener("fatal", async (e) => {
    if (e.detail.code === CloseCode.REPLACED) { showReplaced(); return; }
    if (e.detail.code !== CloseCode.FORBIDDEN) { showRemoved("invalid"); return; }
    // The close can overtake the event that said why (a kick or ban in the same instant): the
    // room's REST view answers a removed member's token with the reason as its code.
    showRemoved(await removalReason());
  });
  dedupeToasts($("toasts"));
  conn.start();
  wireCatalog();
  wireProduct();
  wireChat();
  wirePolls();
  wireStage();
  wireInvites();
  formsReady();
  loadCatalog("");
  readReturnFromCheckout();
  embed.onShare = shareFromPage;
  embed.ready(cfg.room_id);
}

// ---- removed from the room -----------------------------------------------------------------------
const REMOVED = new Set(["kicked", "banned", "not_member", "invite_revoked"]);
const REMOVED_TEXT = {
  kicked: ["You were removed from this room",
    "A host removed you from this room, so the cart, chat and show here are closed to you.",
    "If you think that was a mistake, ask the host for a new invite link: it lets you back in."],
  banned: ["You can't rejoin this room",
    "A host banned you from this room. No invite link for this room will let you back in.",
    "You can still shop the store's catalogue on its own site."],
  not_member: ["You're not in this room any more",
    "This browser's place in the room is gone.",
    "Ask the host for a new invite link to join again."],
  invite_revoked: ["This invite was cancelled",
    "The host cancelled the invite link you joined with before you got in.",
    "Ask the host for a new invite link."],
  gone: ["You're no longer in this room",
    "The room closed your connection: a host removed you, or your place in the room ended.",
    "Ask the host for a new invite link if you want to come back."],
  invalid: ["This room link no longer works",
    "The room may have closed, or the link expired.",
    "Ask whoever sent it for a new link."],
};

/** Why the room refused this member: kicked, banned, not a member… ("gone" when it cannot say). */
async function removalReason() {
  if (ui.removed) return ui.removed;
  try {
    await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}`, { token: ui.token });
  } catch (err) {
    if (REMOVED.has(err.code)) return err.code;
  }
  return "gone";
}

/** The room is over for this person (kicked, banned, link dead): one calm full page that says
 * what happened and what they can do. No live-looking UI stays behind it, no toasts pile up,
 * and the connection stops trying. */
function showRemoved(kind) {
  if (ui.removed) return;
  ui.removed = kind;
  const conn = ui.conn;
  if (conn) {
    conn.stopped = true;
    clearTimeout(conn.timer);
    clearInterval(conn.pingTimer);
    const ws = conn.ws;
    conn.ws = null;
    if (ws) { try { ws.close(); } catch { /* already closing */ } }
  }
  clearToasts($("toasts"));
  for (const d of document.querySelectorAll("dialog[open]")) d.close();
  const [title, what, next] = REMOVED_TEXT[kind] || REMOVED_TEXT.gone;
  const heading = el("h1", { tabindex: "-1" }, title);
  const page = el("section", { id: "removed", class: "removed-screen narrow", "aria-labelledby": "removed-h", dataset: { kind } },
    Object.assign(heading, { id: "removed-h" }),
    el("p", {}, what),
    el("p", {}, next),
    el("p", { class: "row" }, el("a", { class: "button primary", href: "/" }, "Go to the start page")));
  document.body.classList.add("removed");
  document.body.append(page);
  heading.focus();
}

// ---- connection state --------------------------------------------------------------------------
/** Another tab or window of this member took the connection (close 4409). This tab stays quiet
 * until the person takes it back: reconnecting by itself would replace the other tab, which would
 * do the same, forever. */
function showReplaced() {
  const box = $("replaced");
  box.replaceChildren(
    el("p", {}, "This room is open in another tab or window."),
    el("button", { type: "button", class: "primary", onclick: takeOver }, "Use here"));
  box.hidden = false;
  $("conn").textContent = "Open in another tab";
}

function takeOver() {
  const box = $("replaced");
  box.hidden = true;
  box.replaceChildren();
  ui.conn.resume();
}

function renderConn({ state, pending }) {
  const box = $("conn");
  // "Connected", not "Live": the room's one "Live" badge is the live room's
  const labels = { connecting: "Connecting…", online: "Connected", reconnecting: "Reconnecting…", offline: "Offline", closed: "Disconnected" };
  box.dataset.state = state;
  const queued = pending ? ` · ${pending} change${pending === 1 ? "" : "s"} waiting` : "";
  box.textContent = (labels[state] || state) + (state === "online" ? "" : queued);
}

// ---- state and events --------------------------------------------------------------------------
function onSnapshot() {
  const v = ui.view;
  for (const m of v.members) ui.names.set(m.member_id, m.display_name);
  if ($("slow-mode")) $("slow-mode").value = String(v.chat.slow_mode || 0);
  for (const m of v.chat.messages) if (m.author_name) ui.names.set(m.author, m.author_name);
  ensureProducts([...v.lines.map((l) => l.sku), ...v.stage.pins, ...v.polls.flatMap((p) => p.options),
    ...v.chat.messages.filter((m) => m.product).map((m) => m.product.sku)]);
  requestRender();
  checkReturnedOrder();
  loadSnapshotPrices();
}

function onEvents(frames) {
  const v = ui.view;
  if (!v || ui.removed) return;
  for (const f of frames) {
    const ev = f.ev;
    if (ev.type === "OrderSettled") beforeSettled(ev);
    applyEvent(v, ev, ui.me);
    onBuyEvent(ev);
    onModerationEvent(v, ev);
    onCheckoutEvent(ev);
    onDeadlineEvent(ev);
    if (ev.type === "MemberJoined") ui.names.set(ev.member_id, ev.display_name);
    if (ev.type === "MessagePosted" && ev.author_name) ui.names.set(ev.author, ev.author_name);
    if (ev.type === "EveryoneBrought") {
      ensureProducts([ev.sku]);
      if (ev.by !== ui.me) toast(`${nameOf(ev.by)} brought everyone to ${productTitle(ev.sku)}`);
      openDetail(ev.sku, { quiet: true });
    }
    if (ev.type === "FollowModeSet" && ev.by !== ui.me) toast(ev.mode === "follow_host" ? "Follow the host is on" : "Browsing freely");
    if (ev.type === "ProductPinned" || ev.type === "LineAdded") ensureProducts([ev.sku]);
    if (ev.type === "PollOpened") ensureProducts(ev.options);
    if (ev.type === "PollClosed") onPollClosed(ev);
    // the shop priced the cart: read the facts of what is in it (and on screen) again
    if (ev.type === "PricingReported") for (const sku of new Set([...v.lines.map((l) => l.sku), ui.detail].filter(Boolean))) refreshProduct(sku);
    if ((ev.type === "MemberBanned" || ev.type === "MemberKicked") && ev.member_id === ui.me) { showRemoved(ev.type === "MemberBanned" ? "banned" : "kicked"); return; }
  }
  // state.js rebuilds "you" from our own MemberJoined without "may": read the server's view again
  if (v._stale || (v.you && !v.you.may)) { v._stale = false; refreshSnapshot(); }
  requestRender();
}

let refreshing = false;
async function refreshSnapshot() {
  if (refreshing) return;
  refreshing = true;
  try {
    const snap = await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}`, { token: ui.token });
    const you = ui.view && ui.view.you;
    if (ui.conn.seq !== null && snap.seq >= ui.conn.seq) {
      ui.view = snap.view;
      ui.conn.seq = snap.seq;
      requestRender();
    } else if (you && !you.may && snap.view.you && snap.view.you.role === you.role) {
      // an older or newer view still says what this role may do (may_if covers phase and mute)
      ui.view.you = snap.view.you;
      requestRender();
    }
  } catch { /* the next snapshot corrects it */ } finally { refreshing = false; }
  if (ui.view && ui.view.you && !ui.view.you.may) setTimeout(refreshSnapshot, 1000);
}

function onPresence(members) {
  ui.presence = new Map(members.map((m) => [m.member_id, m]));
  for (const m of members) ui.names.set(m.member_id, m.display_name);
  renderAvatars();
  renderGridViewers(false);
  renderDetailViewers();
}

function onSignal(frame) {
  ui.names.set(frame.from, frame.from_name);
  const sig = frame.sig || {};
  if (sig.type === "Viewing") {
    const p = ui.presence.get(frame.from) || { member_id: frame.from, display_name: frame.from_name, role: "member", viewing: null };
    p.viewing = sig.sku;
    ui.presence.set(frame.from, p);
    renderAvatars();
    renderGridViewers(false);
    renderDetailViewers();
    const v = ui.view;
    if (v && v.follow.mode === "follow_host" && frame.from === v.host_id && ui.followLocal && !may("set_follow_mode") && sig.sku) {
      ensureProducts([sig.sku]);
      openDetail(sig.sku, { quiet: true });
    }
  } else if (sig.type === "React") {
    burst({ [sig.emoji]: 1 });
  }
}

// ---- embed (widget) ----------------------------------------------------------------------------
/** The member confirmed sharing the shop page's product (embedded.js). When the shop's catalogue
 * in coshop knows its sku (schema.org sku or productID) it goes to the chat as a product card
 * and opens here; otherwise as a line of text with its name, price and link. */
async function shareFromPage(product) {
  let known = product.sku ? await findProduct(product.sku) : null;
  let variant = null;
  if (!known && product.group) {
    // the page is one variant's (schema.org isVariantOf / inProductGroupWithID): share the group
    known = await findProduct(product.group);
    if (known && (known.variants || []).some((v) => v.variant_id === product.sku)) variant = product.sku;
  }
  if (known) {
    await send("PostMessage", { text: "", product: { sku: known.sku, variant } });
    openDetail(known.sku);
    return;
  }
  const price = product.price ? ` — ${product.price}${product.currency ? ` ${product.currency}` : ""}` : "";
  const text = `Shared from the shop: ${product.name || product.sku || "a product"}${price}${product.url ? ` ${product.url}` : ""}`;
  send("PostMessage", { text: text.slice(0, 1000) });
}

async function findProduct(sku) {
  try {
    const p = await api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products/${encodeURIComponent(sku)}`);
    ui.products.set(p.sku, p);
    return p;
  } catch {
    return null; // not in the catalogue (404) or unreachable: share it as text
  }
}
