// Start page of a shop (the store's QR short URL /s/<shop>, and the widget's first page
// /start?key=…): each shopper who starts gets a new private room of their own, created with the
// shop's publishable key (POST /api/v1/shopper-rooms); friends join it through its invite link.
// A browser that already started a room here is offered the way back to it first.
import { api, config, el, formsReady, loadMember, saveInvite, saveMember } from "./util.js";
import { deviceSecret, keepManageUrl } from "./device.js";

const cfg = config();
const STARTED = `coshop.started.${cfg.merchant_id}`;
const form = document.getElementById("start-form");
const error = document.getElementById("start-error");
const input = document.getElementById("host-name");

function roomUrl(roomId) {
  const params = new URLSearchParams();
  if (cfg.embed) {
    params.set("embed", "1");
    if (cfg.parent_origin) params.set("parent", cfg.parent_origin);
  }
  const qs = params.toString();
  return `/r/${encodeURIComponent(roomId)}${qs ? `?${qs}` : ""}`;
}

function lastStarted() {
  try {
    const saved = JSON.parse(localStorage.getItem(STARTED) || "null");
    return saved && typeof saved.room_id === "string" && loadMember(saved.room_id) ? saved : null;
  } catch {
    return null;
  }
}

const previous = lastStarted();
if (previous) {
  const box = document.getElementById("continue");
  document.getElementById("continue-text").replaceChildren(
    "You already have a room here: ", el("strong", {}, previous.title || "your room"), ".");
  const link = document.getElementById("continue-link");
  link.href = roomUrl(previous.room_id);
  box.hidden = false;
  document.getElementById("start-h").textContent = "Or start a new room";
}

if (!input.value) input.value = localStorage.getItem("coshop.name") || "";

// A store's branding (server/api/stores.py): on the page a store's QR sign opens, its name and
// logo, and the shopper may ask an associate to join (their room is listed on the associates'
// page). The widget on the shop's website stays the shop's.
let store = null;
async function loadStore() {
  if (cfg.source !== "qr") return;
  try {
    store = await api(`/api/v1/stores/${encodeURIComponent(cfg.merchant_id)}`);
  } catch {
    return; // the page works unbranded
  }
  if (!store.store_mode) return;
  document.getElementById("store-name").textContent = store.name;
  document.getElementById("start-title").textContent = `Shop together at ${store.name}`;
  const logo = document.getElementById("store-logo");
  if (store.logo_url) {
    logo.src = store.logo_url;
    logo.alt = store.name;
    logo.hidden = false;
  }
  document.getElementById("store-head").hidden = false;
  document.getElementById("help-choice").hidden = false;
}
const storeReady = loadStore();

async function listInStore(room) {
  // the room shows on the store's associates' page; a failure here never stops the shopper
  await storeReady;
  if (!store || !store.store_mode) return;
  try {
    await api(`/api/v1/store/rooms/${encodeURIComponent(room.room_id)}`, {
      method: "PUT", token: room.host.token, body: { help: document.getElementById("ask-help").checked },
    });
  } catch { /* the room works without the store's list */ }
}

// In the widget, the link a host shares leads to the shop's page the room was started on (the
// loader passes it as ?page=; only a page of the registered parent origin is used), with the room
// and its invite in the fragment: the widget there opens already in this room (static/embed.js).
// Elsewhere, or if the page is not known, it is coshop's own invite link.
function inviteUrl(room) {
  const fallback = room.invite.url;
  if (!cfg.embed || !cfg.parent_origin || !room.invite.token) return fallback;
  let page;
  try { page = new URL(new URLSearchParams(location.search).get("page") || ""); } catch { return fallback; }
  if (page.origin !== cfg.parent_origin || !/^https?:$/.test(page.protocol)) return fallback;
  page.hash = new URLSearchParams({ "coshop-room": room.room_id, "coshop-invite": room.invite.token }).toString();
  return page.toString();
}

const MESSAGES = {
  origin_not_allowed: () => `This site is not set up for ${cfg.shop}'s shopping rooms yet. Please tell the shop.`,
  invalid_publishable_key: () => `${cfg.shop}'s shopping rooms are switched off right now. Please ask the shop.`,
  rate_limited: () => "Many rooms were just started from your network. Please wait a minute and try again.",
  network: () => "We could not reach the server. Check your connection and try again.",
};

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const name = input.value.trim();
  if (!name) {
    error.textContent = "Please enter your name.";
    error.hidden = false;
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  button.textContent = "Starting your room…";
  const body = { publishable_key: cfg.publishable_key, host_name: name };
  await storeReady;
  // a room started in the store is named after it: the room's header shows the store
  if (store && store.store_mode) body.title = `Shopping at ${store.name}`.slice(0, 80);
  const device = deviceSecret();
  if (device) body.device = device;
  if (cfg.embed && cfg.parent_origin) body.parent = cfg.parent_origin;
  try {
    const room = await api("/api/v1/shopper-rooms", { method: "POST", body });
    localStorage.setItem("coshop.name", name);
    saveMember(room.room_id, { token: room.host.token, member_id: room.host.member_id, name: room.host.name, role: "host", title: room.title });
    saveInvite(room.room_id, { ...room.invite, url: inviteUrl(room) });
    try { localStorage.setItem(STARTED, JSON.stringify({ room_id: room.room_id, title: room.title })); } catch { /* full */ }
    keepManageUrl(room);
    await listInStore(room);
    location.assign(roomUrl(room.room_id));
  } catch (err) {
    const code = err.code || "network";
    const explain = MESSAGES[code] || (() => `Could not start your room: ${err.message}`);
    error.textContent = explain();
    error.hidden = false;
    form.dataset.refused = code;
    button.disabled = false;
    button.textContent = "Start my room";
  }
});
formsReady(form);
