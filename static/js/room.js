// The room page: catalogue, co-browsing, votes and polls, group cart, chat, live stage,
// moderation and checkout, driven by the room's WebSocket (connection.js) and folded into a local
// copy of the server's room view (state.js). All user text goes through textContent (util.el).
import { RoomConnection } from "./connection.js";
import { CloseCode } from "./protocol.js";
import { applyEvent, isStaff } from "./state.js";
import { api, clear, colourFor, config, el, formsReady, initials, loadInvite, loadMember, money, toast } from "./util.js";
import { Embed } from "./embedded.js";

const cfg = config();
const $ = (id) => document.getElementById(id);
const REACTIONS = ["❤️", "🔥", "👍", "👏", "😮", "🛒"];
const ROLE_LABEL = { host: "Host", cohost: "Co-host", moderator: "Moderator", associate: "Store staff", member: "", viewer: "" };

const member = loadMember(cfg.room_id);
const ui = {
  view: null,
  me: member ? member.member_id : null,
  token: member ? member.token : null,
  products: new Map(),     // sku -> product (catalogue REST)
  grid: [],                // skus shown in the grid
  query: "",
  detail: null,            // sku open in the detail panel
  presence: new Map(),     // member id -> {id, name, viewing}
  names: new Map(),        // member id -> display name (roster, presence, joins)
  followLocal: true,       // a member may opt out of following the host
  pollPicks: [],
  online: 0,
  lastSent: 0,
  payMode: "host_pays",    // the host's checkout choices survive re-renders
  allOrNothing: false,
  freezing: false,         // a checkout request is in flight
  paying: false,           // opening the payment page
  outcome: null,           // how the last order ended: {order_id, outcome, currency, shares}
  returned: null,          // "success" | "cancel" from the payment provider's return page
};
const embed = new Embed(cfg.parent_origin);

// What this member may do comes from the server (view.you.may, rooms/permissions.py): the page
// never guesses from role names. may_if says what an allowed action waits for (a phase, the end
// of a mute), so the answer stays right after CartLocked or MemberUnmuted; a new role brings a
// fresh view.
function mutedNow() {
  const m = ui.view && ui.view.muted;
  return Boolean(m) && (m.until === null || m.until === undefined || Date.now() < m.until);
}
function may(action) {
  const you = ui.view && ui.view.you;
  if (!you || !you.may) return false;
  const when = you.may_if && you.may_if[action];
  if (!when) return Boolean(you.may[action]);
  if (when.phases && !when.phases.includes(ui.view.phase)) return false;
  return !(when.unmuted && mutedNow());
}
const isLive = () => cfg.kind === "live";
function nameOf(id) {
  if (id === ui.me) return "You";
  if (id === "system") return "coshop";
  return ui.names.get(id) || "Viewer";
}

// ---- boot --------------------------------------------------------------------------------------
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
  wireForms();
  loadCatalog("");
  readReturnFromCheckout();
  embed.onShare = shareFromPage;
  embed.ready(cfg.room_id);
}

function explain(err) {
  const known = {
    slow_mode: "Slow mode is on: wait a moment before sending again.",
    muted: "A moderator has muted you.",
    cart_locked: "The cart is locked for checkout.",
    rate_limited: "Slow down a little.",
    forbidden: "You are not allowed to do that here.",
  };
  return known[err.code] || err.message || err.code;
}

async function send(name, args) {
  try {
    return await ui.conn.command(name, args);
  } catch (err) {
    toast(explain(err), "error");
    return null;
  }
}

// ---- connection state --------------------------------------------------------------------------
/** Another tab or window of this member took the connection (close 4409). This tab stays quiet
 * until the person takes it back: reconnecting by itself would replace the other tab, which would
 * do the same, forever. */
function showReplaced() {
  const box = $("replaced");
  clear(box);
  box.append(
    el("p", {}, "This room is open in another tab or window."),
    el("button", { type: "button", class: "primary", onclick: takeOver }, "Use here"));
  box.hidden = false;
  $("conn").textContent = "Open in another tab";
}

function takeOver() {
  const box = $("replaced");
  box.hidden = true;
  clear(box);
  ui.conn.resume();
}

function renderConn({ state, pending }) {
  const box = $("conn");
  const labels = { connecting: "Connecting…", online: "Live", reconnecting: "Reconnecting…", offline: "Offline", closed: "Disconnected" };
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
  renderAll();
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
    if (ev.type === "Announced" && isLive()) toast(`📣 ${ev.text}`, "info", 8000);
    if (ev.type === "OrderSettled") toast(ev.outcome === "paid" ? "The order is paid. A fresh cart is open." : "The checkout was cancelled: nothing was charged.", ev.outcome === "paid" ? "ok" : "warn", 10000);
    if ((ev.type === "MemberBanned" || ev.type === "MemberKicked") && ev.member_id === ui.me) toast("You were removed from the room.", "error", 60000);
  }
  // state.js rebuilds "you" from our own MemberJoined without "may": read the server's view again
  if (v._stale || (v.you && !v.you.may)) { v._stale = false; refreshSnapshot(); }
  renderAll();
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
      renderAll();
    } else if (you && !you.may && snap.view.you && snap.view.you.role === you.role) {
      // an older or newer view still says what this role may do (may_if covers phase and mute)
      ui.view.you = snap.view.you;
      renderAll();
    }
  } catch { /* the next snapshot corrects it */ } finally { refreshing = false; }
  if (ui.view && ui.view.you && !ui.view.you.may) setTimeout(refreshSnapshot, 1000);
}

function onPresence(members) {
  ui.presence = new Map(members.map((m) => [m.id, m]));
  for (const m of members) ui.names.set(m.id, m.name);
  renderAvatars();
  renderGridViewers();
}

function onSignal(frame) {
  ui.names.set(frame.from, frame.from_name);
  const sig = frame.sig || {};
  if (sig.type === "Viewing") {
    const p = ui.presence.get(frame.from) || { id: frame.from, name: frame.from_name, viewing: null };
    p.viewing = sig.sku;
    ui.presence.set(frame.from, p);
    renderAvatars();
    renderGridViewers();
    const v = ui.view;
    if (v && v.follow.mode === "follow_host" && frame.from === v.host_id && ui.followLocal && !may("set_follow_mode") && sig.sku) {
      ensureProducts([sig.sku]);
      openDetail(sig.sku, { quiet: true });
    }
  } else if (sig.type === "React") {
    burst({ [sig.emoji]: 1 });
  }
}

// ---- catalogue ---------------------------------------------------------------------------------
async function loadCatalog(q) {
  ui.query = q;
  const grid = $("grid");
  grid.setAttribute("aria-busy", "true");
  try {
    const qs = new URLSearchParams({ limit: "48" });
    if (q) qs.set("q", q);
    const page = await api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products?${qs}`);
    for (const p of page.items) ui.products.set(p.sku, p);
    ui.grid = page.items.map((p) => p.sku);
  } catch (err) {
    toast(`Could not load products: ${err.message}`, "error");
    ui.grid = [];
  }
  grid.removeAttribute("aria-busy");
  renderGrid();
}

const fetching = new Set();
function ensureProducts(skus) {
  for (const sku of new Set(skus)) {
    if (!sku || ui.products.has(sku) || fetching.has(sku)) continue;
    fetching.add(sku);
    api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products/${encodeURIComponent(sku)}`)
      .then((p) => { ui.products.set(sku, p); renderAll(); })
      .catch(() => {})
      .finally(() => fetching.delete(sku));
  }
}

function productTitle(sku) { const p = ui.products.get(sku); return p ? p.title : sku; }

function voteButtons(sku) {
  const v = ui.view;
  const t = (v && v.votes.tallies[sku]) || { up: 0, down: 0 };
  const mine = (v && v.votes.mine[sku]) || 0;
  const title = productTitle(sku);
  return el("span", { class: "votes" },
    el("button", { type: "button", class: "vote up", "aria-pressed": String(mine === 1), "aria-label": `Vote for ${title} (${t.up} up)`,
      onclick: () => send("Vote", { sku, value: mine === 1 ? 0 : 1 }) }, "▲ ", el("span", { class: "n" }, t.up)),
    el("button", { type: "button", class: "vote down", "aria-pressed": String(mine === -1), "aria-label": `Vote against ${title} (${t.down} down)`,
      onclick: () => send("Vote", { sku, value: mine === -1 ? 0 : -1 }) }, "▼ ", el("span", { class: "n" }, t.down)),
  );
}

function viewersOf(sku) {
  return [...ui.presence.values()].filter((p) => p.viewing === sku && p.id !== ui.me);
}

function avatar(id, name, extra = "") {
  return el("span", { class: `avatar ${extra}`, title: name, style: undefined, dataset: { member: id } }, initials(name));
}

function paintAvatars(root) {
  // colours are set through the CSSOM (CSP forbids inline style attributes)
  for (const node of root.querySelectorAll(".avatar[data-member]")) node.style.background = colourFor(node.dataset.member);
}

function renderGrid() {
  const grid = clear($("grid"));
  if (!ui.grid.length) grid.append(el("li", { class: "empty" }, ui.query ? `No products match “${ui.query}”.` : "No products yet."));
  for (const sku of ui.grid) {
    const p = ui.products.get(sku);
    if (!p) continue;
    const pickable = !$("poll-form").hidden;
    grid.append(el("li", { class: "product", dataset: { sku } },
      el("button", { type: "button", class: "product-open", "aria-label": `View ${p.title}`, onclick: () => openDetail(sku) },
        el("img", { src: p.image || "", alt: "", loading: "lazy", width: 160, height: 120 }),
        el("span", { class: "product-title" }, p.title)),
      el("span", { class: "price" }, money(p.price_minor, p.currency)),
      el("span", { class: "viewers-of", "aria-label": "Looking at this now" }),
      el("div", { class: "product-actions" },
        voteButtons(sku),
        el("button", { type: "button", class: "add", "aria-label": `Add ${p.title} to the cart`, disabled: !p.in_stock || (ui.view !== null && !may("add_line")),
          onclick: () => addToCart(sku) }, p.in_stock ? "Add" : "Sold out"),
        pickable ? el("button", { type: "button", class: "pick", "aria-pressed": String(ui.pollPicks.includes(sku)), "aria-label": `Add ${p.title} to the poll`,
          onclick: () => togglePick(sku) }, "Poll") : null),
    ));
  }
  renderGridViewers();
}

function renderGridViewers() {
  for (const node of document.querySelectorAll(".product[data-sku]")) {
    const box = node.querySelector(".viewers-of");
    clear(box);
    for (const p of viewersOf(node.dataset.sku)) box.append(avatar(p.id, p.name, "small"));
    paintAvatars(box);
  }
  const detail = $("product-detail");
  const box = detail.querySelector(".viewers-of");
  if (box && ui.detail) {
    clear(box);
    const here = viewersOf(ui.detail);
    if (here.length) box.append("Also looking: ", ...here.map((p) => avatar(p.id, p.name, "small")));
    paintAvatars(box);
  }
}

function addToCart(sku, variant = null, quantity = 1) {
  send("AddLine", { sku, variant, quantity, note: "" }).then((ok) => { if (ok) toast(`Added ${productTitle(sku)} to the cart`, "ok", 2500); });
}

function openDetail(sku, { quiet = false } = {}) {
  ui.detail = sku;
  ui.conn.signal("Viewing", { sku }); // followers of the host open what the host opens
  renderDetail();
  const panel = $("product-detail");
  if (!quiet) panel.focus();
}

function closeDetail() {
  ui.detail = null;
  ui.conn.signal("Viewing", { sku: null });
  renderDetail();
}

function renderDetail() {
  const panel = clear($("product-detail"));
  const sku = ui.detail;
  if (!sku) { panel.hidden = true; return; }
  panel.hidden = false;
  const p = ui.products.get(sku);
  if (!p) { panel.append(el("p", {}, "Loading…")); ensureProducts([sku]); return; }
  const qty = el("input", { id: "detail-qty", type: "number", min: 1, max: 99, value: 1, inputmode: "numeric" });
  const variants = p.variants && p.variants.length
    ? el("select", { id: "detail-variant" }, ...p.variants.map((v) => el("option", { value: v.variant_id, disabled: !v.in_stock }, `${v.title} — ${money(v.price_minor, p.currency)}`)))
    : null;
  const staffPush = may("bring_everyone_here");
  const pinned = ui.view && ui.view.stage.pins.includes(sku);
  panel.append(
    el("div", { class: "detail-media" }, el("img", { src: p.image || "", alt: p.title, width: 320, height: 240 })),
    el("div", { class: "detail-body" },
      el("h3", {}, p.title),
      el("p", { class: "price big" }, money(p.price_minor, p.currency),
        p.compare_at_minor ? el("s", { class: "muted" }, ` ${money(p.compare_at_minor, p.currency)}`) : null),
      el("p", {}, p.description || ""),
      el("p", { class: "muted small" }, p.in_stock ? (p.stock != null ? `${p.stock} in stock` : "In stock") : "Out of stock"),
      el("p", { class: "viewers-of" }),
      el("div", { class: "row" },
        variants ? el("label", { for: "detail-variant" }, "Option") : null, variants,
        el("label", { for: "detail-qty" }, "Quantity"), qty,
        el("button", { type: "button", class: "primary", disabled: !p.in_stock || (ui.view !== null && !may("add_line")),
          onclick: () => addToCart(sku, variants ? variants.value : null, Math.max(1, Math.min(99, parseInt(qty.value, 10) || 1))) }, "Add to cart")),
      el("div", { class: "row" }, voteButtons(sku),
        staffPush ? el("button", { type: "button", onclick: () => send("BringEveryoneHere", { sku }).then((ok) => ok && toast("Everyone is looking at this now", "ok")) }, "Bring everyone here") : null,
        isLive() && may(pinned ? "unpin_product" : "pin_product") ? el("button", { type: "button", onclick: () => send(pinned ? "UnpinProduct" : "PinProduct", { sku }) }, pinned ? "Unpin from stage" : "Pin to stage") : null,
        el("button", { type: "button", class: "ghost", onclick: closeDetail }, "Close")),
    ),
  );
  renderGridViewers();
}

// ---- presence and following --------------------------------------------------------------------
function renderAvatars() {
  const list = clear($("avatars"));
  for (const p of ui.presence.values()) {
    const where = p.viewing ? `looking at ${productTitle(p.viewing)}` : "browsing";
    const label = `${p.id === ui.me ? "You" : p.name}, ${where}`;
    list.append(el("li", { title: label, "aria-label": label }, avatar(p.id, p.name, p.id === ui.me ? "me" : "")));
  }
  paintAvatars(list);
}

function renderFollow() {
  const bar = clear($("follow-bar"));
  const v = ui.view;
  if (!v) return;
  const following = v.follow.mode === "follow_host";
  if (may("set_follow_mode")) {
    const box = el("input", { type: "checkbox", id: "follow-toggle", checked: following,
      onchange: (e) => send("SetFollowMode", { mode: e.target.checked ? "follow_host" : "free" }) });
    bar.append(el("label", { for: "follow-toggle", class: "switch" }, box, " Everyone follows me"));
  } else if (following) {
    const box = el("input", { type: "checkbox", id: "follow-local", checked: ui.followLocal,
      onchange: (e) => { ui.followLocal = e.target.checked; } });
    bar.append(el("label", { for: "follow-local", class: "switch" }, box, ` Follow ${nameOf(v.host_id)}`));
  }
}

// ---- cart and checkout -------------------------------------------------------------------------
function renderCart() {
  const v = ui.view;
  $("cart-h").textContent = isLive() && !isStaff(v) ? "Your cart" : isLive() ? "Audience carts" : "Group cart";
  const list = clear($("cart"));
  if (!v.lines.length) list.append(el("li", { class: "empty" }, "The cart is empty. Add products from the list."));
  const totals = new Map();
  const perPayer = new Map();
  const assignable = may("assign_payer") ? v.members : [];
  for (const line of v.lines) {
    const amount = line.price_minor * line.quantity;
    totals.set(line.currency, (totals.get(line.currency) || 0) + amount);
    perPayer.set(line.payer, (perPayer.get(line.payer) || 0) + amount);
    const own = line.added_by === ui.me || may("edit_any_line");
    const editable = may("set_quantity") && own;
    const payer = may("assign_payer") && assignable.some((m) => m.member_id === line.payer)
      ? el("select", { "aria-label": `Who pays for ${line.title}`, onchange: (e) => send("AssignPayer", { line_id: line.line_id, member_id: e.target.value }) },
        ...assignable.map((m) => el("option", { value: m.member_id, selected: m.member_id === line.payer }, m.member_id === ui.me ? "You" : m.display_name)))
      : el("span", {}, nameOf(line.payer));
    const issue = v.phase !== "open" ? issueFor(line.line_id) : null;
    const unit = v.phase !== "open" ? shopUnitPrice(line.line_id) : null;
    const newAmount = unit != null && unit !== line.price_minor ? unit * line.quantity : null;
    list.append(el("li", { class: `line ${issue ? `has-issue issue-${issue.kind}` : ""}`, dataset: { line: line.line_id, sku: line.sku } },
      el("div", { class: "line-main" },
        el("span", { class: "line-title" }, line.title, line.variant ? ` (${line.variant})` : ""),
        newAmount != null
          ? el("span", { class: "line-price" }, el("s", { class: "muted", "aria-label": `was ${money(amount, line.currency)}` }, money(amount, line.currency)), " ", money(newAmount, line.currency))
          : el("span", { class: "line-price" }, money(amount, line.currency))),
      issue ? el("p", { class: `line-issue ${issue.kind === "price_changed" ? "changed" : "blocking"}`, role: "note" },
        issue.kind === "price_changed" ? "⚠ " : "✖ ", issueText(issue, line.currency)) : null,
      el("div", { class: "line-meta small muted" },
        el("span", {}, `Added by ${nameOf(line.added_by)}`), " · ",
        el("span", { class: "payer" }, "Pays: ", payer),
        may("claim_line") && own && line.payer !== ui.me && !may("assign_payer") ? el("button", { type: "button", class: "link", onclick: () => send("ClaimLine", { line_id: line.line_id }) }, "I'll pay") : null),
      editable ? el("div", { class: "row qty" },
        el("button", { type: "button", "aria-label": `One less ${line.title}`, disabled: line.quantity <= 1,
          onclick: () => send("SetQuantity", { line_id: line.line_id, quantity: line.quantity - 1 }) }, "−"),
        el("span", { class: "q", "aria-label": `Quantity ${line.quantity}` }, line.quantity),
        el("button", { type: "button", "aria-label": `One more ${line.title}`,
          onclick: () => send("SetQuantity", { line_id: line.line_id, quantity: line.quantity + 1 }) }, "+"),
        el("button", { type: "button", class: "link danger", "aria-label": `Remove ${line.title}`, onclick: () => send("RemoveLine", { line_id: line.line_id }) }, "Remove"))
        : el("span", { class: "small muted" }, `Qty ${line.quantity}`),
    ));
  }
  const count = $("nav-cart-count");
  if (count) count.textContent = v.lines.length ? `(${v.lines.length})` : "";
  const total = $("cart-total");
  clear(total);
  const priced = v.phase !== "open" ? pricingOf() : null;
  if (v.lines.length && priced) {
    total.append(el("strong", {}, "Total: ", money(priced.total_minor, priced.currency)), el("span", { class: "small muted" }, " (the shop's prices)"));
  } else if (v.lines.length) {
    total.append(el("strong", {}, "Total: ", [...totals].map(([c, m]) => money(m, c)).join(" + ")));
    if (perPayer.size > 1 || (perPayer.size === 1 && !perPayer.has(ui.me))) {
      const cur = v.lines[0].currency;
      total.append(el("span", { class: "small muted per-payer" }, " (", [...perPayer].map(([id, m]) => `${nameOf(id)} ${money(m, cur)}`).join(", "), ")"));
    }
    total.append(el("span", { class: "small muted" }, " Prices are confirmed by the shop at checkout."));
  }
  renderCheckout();
}

// Share states as the checkout bridge reports them (ShareUpdated.status), in plain words.
const SHARE_LABEL = {
  pending: "has not paid yet", checkout_open: "is on the payment page", authorized: "card authorised",
  paid: "paid", failed: "payment failed", expired: "payment page expired", canceled: "cancelled",
  refunded: "refunded", partially_refunded: "partly refunded",
};
const SHARE_DONE = ["paid", "authorized", "refunded", "partially_refunded"];
const PAY_MODES = [
  ["host_pays", "I pay for everything", "You pay the whole order."],
  ["own_lines", "Each pays their own lines", "Everyone pays for the lines marked “Pays: …” in the cart."],
  ["equal_split", "Split equally", "The shop's total is split equally among the people in the room."],
];

/** One pricing issue in plain words ("Price went from $289.00 to $300.00", "Only 2 left"). */
function issueText(issue, currency) {
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

const pricingOf = () => (ui.view && ui.view.checkout.pricing) || null;

/** The server's snapshot of the locked cart (GET …/checkout) gives each line's price; the room's
 * pricing event only lists what changed. Read it once per snapshot version. */
async function loadSnapshotPrices() {
  const p = pricingOf();
  if (!p || (ui.snapshotPrices && ui.snapshotPrices.version === p.snapshot_version)) return;
  const want = p.snapshot_version;
  try {
    const status = await api(checkoutPath(), { token: ui.token });
    const snap = status && status.snapshot;
    if (snap && snap.version === want) {
      ui.snapshotPrices = { version: want, lines: new Map(snap.lines.map((l) => [l.line_id, l.unit_price_minor])) };
      if (ui.view) renderCart();
    }
  } catch { /* the cart shows the room's prices and the shop's total */ }
}

/** The shop's unit price for a line of the priced cart, when known. */
function shopUnitPrice(lineId) {
  const p = pricingOf();
  const s = ui.snapshotPrices;
  if (p && s && s.version === p.snapshot_version && s.lines.has(lineId)) return s.lines.get(lineId);
  const issue = issueFor(lineId);
  return issue && issue.kind === "price_changed" && issue.price_minor != null ? issue.price_minor : null;
}
function issueFor(lineId) {
  const p = pricingOf();
  return p ? (p.issues || []).find((i) => i.line_id === lineId) || null : null;
}
function checkoutCurrency() {
  const p = pricingOf();
  return (p && p.currency) || (ui.view.lines[0] || {}).currency || ui.lastCurrency || "USD";
}

function renderCheckout() {
  const v = ui.view;
  const box = clear($("checkout"));
  const c = v.checkout;
  const cur = checkoutCurrency();
  const phaseText = { open: "Cart open", locked: "Cart locked for checkout", settling: "Waiting for payments" }[v.phase] || v.phase;
  box.append(el("p", { class: `phase phase-${v.phase}`, id: "checkout-phase" }, phaseText));

  // how the last order ended (this session saw it settle, or came back from the payment page)
  if (ui.outcome && v.phase === "open") {
    const paid = ui.outcome.outcome === "paid";
    box.append(el("div", { class: `banner ${paid ? "ok" : "warn"}`, id: "checkout-result", role: "status" },
      el("strong", {}, paid ? "Order paid — a fresh cart is open." : "Checkout cancelled — nothing was charged."),
      paid ? null : el("span", {}, " The cart is open again; any payment already made is refunded."),
      paid && ui.outcome.shares && ui.outcome.shares.length ? el("ul", { class: "shares done", "aria-label": "Payments in the last order" },
        ...ui.outcome.shares.map((s) => el("li", {}, `${nameOf(s.payer)}: ${SHARE_LABEL[s.status] || s.status} · ${money(s.amount_minor, ui.outcome.currency)}`))) : null));
  } else if (ui.returned && v.phase !== "open" && !(c.shares || []).some((s) => s.payer === ui.me && SHARE_DONE.includes(s.status))) {
    box.append(el("div", { class: `banner ${ui.returned === "success" ? "ok" : "warn"}`, id: "checkout-return", role: "status" },
      ui.returned === "success"
        ? "Thanks — your payment was sent. It shows as paid once the payment provider confirms it."
        : "You left the payment page. Nothing was charged; you can pay again below."));
  }

  // the server's pricing of the locked cart: total and what changed or blocks
  const pricing = c.pricing;
  if (pricing && v.phase !== "open") {
    const issues = pricing.issues || [];
    const blocking = issues.filter((i) => i.kind !== "price_changed");
    const changed = issues.filter((i) => i.kind === "price_changed");
    const titleOf = (lineId) => { const l = v.lines.find((x) => x.line_id === lineId); return l ? l.title : "A product"; };
    box.append(el("div", { class: `pricing ${pricing.ready ? "" : "blocked"}`, id: "pricing", "aria-live": "polite" },
      el("p", { class: "pricing-total" }, "Shop's total: ", el("strong", {}, money(pricing.total_minor, pricing.currency))),
      blocking.length ? el("p", { class: "error small" }, `Can't check out yet: ${blocking.length === 1 ? "one product needs" : `${blocking.length} products need`} a change. Unlock the cart to fix it.`) : null,
      changed.length && v.phase === "locked" ? el("p", { class: "warn-text small" }, `${changed.length === 1 ? "A price has" : "Some prices have"} changed since you added ${changed.length === 1 ? "it" : "them"}.`) : null,
      issues.length ? el("ul", { class: "issues", "aria-label": "What changed" },
        ...issues.map((i) => el("li", { dataset: { line: i.line_id, kind: i.kind } }, el("span", { class: "issue-title" }, titleOf(i.line_id)), ": ", issueText(i, pricing.currency)))) : null));
  }

  // who pays what, live
  if (v.phase === "settling" && c.shares && c.shares.length) {
    const paidCount = c.shares.filter((s) => SHARE_DONE.includes(s.status)).length;
    box.append(el("h3", { class: "shares-h" }, `Payments: ${paidCount} of ${c.shares.length} done`));
    box.append(el("ul", { class: "shares", id: "shares", "aria-label": "Who has paid" },
      ...c.shares.map((s) => el("li", { class: `share status-${s.status}`, dataset: { payer: s.payer, status: s.status } },
        el("span", { class: "share-who" }, nameOf(s.payer)),
        el("span", { class: "share-amount" }, money(s.amount_minor, cur)),
        el("span", { class: `share-status ${SHARE_DONE.includes(s.status) ? "done" : ""}` }, SHARE_DONE.includes(s.status) ? `✔ ${SHARE_LABEL[s.status]}` : SHARE_LABEL[s.status] || s.status)))));
  }

  if (v.phase === "open" && may("check_out") && v.lines.length) box.append(modeChooser(false));
  if (v.phase === "locked") {
    if (may("check_out")) box.append(modeChooser(true));
    else box.append(el("p", { class: "small muted" }, "The host is checking out. The cart can't be changed for now."));
  }
  if (v.phase === "settling" && c.order_id) {
    const mine = (c.shares || []).find((s) => s.payer === ui.me);
    if (mine && !SHARE_DONE.includes(mine.status)) {
      const label = c.shares.length === 1 ? `Pay ${money(mine.amount_minor, cur)}` : `Pay my share (${money(mine.amount_minor, cur)})`;
      box.append(el("button", { type: "button", class: "primary pay", id: "pay-btn", disabled: ui.paying,
        onclick: () => pay(c.order_id) }, ui.paying ? "Opening the payment page…" : label));
      box.append(el("p", { class: "small muted" }, "You pay on the payment provider's page; coshop never sees your card."));
    } else if (mine) {
      box.append(el("p", { class: "ok-text", id: "my-share-done" }, "Your share is paid. Waiting for the others."));
    } else if ((c.shares || []).length) {
      box.append(el("p", { class: "small muted" }, "You have nothing to pay in this order."));
    }
    if (may("cancel_checkout")) box.append(el("button", { type: "button", class: "link danger", onclick: () => cancelCheckout(c.order_id) }, "Cancel checkout"));
  }
  if (c.handoff_url && /^https?:\/\//.test(c.handoff_url)) {
    box.append(el("p", {}, el("a", { href: c.handoff_url, rel: "noopener", target: "_top" }, "Continue to the shop's checkout")));
  }
}

function modeChooser(locked) {
  const v = ui.view;
  const pricing = v.checkout.pricing;
  const changed = locked && pricing && (pricing.issues || []).some((i) => i.kind === "price_changed");
  const mode = el("select", { id: "pay-mode", onchange: (e) => { ui.payMode = e.target.value; renderCheckout(); } },
    ...PAY_MODES.map(([value, label]) => el("option", { value, selected: value === ui.payMode }, label)));
  const aon = el("input", { type: "checkbox", id: "pay-aon", checked: ui.allOrNothing, onchange: (e) => { ui.allOrNothing = e.target.checked; } });
  const hint = (PAY_MODES.find(([value]) => value === ui.payMode) || PAY_MODES[0])[2];
  return el("div", { class: "mode-chooser" },
    el("div", { class: "row" }, el("label", { for: "pay-mode" }, "Payment"), mode),
    el("p", { class: "small muted", id: "pay-mode-hint" }, hint),
    ui.payMode === "host_pays" ? null : el("label", { for: "pay-aon", class: "switch small" }, aon, " Charge nobody until everyone has paid"),
    changed ? el("p", { class: "small" }, "Checking out again accepts the new prices.") : null,
    el("div", { class: "row" },
      el("button", { type: "button", class: "primary", id: "checkout-btn", disabled: ui.freezing, onclick: startCheckout },
        ui.freezing ? "Checking prices…" : changed ? "Accept prices and check out" : "Check out"),
      locked
        ? may("unlock_cart") ? el("button", { type: "button", onclick: () => send("UnlockCart", {}) }, "Unlock to edit") : null
        : may("lock_cart") ? el("button", { type: "button", onclick: () => send("LockCart", {}) }, "Lock cart") : null,
      locked && may("hand_off") ? el("button", { type: "button", class: "link", onclick: handoff }, "Use the shop's own checkout") : null));
}

const CHECKOUT_ERRORS = {
  payments_unconfigured: "Payments are not set up on this server yet.",
  provider_unavailable: "The payment provider is not reachable. Try again in a moment.",
  handoff_unconfigured: "This shop has no checkout to hand the cart to.",
  cart_not_locked: "Lock the cart first.",
  cart_empty: "The cart is empty.",
  checkout_in_progress: "A checkout is already in progress.",
  snapshot_blocked: "Some products are unavailable or out of stock: unlock the cart, fix it and try again.",
  prices_changed: "Some prices changed since you added them. Check the cart, then check out again to accept them.",
  not_a_payer: "You have nothing to pay in this order.",
  share_settled: "Your share is already settled.",
  order_closed: "This order is closed.",
  host_only: "Only the host can check out.",
};

function checkoutFailed(err) {
  if (err.status === 404 || err.status === 405) toast("Checkout is not available on this server yet.", "warn", 8000);
  else toast(CHECKOUT_ERRORS[err.code] || `Checkout failed: ${err.message}`, ["prices_changed", "snapshot_blocked"].includes(err.code) ? "warn" : "error", 10000);
}

const checkoutPath = (rest = "") => `/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/checkout${rest}`;

async function startCheckout() {
  if (ui.freezing) return;
  ui.freezing = true;
  renderCheckout();
  try {
    // Only the mode travels: the server prices every line from the catalogue.
    await api(checkoutPath(), { method: "POST", token: ui.token, body: { mode: ui.payMode, all_or_nothing: ui.payMode !== "host_pays" && ui.allOrNothing } });
    ui.outcome = null;
  } catch (err) { checkoutFailed(err); } finally {
    ui.freezing = false;
    if (ui.view) renderCheckout();
  }
}

async function cancelCheckout(orderId) {
  if (!window.confirm("Cancel this checkout? Payments already made are refunded and the cart unlocks.")) return;
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
  renderCheckout();
  try {
    const res = await api(checkoutPath(`/${encodeURIComponent(orderId)}/pay`), { method: "POST", token: ui.token, body: {} });
    const url = res && res.url;
    if (!url || !/^https?:\/\//.test(url)) throw Object.assign(new Error("no payment page"), { status: 500 });
    navigateTop(url);
  } catch (err) { checkoutFailed(err); } finally {
    // the page is about to go; if it does not (popup, embed), the button works again
    setTimeout(() => { ui.paying = false; if (ui.view) renderCheckout(); }, 3000);
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
function readReturnFromCheckout() {
  const params = new URLSearchParams(location.search);
  const result = params.get("checkout");
  if (result !== "success" && result !== "cancel") return;
  ui.returned = result;
  params.delete("checkout");
  const rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? `?${rest}` : "") + location.hash);
  if (result === "cancel") toast("Payment cancelled. Nothing was charged; you can try again.", "warn", 10000);
}

/** After coming back from the payment page, learn how the latest order ended (it may be settled). */
async function checkReturnedOrder() {
  if (!ui.returned || ui.returnChecked) return;
  ui.returnChecked = true;
  try {
    const status = await api(checkoutPath(), { token: ui.token });
    const order = status && status.order;
    const mine = order && order.shares.find((s) => s.payer === ui.me);
    if (ui.returned === "success" && order && order.status === "collecting" && mine && !SHARE_DONE.includes(mine.status)) {
      toast("Payment sent — waiting for the provider's confirmation.", "ok", 8000);
    }
    if (order && ui.view && ui.view.phase === "open" && ["paid", "void"].includes(order.status) && !ui.outcome) {
      ui.outcome = { order_id: order.order_id, outcome: order.status, currency: order.currency,
        shares: order.shares.map((s) => ({ payer: s.payer, status: s.status, amount_minor: s.amount_minor })) };
      renderCheckout();
    }
  } catch { /* the room's events tell the rest */ }
}

function onCheckoutEvent(ev) {
  const v = ui.view;
  if (ev.type === "SettlementBegan") { ui.outcome = null; ui.returned = null; }
  if (ev.type === "CartLocked" || ev.type === "LineAdded") ui.outcome = null;
  if (ev.type === "ShareUpdated" && ev.status === "paid" && ev.order_id === v.checkout.order_id) {
    toast(ev.payer === ui.me ? "Your payment is confirmed ✔" : `${nameOf(ev.payer)} paid their share`, "ok", 5000);
  }
  if (ev.type === "PricingReported") {
    loadSnapshotPrices();
    const n = (ev.issues || []).length;
    if (n && !may("check_out")) toast(ev.ready ? "The shop's prices changed: see the cart." : "Some products can't be bought as they are: see the cart.", "warn", 8000);
  }
}

function beforeSettled(ev) {
  // OrderSettled clears the shares in the view: keep them for the "how it ended" banner
  const c = ui.view.checkout;
  if (ev.order_id !== c.order_id) return;
  ui.lastCurrency = checkoutCurrency();
  ui.outcome = { order_id: ev.order_id, outcome: ev.outcome, currency: ui.lastCurrency, shares: (c.shares || []).map((s) => ({ ...s })) };
  ui.returned = null;
}

// ---- polls -------------------------------------------------------------------------------------
function togglePick(sku) {
  const i = ui.pollPicks.indexOf(sku);
  if (i >= 0) ui.pollPicks.splice(i, 1); else if (ui.pollPicks.length < 6) ui.pollPicks.push(sku);
  renderPollPicks();
  renderGrid();
}

function renderPollPicks() {
  const list = clear($("poll-picks"));
  for (const sku of ui.pollPicks) {
    list.append(el("li", {}, el("button", { type: "button", class: "chip", "aria-label": `Remove ${productTitle(sku)} from the poll`, onclick: () => togglePick(sku) }, productTitle(sku), " ✕")));
  }
}

function renderPolls() {
  const v = ui.view;
  const box = clear($("polls"));
  if (!v.polls.length) box.append(el("p", { class: "muted small" }, "No polls yet."));
  for (const p of [...v.polls].reverse()) {
    const total = p.counts.reduce((a, b) => a + b, 0);
    const canClose = !p.closed && may(p.opened_by === ui.me ? "close_poll" : "close_any_poll");
    const addWinner = el("input", { type: "checkbox", id: `win-${p.poll_id}`, checked: v.phase === "open" });
    box.append(el("fieldset", { class: `poll ${p.closed ? "closed" : ""}`, dataset: { poll: p.poll_id } },
      el("legend", {}, p.question),
      ...p.options.map((sku, i) => {
        const pct = total ? Math.round((p.counts[i] / total) * 100) : 0;
        const bar = el("span", { class: "bar" });
        bar.style.width = `${pct}%`;
        return el("button", { type: "button", class: `option ${p.mine === sku ? "mine" : ""} ${p.winner === sku ? "winner" : ""}`,
          "aria-pressed": String(p.mine === sku), disabled: p.closed,
          onclick: () => send("CastPollVote", { poll_id: p.poll_id, sku }) },
        bar, el("span", { class: "label" }, productTitle(sku), p.winner === sku ? " 🏆" : ""), el("span", { class: "count" }, `${p.counts[i]}`));
      }),
      canClose ? el("div", { class: "row small" },
        el("label", { for: addWinner.id }, addWinner, " add the winner to the cart"),
        el("button", { type: "button", onclick: () => send("ClosePoll", { poll_id: p.poll_id, add_winner_to_cart: addWinner.checked }) }, "Close poll")) : null,
      p.closed ? el("p", { class: "small muted" }, p.winner ? `Winner: ${productTitle(p.winner)}` : "No votes") : null,
    ));
  }
  renderPollPicks();
}

// ---- chat and reactions ------------------------------------------------------------------------
function renderChat() {
  const v = ui.view;
  const list = $("messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  clear(list);
  for (const m of v.chat.messages) {
    const mine = m.author === ui.me;
    const del = may(mine ? "delete_message" : "delete_any_message");
    const mute = !mine && may("mute_member");
    const ban = !mine && may("ban");
    const tools = del || mute || ban
      ? el("span", { class: "mod" },
        del ? el("button", { type: "button", class: "link", "aria-label": "Delete message", onclick: () => send("DeleteMessage", { message_id: m.message_id }) }, "Delete") : null,
        mute ? el("button", { type: "button", class: "link", "aria-label": `Mute ${nameOf(m.author)}`, onclick: () => send("MuteMember", { member_id: m.author, until: null }).then((ok) => ok && toast(`${nameOf(m.author)} is muted`)) }, "Mute") : null,
        ban ? el("button", { type: "button", class: "link danger", "aria-label": `Ban ${nameOf(m.author)}`, onclick: () => confirmBan(m.author) }, "Ban") : null)
      : null;
    const who = el("span", { class: "author", dataset: { member: m.author } }, mine ? "You" : m.author_name || nameOf(m.author));
    who.style.color = colourFor(m.author);
    list.append(el("li", { class: `msg ${mine ? "mine" : ""}`, dataset: { message: m.message_id } },
      who, " ", el("span", { class: "text" }, m.text), tools));
  }
  if (atBottom || v.chat.messages.length < 8) list.scrollTop = list.scrollHeight;
  const notice = $("slow-notice");
  const parts = [];
  if (v.muted) parts.push("You are muted by a moderator.");
  if (v.chat.slow_mode && !may("ignore_slow_mode")) parts.push(`Slow mode: one message every ${v.chat.slow_mode} s.`);
  else if (v.chat.slow_mode) parts.push(`Slow mode is on (${v.chat.slow_mode} s) for the audience.`);
  notice.textContent = parts.join(" ");
  notice.hidden = !parts.length;
}

function confirmBan(memberId) {
  if (window.confirm(`Ban ${nameOf(memberId)} from this room?`)) send("Ban", { member_id: memberId });
}

function renderReactionBar() {
  const bar = clear($("reaction-bar"));
  for (const emoji of REACTIONS) {
    bar.append(el("button", { type: "button", class: "react", "aria-label": `React ${emoji}`,
      onclick: () => { ui.conn.signal("React", { emoji }); burst({ [emoji]: 1 }); } }, emoji));
  }
}

function burst(counts) {
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

// ---- live stage --------------------------------------------------------------------------------
function renderStage() {
  if (!isLive()) return;
  const v = ui.view;
  const stream = clear($("stream"));
  const s = v.stage.stream;
  if (s && s.kind === "hls") {
    stream.append(el("video", { src: s.url, controls: true, playsinline: true, autoplay: true, muted: true, "aria-label": "Live video" }),
      el("p", { class: "small muted" }, "Video not playing? ", el("a", { href: s.url, rel: "noopener", target: "_blank" }, "Open the stream")));
  } else if (s && s.kind === "embed") {
    stream.append(el("iframe", { src: s.url, title: "Live video", allow: "autoplay; fullscreen; picture-in-picture",
      sandbox: "allow-scripts allow-same-origin allow-presentation", referrerpolicy: "no-referrer", loading: "lazy" }));
  } else {
    stream.append(el("p", { class: "muted stream-empty" }, may("set_stream") ? "No video yet: paste an HLS (.m3u8) or embed URL below." : "The host has not started a video."));
  }
  const ann = clear($("announcements"));
  for (const a of v.stage.announcements.slice(-3)) ann.append(el("p", { class: "announcement" }, "📣 ", a.text));
  const pins = clear($("pins"));
  if (!v.stage.pins.length) pins.append(el("li", { class: "muted small" }, "Nothing pinned yet."));
  for (const sku of v.stage.pins) {
    const p = ui.products.get(sku);
    pins.append(el("li", { class: "pin", dataset: { sku } },
      p && p.image ? el("img", { src: p.image, alt: "", width: 64, height: 48 }) : null,
      el("span", { class: "pin-title" }, productTitle(sku)),
      p ? el("span", { class: "price" }, money(p.price_minor, p.currency)) : null,
      el("button", { type: "button", class: "primary", disabled: v.phase !== "open", "aria-label": `Add ${productTitle(sku)} to my cart`, onclick: () => addToCart(sku) }, "Add to my cart"),
      may("unpin_product") ? el("button", { type: "button", class: "link", "aria-label": `Unpin ${productTitle(sku)}`, onclick: () => send("UnpinProduct", { sku }) }, "Unpin") : null));
  }
  renderStageCount();
}

function renderStageCount() {
  const node = $("viewer-count");
  if (!node || !ui.view) return;
  const n = Math.max(ui.online, 1);
  node.textContent = `${n} watching · ${ui.view.member_count} joined`;
}

// ---- invites -----------------------------------------------------------------------------------
function inviteBlock(label, invite) {
  const qr = `/r/${encodeURIComponent(cfg.room_id)}/qr.svg?invite=${encodeURIComponent(invite.token)}`;
  const print = `/r/${encodeURIComponent(cfg.room_id)}/print?invite=${encodeURIComponent(invite.token)}`;
  const id = `inv-${invite.role}-${Math.random().toString(36).slice(2, 6)}`;
  return el("div", { class: "invite-block" },
    el("h3", {}, label),
    el("img", { src: qr, alt: `QR code: ${label}`, width: 180, height: 180, class: "qr-img" }),
    el("label", { for: id }, "Link"),
    el("input", { id, value: invite.url, readonly: true, onfocus: (e) => e.target.select() }),
    el("p", { class: "row" },
      el("button", { type: "button", onclick: () => navigator.clipboard.writeText(invite.url).then(() => toast("Link copied"), () => {}) }, "Copy link"),
      el("a", { href: print, target: "_blank", rel: "noopener" }, "Printable store sign")));
}

async function mintInvite(roleName) {
  try {
    return await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/invites`, { method: "POST", token: ui.token, body: { role: roleName } });
  } catch (err) { toast(`Could not create an invite: ${err.message}`, "error"); return null; }
}

async function openInvites() {
  const body = clear($("invite-body"));
  let invite = loadInvite(cfg.room_id);
  if (!invite) invite = await mintInvite(isLive() ? "viewer" : "member");
  if (invite) body.append(inviteBlock(isLive() ? "Audience invite" : "Invite friends", invite));
  const staff = el("div", { id: "staff-invites" });
  body.append(el("p", { class: "row" },
    may("invite_associate") ? el("button", { type: "button", id: "mint-associate", onclick: async () => { const i = await mintInvite("associate"); if (i) staff.append(inviteBlock("Store staff invite", i)); } }, "Store staff invite") : null,
    isLive() && may("invite_moderator") ? el("button", { type: "button", onclick: async () => { const i = await mintInvite("moderator"); if (i) staff.append(inviteBlock("Moderator invite", i)); } }, "Moderator invite") : null),
  staff);
  $("invite-dialog").showModal();
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

// ---- forms -------------------------------------------------------------------------------------
function wireForms() {
  $("search-form").addEventListener("submit", (e) => { e.preventDefault(); loadCatalog($("search").value.trim()); });
  $("chat-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send("PostMessage", { text });
  });
  $("poll-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("poll-question").value.trim();
    if (!q || ui.pollPicks.length < 2) { toast("Write a question and pick at least two products.", "warn"); return; }
    send("OpenPoll", { question: q, skus: [...ui.pollPicks] }).then((ok) => {
      if (ok) { ui.pollPicks = []; $("poll-question").value = ""; renderPollPicks(); renderGrid(); }
    });
  });
  $("invite-btn").addEventListener("click", openInvites);
  const streamForm = $("stream-form");
  if (streamForm) {
    streamForm.addEventListener("submit", (e) => { e.preventDefault(); const url = $("stream-url").value.trim(); if (url) send("SetStream", { url }); });
    $("stream-clear").addEventListener("click", () => send("SetStream", { url: null }));
    $("announce-form").addEventListener("submit", (e) => {
      e.preventDefault();
      const t = $("announce-text").value.trim();
      if (t) send("Announce", { text: t }).then((ok) => { if (ok) $("announce-text").value = ""; });
    });
    $("slow-mode").addEventListener("change", (e) => send("SetSlowMode", { seconds: parseInt(e.target.value, 10) || 0 }));
  }
  document.addEventListener("keydown", (e) => { if (e.key === "Escape" && ui.detail && !$("invite-dialog").open) closeDetail(); });
  renderReactionBar();
  formsReady();
}

function renderMe() {
  // A newcomer's welcome comes before their MemberJoined event: "you" may arrive a bit later.
  const v = ui.view;
  if (v.you) $("me-name").textContent = `You: ${v.you.display_name}${ROLE_LABEL[v.you.role] ? ` (${ROLE_LABEL[v.you.role]})` : ""}`;
  $("invite-btn").hidden = !may(isLive() ? "invite_viewer" : "invite_member");
  if ($("host-tools")) {
    $("host-tools").hidden = !["set_stream", "announce", "set_slow_mode"].some(may);
    $("stream-form").hidden = !may("set_stream");
    $("announce-form").hidden = !may("announce");
    $("slow-mode").closest(".row").hidden = !may("set_slow_mode");
  }
  $("poll-form").hidden = !may("open_poll");
}

function renderAll() {
  if (!ui.view) return;
  renderMe();
  renderGrid();
  renderDetail();
  renderFollow();
  renderCart();
  renderPolls();
  renderChat();
  renderStage();
  renderAvatars();
}
