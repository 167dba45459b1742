// The room page's wiring: the connection (connection.js), the local copy of the room view
// (state.js) and the feature modules, each of which draws only its own region and only when the
// state it shows changed (dom.js). Events go to state first, then to the features that react to
// them (toasts, following the host, the variant sheet for a poll's winner), then one render pass.
import { RoomConnection } from "../connection.js";
import { CloseCode } from "../protocol.js";
import { applyEvent } from "../state.js";
import { api, el, formsReady, toast } from "../util.js";
import { renderCart } from "./cart.js";
import { loadCatalog, renderGrid, renderGridViewers, wireCatalog } from "./catalog.js";
import { burst, renderChat, wireChat } from "./chat.js";
import { beforeSettled, checkReturnedOrder, embed, onCheckoutEvent, readReturnFromCheckout, renderCheckout } from "./checkout.js";
import { $, cfg, ensureProducts, explain, isLive, may, member, nameOf, productTitle, refreshProduct, requestRender, send, setRenderer, ui } from "./ctx.js";
import { wireInvites } from "./invites.js";
import { renderAvatars, renderFollow, renderMe } from "./members.js";
import { loadSnapshotPrices } from "./pricing.js";
import { onPollClosed, renderPolls, wirePolls } from "./polls.js";
import { openDetail, renderDetailViewers, renderProduct, wireProduct } from "./product.js";
import { renderStage, renderStageCount, wireStage } from "./stage.js";

function renderAll() {
  if (!ui.view) { renderGrid(); renderProduct(); return; }
  renderMe();
  renderFollow();
  renderGrid();
  renderProduct();
  renderCart();
  renderCheckout();
  renderPolls();
  renderChat();
  renderStage();
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
  conn.addEventListener("error", (e) => toast(explain(e.detail), "error"));
  conn.addEventListener("fatal", (e) => {
    if (e.detail.code === CloseCode.REPLACED) { showReplaced(); return; }
    const text = e.detail.code === CloseCode.FORBIDDEN ? "You are no longer a member of this room." : "This room link is no longer valid.";
    toast(text, "error", 60000);
  });
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
  ensureProducts([...v.lines.map((l) => l.sku), ...v.stage.pins, ...v.polls.flatMap((p) => p.options)]);
  requestRender();
  checkReturnedOrder();
  loadSnapshotPrices();
}

function onEvents(frames) {
  const v = ui.view;
  if (!v) return;
  for (const f of frames) {
    const ev = f.ev;
    if (ev.type === "OrderSettled") beforeSettled(ev);
    applyEvent(v, ev, ui.me);
    onCheckoutEvent(ev);
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
    if (ev.type === "Announced" && isLive()) toast(`📣 ${ev.text}`, "info", 8000);
    if ((ev.type === "MemberBanned" || ev.type === "MemberKicked") && ev.member_id === ui.me) toast("You were removed from the room.", "error", 60000);
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
  ui.presence = new Map(members.map((m) => [m.id, m]));
  for (const m of members) ui.names.set(m.id, m.name);
  renderAvatars();
  renderGridViewers(false);
  renderDetailViewers();
}

function onSignal(frame) {
  ui.names.set(frame.from, frame.from_name);
  const sig = frame.sig || {};
  if (sig.type === "Viewing") {
    const p = ui.presence.get(frame.from) || { id: frame.from, name: frame.from_name, viewing: null };
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
function shareFromPage(product) {
  const price = product.price ? ` — ${product.price}${product.currency ? ` ${product.currency}` : ""}` : "";
  const text = `Shared from the shop: ${product.name || product.sku || "a product"}${price}${product.url ? ` ${product.url}` : ""}`;
  send("PostMessage", { text: text.slice(0, 1000) });
  if (!product.sku) return;
  // open it here when the shop's catalogue in coshop knows this sku
  api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products/${encodeURIComponent(product.sku)}`)
    .then((p) => { ui.products.set(p.sku, p); openDetail(p.sku); })
    .catch(() => {});
}
