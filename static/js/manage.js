// The host's manage link (/r/{room}/manage#key=…): trade the secret in the URL's fragment (never
// sent to a server in a URL) for a host member token of the room, keep it like a join does, and
// open the room. A link that no longer works gets a page that says what to do instead.
import { deviceSecret } from "./device.js";
import { api, config, el, saveMember } from "./util.js";

const cfg = config();
const ROOM_URL = `/r/${encodeURIComponent(cfg.room_id)}`;

function say(title, ...lines) {
  document.getElementById("manage-title").textContent = title;
  const text = document.getElementById("manage-text");
  text.replaceChildren(...lines.map((line, i) => (i ? el("span", {}, " ", line) : line)));
  document.title = `${title} · coshop`;
}

function refuse(title, text, action = null) {
  say(title, text);
  document.getElementById("manage-card").dataset.refused = "true";
  document.getElementById("manage-actions").replaceChildren(
    el("p", { class: "hint" }, "If you host this room: open it where you are still the host (the browser you created it in, or one where a newer manage link worked), choose Invite → Manage link → Get a new manage link, and use that link here."),
    el("p", { class: "row" },
      action,
      el("a", { href: ROOM_URL, class: action ? "" : "button primary", id: "manage-room-link" }, "Go to the room"),
      el("a", { href: "/" }, "Start a new room")));
}

async function openAsHost(key) {
  say(`Opening “${cfg.title}” as host…`, "One moment: we are checking your manage link.");
  document.getElementById("manage-actions").replaceChildren();
  const body = { key };
  const device = deviceSecret();
  if (device) body.device = device;
  try {
    const host = await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/manage`, { method: "POST", body });
    saveMember(cfg.room_id, { token: host.token, member_id: host.member_id, name: host.name, role: host.role, title: host.title });
    say("You are the host", `Opening “${cfg.title}”…`);
    location.replace(ROOM_URL);
  } catch (err) {
    if (err.code === "manage_link_invalid") {
      refuse("This manage link no longer works", "A newer manage link replaced it, so it was switched off (or the link was copied incompletely).");
    } else if (err.code === "room_not_found") {
      refuse("This room has closed", "The room this link manages is no longer open.");
    } else {
      // the key left the address bar: try again with the one kept here
      const retry = el("button", { type: "button", class: "primary", onclick: () => openAsHost(key) }, "Try again");
      refuse("We could not open the room", `${err.message}. Check your connection and try again.`, retry);
    }
  }
}

/** Read the key from the fragment, then take it out of the address bar and the history. */
function takeKey() {
  const key = new URLSearchParams(location.hash.slice(1)).get("key");
  history.replaceState(null, "", location.pathname);
  return key;
}

function start() {
  const key = takeKey();
  if (key) openAsHost(key);
  else refuse("This manage link is incomplete", "The secret part at the end of the link is missing. Copy the whole link again and open it.");
}

// another manage link pasted into this tab changes only the fragment: no new page load
window.addEventListener("hashchange", () => { if (location.hash) start(); });
start();
