// Landing page: create a room for the demo merchant, keep the host token, go to the room; list
// the rooms this browser is in ("Your rooms", from the member tokens kept in localStorage).
import { api, el, formsReady, saveInvite, saveMember } from "./util.js";

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
      const room = await api("/api/v1/rooms", {
        method: "POST",
        body: { kind: data.get("kind"), title, host_name: hostName },
      });
      localStorage.setItem("coshop.name", hostName);
      saveMember(room.room_id, { token: room.host.token, member_id: room.host.member_id, name: hostName, role: "host", title });
      saveInvite(room.room_id, room.invite);
      location.assign(`/r/${encodeURIComponent(room.room_id)}`);
    } catch (err) {
      error.textContent = `Could not create the room: ${err.message}`;
      error.hidden = false;
      button.disabled = false;
    }
  });
  formsReady(form);
  listRooms();
}

function listRooms() {
  const box = document.getElementById("my-rooms");
  const list = document.getElementById("my-rooms-list");
  if (!box || !list) return;
  const rooms = [];
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const key = localStorage.key(i);
      if (!key || !key.startsWith("coshop.member.")) continue;
      const id = key.slice("coshop.member.".length);
      let info = null;
      try { info = JSON.parse(localStorage.getItem(key) || "null"); } catch { info = null; }
      if (info) rooms.push({ id, title: info.title || "A shopping room", role: info.role });
    }
  } catch { return; }
  for (const r of rooms.slice(0, 10)) {
    list.append(el("li", {}, el("a", { href: `/r/${encodeURIComponent(r.id)}` }, r.title), r.role === "host" ? el("span", { class: "hint" }, " · you host it") : null));
  }
  box.hidden = !rooms.length;
}
