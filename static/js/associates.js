// The store associates' page (/associates#key=as_…): the store's active shopper rooms, the ones
// where the shopper asked for help first, each with "Join" (a one-use invite with the associate
// role, server/api/stores.py). The key comes in the link's fragment (never sent to a server),
// leaves the address bar at once and stays in this browser, so the associate opens the page
// again from the home screen.
import { api, clear, colourFor, el, initials, money } from "./util.js";

const KEY = "coshop.associate.key";
const REFRESH_MS = 15000;
const $ = (id) => document.getElementById(id);
let timer = null;

function takeKeyFromFragment() {
  const match = /(?:^#|&)key=([A-Za-z0-9_-]+)/.exec(location.hash);
  if (!match) return;
  try { localStorage.setItem(KEY, match[1]); } catch { sessionStorage.setItem(KEY, match[1]); }
  history.replaceState(null, "", location.pathname);
}

function savedKey() {
  try { return localStorage.getItem(KEY) || sessionStorage.getItem(KEY); } catch { return sessionStorage.getItem(KEY); }
}

function forgetKey() {
  try { localStorage.removeItem(KEY); } catch { /* private mode */ }
  sessionStorage.removeItem(KEY);
}

const clock = (ms) => new Date(ms).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });

function ago(ms) {
  const minutes = Math.max(0, Math.round((Date.now() - ms) / 60000));
  if (minutes < 1) return "just now";
  if (minutes === 1) return "1 min ago";
  if (minutes < 60) return `${minutes} min ago`;
  return `at ${clock(ms)}`;
}

function cartText(room) {
  if (!room.cart_units) return "Cart empty";
  const totals = Object.entries(room.cart_totals).map(([c, m]) => money(m, c)).join(" + ");
  return `${room.cart_units} item${room.cart_units === 1 ? "" : "s"} · ${totals}`;
}

function showNoKey(text) {
  $("rooms-section").hidden = true;
  $("no-key").hidden = false;
  if (text) $("no-key-text").textContent = text;
  $("refresh").hidden = true;
}

async function join(room, button) {
  button.disabled = true;
  button.textContent = "Opening…";
  try {
    const invite = await api(`/api/v1/store/rooms/${encodeURIComponent(room.room_id)}/join`, { method: "POST", token: savedKey() });
    location.assign(invite.url);
  } catch (err) {
    button.disabled = false;
    button.textContent = "Try again";
    $("rooms-error").textContent = err.status === 404 ? `${room.shopper}'s room has closed.` : `Could not open the room: ${err.message}`;
    $("rooms-error").hidden = false;
  }
}

function roomItem(room, me) {
  const help = room.help_requested_at !== null;
  const back = room.staff.includes(me); // already with this shopper: the same member again
  const button = el("button", { type: "button", class: `${back ? "" : "primary "}join`, "aria-label": `${back ? "Back to" : "Join"} ${room.shopper}'s room` }, back ? "Back to room" : "Join");
  button.addEventListener("click", () => join(room, button));
  const avatar = el("span", { class: "avatar", "aria-hidden": "true" }, initials(room.shopper));
  avatar.style.background = colourFor(room.room_id); // CSSOM: allowed by the CSP
  const facts = [
    `${room.people} ${room.people === 1 ? "person" : "people"}`,
    cartText(room),
  ];
  if (room.checking_out) facts.push("Checking out");
  facts.push(room.staff.length ? `With ${room.staff.join(", ")}` : "No associate yet");
  return el("li", { class: `store-room${help ? " needs-help" : ""}`, dataset: { room: room.room_id } },
    avatar,
    el("h2", {}, room.shopper, help ? el("span", { class: "badge-help" }, "Asked for help") : null),
    el("p", { class: "meta" }, help ? `Asked for help ${ago(room.help_requested_at)} · started ${clock(room.started_at)}` : `Started ${ago(room.started_at)}`),
    button,
    el("ul", { class: "facts", "aria-label": "Room details" }, facts.map((f) => el("li", { class: "fact" }, f))));
}

async function load() {
  const key = savedKey();
  if (!key) { showNoKey(null); return; }
  try {
    const data = await api("/api/v1/store/rooms", { token: key });
    $("no-key").hidden = true;
    $("rooms-section").hidden = false;
    $("rooms-error").hidden = true;
    $("store-name").textContent = data.store.name;
    $("associate-name").textContent = `Signed in as ${data.associate.name}`;
    const logo = $("store-logo");
    if (data.store.logo_url) { logo.src = data.store.logo_url; logo.hidden = false; } else logo.hidden = true;
    document.title = `${data.store.name} · Store associates`;
    const list = clear($("store-rooms"));
    for (const room of data.rooms) list.append(roomItem(room, data.associate.name));
    $("rooms-empty").hidden = data.rooms.length > 0;
    const waiting = data.rooms.filter((r) => r.help_requested_at !== null).length;
    $("updated").textContent = `${data.rooms.length} room${data.rooms.length === 1 ? "" : "s"}${waiting ? `, ${waiting} asking for help` : ""} · updated ${clock(Date.now())}`;
  } catch (err) {
    if (err.status === 401) {
      forgetKey();
      showNoKey("This associate link no longer works (the store switched it off). Ask your store manager for a new one.");
      return;
    }
    $("rooms-error").textContent = `Could not load the rooms: ${err.message}. Retrying…`;
    $("rooms-error").hidden = false;
  }
}

function schedule() {
  clearTimeout(timer);
  timer = setTimeout(async () => { if (!document.hidden) await load(); schedule(); }, REFRESH_MS);
}

takeKeyFromFragment();
$("refresh").addEventListener("click", () => load());
document.addEventListener("visibilitychange", () => { if (!document.hidden) load(); });
load().then(schedule);
