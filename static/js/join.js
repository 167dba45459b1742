// Join page: pick a display name, trade the invite for a member token, go to the room.
import { api, config, el, formsReady, loadMember, saveMember, toast } from "./util.js";

const cfg = config();

function roomUrl() {
  const params = new URLSearchParams();
  if (cfg.embed) {
    params.set("embed", "1");
    if (cfg.parent_origin) params.set("parent", cfg.parent_origin);
  }
  const qs = params.toString();
  return `/r/${encodeURIComponent(cfg.room_id)}${qs ? `?${qs}` : ""}`;
}

const known = loadMember(cfg.room_id);
if (known && cfg.embed) location.replace(roomUrl());
else if (known) {
  document.getElementById("join-form").before(
    el("p", { class: "notice" }, `You already joined as ${known.name}. `, el("a", { href: roomUrl() }, "Go back to the room")));
}
const form = document.getElementById("join-form");
const error = document.getElementById("join-error");
const input = document.getElementById("display-name");
// never overwrite what someone typed while this module was loading
if (!input.value) input.value = localStorage.getItem("coshop.name") || "";
if (document.activeElement !== input) input.focus();

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const name = input.value.trim();
  if (!name) {
    error.textContent = "Please enter a display name.";
    error.hidden = false;
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/join`, {
      method: "POST",
      body: { invite: cfg.invite, name },
    });
    localStorage.setItem("coshop.name", name);
    saveMember(cfg.room_id, { token: res.token, member_id: res.member_id, name: res.name, role: res.role });
    location.assign(roomUrl());
  } catch (err) {
    const messages = {
      invite_expired: "This invite has expired. Ask the host for a new one.",
      invite_exhausted: "This invite has been used up. Ask the host for a new one.",
      invite_revoked: "This invite was revoked.",
    };
    error.textContent = messages[err.code] || `Could not join: ${err.message}`;
    error.hidden = false;
    button.disabled = false;
  }
});
formsReady(form);

const copy = document.getElementById("copy-invite");
if (copy) {
  copy.addEventListener("click", async () => {
    const url = document.getElementById("invite-url");
    try { await navigator.clipboard.writeText(url.value); toast("Invite link copied"); }
    catch { url.select(); }
  });
}
