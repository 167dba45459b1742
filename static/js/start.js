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
  const device = deviceSecret();
  if (device) body.device = device;
  if (cfg.embed && cfg.parent_origin) body.parent = cfg.parent_origin;
  try {
    const room = await api("/api/v1/shopper-rooms", { method: "POST", body });
    localStorage.setItem("coshop.name", name);
    saveMember(room.room_id, { token: room.host.token, member_id: room.host.member_id, name: room.host.name, role: "host", title: room.title });
    saveInvite(room.room_id, room.invite);
    try { localStorage.setItem(STARTED, JSON.stringify({ room_id: room.room_id, title: room.title })); } catch { /* full */ }
    keepManageUrl(room);
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
