// Landing page: create a room for the demo merchant, keep the host token, go to the room.
import { api, formsReady, saveInvite, saveMember } from "./util.js";

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
      const room = await api("/api/v1/rooms", {
        method: "POST",
        body: { kind: data.get("kind"), title: String(data.get("title") || "").trim() || "Shopping together", host_name: hostName },
      });
      localStorage.setItem("coshop.name", hostName);
      saveMember(room.room_id, { token: room.host.token, member_id: room.host.member_id, name: hostName, role: "host" });
      saveInvite(room.room_id, room.invite);
      location.assign(`/r/${encodeURIComponent(room.room_id)}`);
    } catch (err) {
      error.textContent = `Could not create the room: ${err.message}`;
      error.hidden = false;
      button.disabled = false;
    }
  });
  formsReady(form);
}
