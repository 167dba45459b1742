// Landing page: start a room (for the demo shop, when this server allows it) and "Your rooms".
//
// "Your rooms" comes from the server: this browser proves its device secret (static/js/device.js,
// the same one the join page uses) to POST /api/v1/me/rooms and gets the rooms it belongs to,
// hosted ones first. Opening one asks for a fresh member token (the old one may have expired),
// falling back to the one this browser kept.
import { api, el, formsReady, loadMember, saveInvite, saveMember } from "./util.js";
import { deviceSecret, existingDevice, keepManageUrl } from "./device.js";

const form = document.getElementById("create-form");
if (form) {
  const error = document.getElementById("create-error");
  const name = document.getElementById("host-name");
  if (!name.value) name.value = localStorage.getItem("coshop.name") || "";
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    const data = new FormData(form);
    const hostName = String(data.get("host_name") || "").trim();
    if (!hostName) {
      error.textContent = "Please enter your name.";
      error.hidden = false;
      name.focus();
      return;
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const title = String(data.get("title") || "").trim() || "Shopping together";
      const device = deviceSecret();
      const body = { kind: data.get("kind"), title, host_name: hostName };
      if (device) body.device = device;
      const room = await api("/api/v1/rooms", { method: "POST", body });
      localStorage.setItem("coshop.name", hostName);
      saveMember(room.room_id, { token: room.host.token, member_id: room.host.member_id, name: hostName, role: "host", title: room.title || title });
      saveInvite(room.room_id, room.invite);
      keepManageUrl(room);
      // Tie the new room to this browser, so "Your rooms" lists it here later.
      if (device) {
        try {
          await api(`/api/v1/me/rooms/${encodeURIComponent(room.room_id)}/claim`, { method: "POST", body: { device }, token: room.host.token });
        } catch { /* the room works without it; it just won't be listed */ }
      }
      location.assign(`/r/${encodeURIComponent(room.room_id)}`);
    } catch (err) {
      error.textContent = `Could not create the room: ${err.message}`;
      error.hidden = false;
      button.disabled = false;
    }
  });
  formsReady(form);
}

const startLink = document.getElementById("my-rooms-start");
if (startLink) {
  startLink.addEventListener("click", (event) => {
    event.preventDefault();
    const first = document.getElementById("title") || document.getElementById("host-name");
    first.scrollIntoView({ block: "center" });
    first.focus();
  });
}

const ROLE = {
  host: "You host it", cohost: "Co-host", moderator: "Moderator", associate: "Store staff",
  member: "Member", viewer: "Viewer",
};
const STATUS = { open: "Open", checking_out: "Checking out", left: "You left", closed: "Closed" };

function ago(ms) {
  const minutes = Math.round((Date.now() - ms) / 60000);
  const fmt = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  if (Math.abs(minutes) < 60) return fmt.format(-minutes, "minute");
  const hours = Math.round(minutes / 60);
  if (hours < 48) return fmt.format(-hours, "hour");
  return fmt.format(-Math.round(hours / 24), "day");
}

async function reopen(room, button, device) {
  button.disabled = true;
  button.textContent = "Opening…";
  const kept = loadMember(room.room_id);
  try {
    const fresh = await api(`/api/v1/me/rooms/${encodeURIComponent(room.room_id)}/token`, { method: "POST", body: { device } });
    saveMember(room.room_id, { token: fresh.token, member_id: fresh.member_id, name: fresh.name, role: fresh.role, title: fresh.title });
  } catch (err) {
    if (!kept) {
      const why = { banned: "You can't go back to this room.", kicked: "A host removed you from this room.",
        left_room: "You left this room. Open an invite link to come back." }[err.code];
      button.replaceWith(el("span", { class: "error", role: "alert" }, why || "This room can't be opened right now. Try again later."));
      return;
    }
  }
  location.assign(room.url);
}

function roomItem(room, device) {
  const meta = [room.shop, STATUS[room.status] || "", room.status === "closed" ? "" : `active ${ago(room.last_activity)}`]
    .filter(Boolean).join(" · ");
  const open = el("button", { type: "button", class: room.role === "host" ? "primary" : "", "aria-label": `Open ${room.title}` },
    room.status === "closed" ? "Closed" : "Open");
  if (room.status === "closed") open.disabled = true;
  else open.addEventListener("click", () => reopen(room, open, device));
  return el("li", { class: room.status === "closed" ? "closed" : "", dataset: { role: room.role || "", status: room.status } },
    el("div", { class: "room-main" },
      el("span", { class: "room-title" }, room.title),
      room.role ? el("span", { class: "badge" }, ROLE[room.role] || "Member") : null,
      el("span", { class: "room-meta" }, meta)),
    open);
}

async function listRooms() {
  const box = document.getElementById("my-rooms");
  if (!box) return;
  const list = document.getElementById("my-rooms-list");
  const status = document.getElementById("my-rooms-status");
  const empty = document.getElementById("my-rooms-empty");
  const device = existingDevice();
  let rooms = [];
  if (device) {
    try {
      rooms = (await api("/api/v1/me/rooms", { method: "POST", body: { device } })).rooms || [];
    } catch {
      status.textContent = "We couldn't load your rooms just now. Reload the page to try again.";
      box.setAttribute("aria-busy", "false");
      return;
    }
  }
  list.replaceChildren(...rooms.map((room) => roomItem(room, device)));
  list.hidden = !rooms.length;
  empty.hidden = Boolean(rooms.length);
  status.textContent = rooms.length ? `${rooms.length} ${rooms.length === 1 ? "room" : "rooms"} on this device` : "";
  status.hidden = !rooms.length;
  box.setAttribute("aria-busy", "false");
}
listRooms();
