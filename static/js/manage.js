// The host's manage link (/r/{room}/manage#key=…): trade the secret in the URL's fragment (never
// sent to a server in a URL) for a host member token of the room, keep it like a join does, and
// open the room. A link that no longer works gets a page that says what to do instead.
import { api, config, el, saveMember } from "./util.js";

const cfg = config();
const DEVICE_KEY = "coshop.device"; // the join page's device secret (join.js): one per browser
const ROOM_URL = `/r/${encodeURIComponent(cfg.room_id)}`;

/** This browser's device secret, made once (as join.js does); null without storage. */
function deviceSecret() {
  try {
    let secret = localStorage.getItem(DEVICE_KEY);
    if (!secret || !/^[A-Za-z0-9_-]{32,128}$/.test(secret)) {
      const bytes = crypto.getRandomValues(new Uint8Array(32));
      secret = btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
      localStorage.setItem(DEVICE_KEY, secret);
    }
    return secret;
  } catch {
    return null;
  }
}

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

const key = new URLSearchParams(location.hash.slice(1)).get("key");
// the secret leaves the address bar and the history at once
history.replaceState(null, "", location.pathname);
if (key) openAsHost(key);
else refuse("This manage link is incomplete", "The secret part at the end of the link is missing. Copy the whole link again and open it.");
