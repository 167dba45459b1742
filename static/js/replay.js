// The shoppable replay (/r/{room}/replay, docs/live.md "The replay"): the show's recording with
// its moments — pins, announcements, polls and drops, read from the room's log by
// GET /api/v1/rooms/{room}/show/moments and placed at their time in the recording — and "On stage
// now": what was pinned at the moment being watched, each with a variant picker and "Add to
// cart". Adding goes through the room like any viewer's add: this browser joins the room through
// the show's invite if it has not yet (a name, once), opens the room's connection and sends
// AddLine. The cart and checkout stay in the room ("Check out in the room").
import { RoomConnection } from "./connection.js";
import { deviceSecret } from "./device.js";
import { api, config, el, formsReady, loadMember, money, saveMember } from "./util.js";

const cfg = config();
const show = cfg.show;
const ROOM = encodeURIComponent(cfg.room_id);
const $ = (id) => document.getElementById(id);
const video = $("replay-video");

let moments = [];
let duration = 0;
let stageKey = null;
let cards = new Map(); // "sku:drop?" -> its card on stage now (kept while it stays on stage)
let announceKey = null;
let member = loadMember(cfg.room_id);
let conn = null;
let pendingAdd = null;
let resumeAfterJoin = false; // the recording was held for the join form
const products = new Map(); // sku -> product (or a promise of it)

// ---- the player ---------------------------------------------------------------------------

function say(text) { const w = $("replay-wait"); w.textContent = text; w.hidden = !text; }

async function play(url) {
  const isHls = /\.m3u8$/i.test(new URL(url, location.href).pathname);
  video.addEventListener("playing", () => say(""));
  video.addEventListener("loadeddata", () => say(""));
  video.addEventListener("waiting", () => say("Buffering…"));
  video.addEventListener("error", () => say("The replay cannot play in this browser."));
  if (!isHls) { video.src = url; return; }
  try {
    const { default: Hls } = await import("/static/vendor/hls.min.mjs");
    if (Hls.isSupported()) {
      video.dataset.engine = "hls.js";
      const hls = new Hls({ workerPath: "/static/vendor/hls.worker.js" });
      hls.on(Hls.Events.ERROR, (_name, data) => {
        if (data.fatal && data.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
        else if (data.fatal) say("The replay cannot be loaded right now. Try again later.");
      });
      hls.loadSource(url);
      hls.attachMedia(video);
      return;
    }
  } catch { /* no hls.js here: the browser's own HLS below */ }
  video.dataset.engine = "native";
  video.src = url;
}

// ---- moments --------------------------------------------------------------------------------

const MARKED = { pin: "📌", announcement: "📣", poll: "📊", drop: "⚡" };

function clock(ms) {
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${sec}` : `${m}:${sec}`;
}

function label(moment) {
  const p = products.get(moment.sku);
  const title = p && !(p instanceof Promise) ? p.title : moment.sku;
  switch (moment.kind) {
    case "pin": return `Pinned ${title}`;
    case "announcement": return moment.text;
    case "poll": return `Poll: ${moment.question}`;
    case "drop": return `Drop: ${title}${moment.drop && moment.drop.price_minor != null ? ` at ${money(moment.drop.price_minor, moment.drop.currency || (p && p.currency))}` : ""}`;
    default: return moment.kind;
  }
}

function seek(ms) {
  video.currentTime = ms / 1000;
  if (video.paused) video.play().catch(() => {});
  render();
}

const MARKER_PX = 30; // a marker's width: closer moments share one marker (the list keeps each)

/** The timeline's markers: one per moment, or one for moments too close to tell apart (the
 * first emoji of each kind, a count, all their labels; a click goes to the first of them). */
function renderMarkers() {
  const shown = moments.filter((m) => m.kind in MARKED);
  const line = $("timeline");
  for (const node of line.querySelectorAll(".marker")) node.remove();
  const span = duration || Math.max(60_000, ...shown.map((m) => m.t_ms + 30_000));
  const width = line.clientWidth || 320;
  const groups = [];
  for (const m of shown) {
    const left = Math.min(100, (m.t_ms / span) * 100);
    const last = groups[groups.length - 1];
    if (last && ((left - last.left) / 100) * width < MARKER_PX) last.moments.push(m);
    else groups.push({ left, moments: [m] });
  }
  for (const group of groups) {
    const first = group.moments[0];
    const kinds = [...new Set(group.moments.map((m) => m.kind))];
    const said = group.moments.map((m) => label(m)).join("; ");
    const marker = el("button", {
      type: "button", class: "marker", dataset: { kind: kinds.length === 1 ? first.kind : "many", t: String(first.t_ms), count: String(group.moments.length) },
      "aria-label": `${clock(first.t_ms)} ${said}`, title: `${clock(first.t_ms)} ${said}`,
      onclick: () => seek(first.t_ms),
    }, kinds.map((k) => MARKED[k]).join(""), group.moments.length > 1 ? el("span", { class: "count" }, String(group.moments.length)) : null);
    marker.style.left = `${group.left}%`; // CSSOM: the CSP allows no style attribute
    line.append(marker);
  }
}

function renderMoments() {
  const shown = moments.filter((m) => m.kind in MARKED);
  renderMarkers();
  $("moments").replaceChildren(...shown.map((m) => el("li", { dataset: { t: String(m.t_ms) } },
    el("button", { type: "button", onclick: () => seek(m.t_ms) },
      el("span", { class: "at" }, clock(m.t_ms)), el("span", { "aria-hidden": "true" }, MARKED[m.kind]), el("span", {}, label(m))))));
}

/** What stood on stage at ``t`` ms: the pins, the latest announcement (a minute), open drops. */
function stageAt(t) {
  const pins = [];
  const drops = new Map();
  let said = null;
  for (const m of moments) {
    if (m.t_ms > t) break;
    if (m.kind === "pin" && !pins.includes(m.sku)) pins.push(m.sku);
    if (m.kind === "unpin") { const i = pins.indexOf(m.sku); if (i >= 0) pins.splice(i, 1); }
    if (m.kind === "announcement") said = m;
    if (m.kind === "drop" && m.sku) drops.set(m.sku, m.drop || {});
    if (m.kind === "drop_ended" && m.sku) drops.delete(m.sku);
  }
  for (const sku of drops.keys()) if (!pins.includes(sku)) pins.push(sku);
  return { pins, drops, said: said && t - said.t_ms < 60_000 ? said : null };
}

function render() {
  const t = video.currentTime * 1000;
  if (duration) $("playhead").style.left = `${Math.min(100, (t / duration) * 100)}%`;
  // the moment being watched: the latest one begun (within a minute), not every recent one
  let current = null;
  for (const li of $("moments").children) if (Number(li.dataset.t) <= t && t - Number(li.dataset.t) < 60_000) current = li;
  for (const li of $("moments").children) {
    if (li === current) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
  }
  const stage = stageAt(t);
  const said = stage.said ? stage.said.text : "";
  if (said !== announceKey) {
    announceKey = said;
    $("stage-announce").textContent = said ? `📣 ${said}` : "";
    $("stage-announce").hidden = !said;
  }
  // keyed: the cards (and a variant someone picked) change only when the stage does
  const key = stage.pins.map((sku) => `${sku}:${stage.drops.has(sku)}`).join("|");
  if (key === stageKey) return;
  stageKey = key;
  $("stage-empty").hidden = stage.pins.length > 0;
  // a card that stays on stage is the same node: a picked size and "Added to your cart" stay
  const kept = new Map();
  for (const sku of stage.pins) {
    const drop = stage.drops.get(sku);
    const was = cards.get(`${sku}:${Boolean(drop)}`);
    kept.set(`${sku}:${Boolean(drop)}`, was || card(sku, drop));
  }
  cards = kept;
  $("on-stage").replaceChildren(...kept.values());
}

// ---- products -------------------------------------------------------------------------------

async function product(sku) {
  if (!products.has(sku)) {
    const found = api(`/api/v1/merchants/${encodeURIComponent(cfg.merchant_id)}/products/${encodeURIComponent(sku)}`)
      .then((p) => { products.set(sku, p); return p; }, () => { products.delete(sku); return null; });
    products.set(sku, found);
  }
  return products.get(sku);
}

/** A note on a variant's or product's stock, as the room's sheet says it. */
function lowStock(item) {
  return item && item.in_stock && item.stock != null && item.stock <= 5 ? `Only ${item.stock} left` : "";
}

function card(sku, drop) {
  const node = el("li", { class: "stage-product", dataset: { sku } }, el("div", {}), el("div", {}, el("p", {}, "Loading…")));
  product(sku).then((p) => {
    if (!p) { node.lastChild.replaceChildren(el("p", {}, "This product is no longer in the shop.")); return; }
    const all = p.variants || [];
    const inStock = all.filter((v) => v.in_stock);
    let picked = inStock.length ? inStock[0].variant_id : null;
    const price = el("p", { class: "price" });
    const low = el("p", { class: "low" });
    const setFacts = () => {
      const v = all.find((x) => x.variant_id === picked);
      price.textContent = money(v ? v.price_minor : p.price_minor, p.currency);
      low.textContent = lowStock(v || p);
      low.hidden = !low.textContent;
    };
    // the sizes as chips, a sold-out one struck through (the room's sheet shows the same)
    const sizes = all.length ? el("fieldset", { class: "sizes" },
      el("legend", {}, "Choose an option"),
      ...all.map((v) => {
        const input = el("input", { type: "radio", name: `opt-${sku}`, value: v.variant_id, disabled: !v.in_stock,
          checked: v.variant_id === picked, "aria-label": v.in_stock ? v.title : `${v.title}, sold out`,
          onchange: () => { picked = v.variant_id; setFacts(); } });
        return el("label", {}, input, v.title);
      })) : null;
    setFacts();
    const soldOut = !p.in_stock || (all.length > 0 && inStock.length === 0);
    const add = el("button", { type: "button", class: "primary", disabled: soldOut,
      onclick: () => addToCart(sku, picked, add) }, soldOut ? "Sold out" : "Add to cart");
    node.firstChild.replaceWith(p.image ? el("img", { src: p.image, alt: "" }) : el("div", { class: "noimg" }));
    const parts = [el("h3", {}, p.title),
      drop ? el("p", { class: "hint" }, "⚡ Was a drop in the show") : null,
      price, sizes, low, add, el("p", { class: "hint", role: "status", id: `added-${sku}` }, ...(added.has(sku) ? addedNote() : []))];
    node.lastChild.replaceChildren(...parts.filter(Boolean));
  });
  return node;
}

// ---- adding through the room -----------------------------------------------------------------

const added = new Set(); // skus added from this page: a card drawn again still says so
const addedNote = () => ["Added to your cart. ", el("a", { href: show.room_url, id: "checkout-link" }, "Check out in the room")];

function status(sku, ...children) { const n = $(`added-${sku}`); if (n) n.replaceChildren(...children); }

function connect() {
  if (conn) return conn;
  const proto = location.protocol === "https:" ? "wss" : "ws";
  conn = new RoomConnection({ url: `${proto}://${location.host}/ws/rooms/${ROOM}`, token: member.token });
  conn.addEventListener("fatal", () => { conn = null; });
  conn.start();
  return conn;
}

async function addToCart(sku, variant, button) {
  if (!member) { askToJoin({ sku, variant, button }); return; }
  button.disabled = true;
  status(sku, "Adding…");
  try {
    await connect().command("AddLine", { sku, variant, quantity: 1, note: "" });
    added.add(sku);
    status(sku, ...addedNote());
  } catch (err) {
    const known = { out_of_stock: "Sold out now.", banned: "You cannot shop in this room.", rate_limited: "Too fast: try again in a moment." };
    status(sku, known[err && err.code] || `Could not add it: ${(err && (err.message || err.code)) || "try again"}`);
  } finally {
    button.disabled = false;
  }
}

function askToJoin(add) {
  pendingAdd = add;
  // the viewer picked this moment: hold the recording while they type their name, or the
  // stage moves on and the card that would say "Added" is gone when the add lands
  if (!video.paused) { video.pause(); resumeAfterJoin = true; }
  const box = $("replay-join");
  if (!show.join_url) {
    box.replaceChildren(el("p", {}, "Shopping this replay is closed: the show's link was switched off."));
    box.hidden = false;
    return;
  }
  if (box.hidden) {
    const input = el("input", { id: "join-name", maxlength: "60", autocomplete: "nickname", required: true, value: (() => { try { return localStorage.getItem("coshop.name") || ""; } catch { return ""; } })() });
    const error = el("p", { class: "error", role: "alert" });
    const form = el("form", { id: "join-form" },
      el("label", { for: "join-name" }, "Your name, to shop this show"),
      el("div", { class: "row" }, input, el("button", { type: "submit", class: "primary" }, "Join and add")),
      error);
    form.addEventListener("submit", (e) => { e.preventDefault(); join(input.value.trim(), error); });
    box.replaceChildren(form);
    box.hidden = false;
    input.focus();
  }
}

async function join(name, error) {
  if (!name) { error.textContent = "Type a name first."; return; }
  const invite = new URL(show.join_url).searchParams.get("invite");
  const body = { invite, name };
  const device = deviceSecret();
  if (device) body.device = device;
  try {
    const res = await api(`/api/v1/rooms/${ROOM}/join`, { method: "POST", body });
    try { localStorage.setItem("coshop.name", name); } catch { /* blocked */ }
    member = { token: res.token, member_id: res.member_id, name: res.name, role: res.role };
    saveMember(cfg.room_id, member);
    $("replay-join").hidden = true;
    const add = pendingAdd;
    pendingAdd = null;
    if (add) await addToCart(add.sku, add.variant, add.button);
    if (resumeAfterJoin) { resumeAfterJoin = false; video.play().catch(() => {}); }
  } catch (err) {
    error.textContent = err.code === "banned" ? "You cannot join this room." : `Could not join: ${err.message}`;
  }
}

// ---- start ----------------------------------------------------------------------------------

async function start() {
  if (!show || !show.replay_url) return;
  play(show.replay_url);
  try {
    const data = await api(`/api/v1/rooms/${ROOM}/show/moments`);
    moments = data.moments;
  } catch { moments = []; }
  await Promise.all([...new Set(moments.filter((m) => m.sku).map((m) => m.sku))].map(product));
  const known = () => { if (Number.isFinite(video.duration) && video.duration > 0) { duration = video.duration * 1000; renderMoments(); } };
  video.addEventListener("loadedmetadata", known);
  video.addEventListener("durationchange", known);
  video.addEventListener("timeupdate", render);
  video.addEventListener("seeked", render);
  renderMoments();
  known();
  render();
  let width = $("timeline").clientWidth;
  new ResizeObserver(() => { // a turned phone: markers that overlapped may now stand apart
    if ($("timeline").clientWidth !== width) { width = $("timeline").clientWidth; renderMarkers(); }
  }).observe($("timeline"));
  formsReady();
}

start();
