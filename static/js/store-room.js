// A store room's strip under the room's header: the store's name and logo, and "Ask for help" —
// which puts the room first on the store associates' page (PUT /api/v1/store/rooms/{room},
// server/api/stores.py). Shown only in rooms started from the store's QR sign (rooms listed
// for the store); anywhere else this script adds nothing. When an associate joins, the room's
// own member list shows them with their "Store staff" badge.
import { api, config, el, loadMember } from "./util.js";

const cfg = config();

function render(strip, data, member) {
  const token = member.token;
  const help = data.help_requested_at !== null;
  // the associate who came to help sees their own side: no "ask for help", and a way to say the
  // shopper has been helped (the room then stops being first on the associates' page)
  const staff = member.role === "associate";
  const label = staff ? "Mark as helped" : help ? "Cancel help request" : "Ask for help";
  const button = staff && !help ? null
    : el("button", { type: "button", class: help ? "" : "primary", id: "store-help" }, label);
  if (button) {
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const next = await api(`/api/v1/store/rooms/${encodeURIComponent(cfg.room_id)}`, { method: "PUT", token, body: { help: !help } });
        render(strip, next, member);
        (document.getElementById("store-help") || document.getElementById("store-help-state")).focus();
      } catch (err) {
        button.disabled = false;
        document.getElementById("store-help-state").textContent = `That did not work: ${err.message}`;
      }
    });
  }
  const state = staff
    ? (help ? "This shopper asked for help: you are here as store staff." : "You are here as store staff.")
    : (help ? "A store associate has been asked to join you." : "Store staff can join your room to help.");
  const logo = data.store.logo_url ? el("img", { src: data.store.logo_url, alt: "", width: 28, height: 28 }) : null;
  // replaceChildren turns a null into the text "null": only the nodes there are
  strip.replaceChildren(...[
    logo,
    el("span", { class: "store-strip-name" }, data.store.name),
    el("span", { class: "store-strip-state", id: "store-help-state", tabindex: "-1", role: "status" }, state),
    button].filter(Boolean));
}

async function start() {
  const member = loadMember(cfg.room_id);
  if (!cfg.room_id || !member || !member.token) return;
  let data;
  try {
    data = await api(`/api/v1/store/rooms/${encodeURIComponent(cfg.room_id)}`, { token: member.token });
  } catch {
    return; // not a store room for this member (or not reachable): the room works without it
  }
  if (!data.listed || !data.store.store_mode) return;
  const strip = el("section", { class: "store-strip", id: "store-strip", "aria-label": `${data.store.name} store`, role: "region" });
  const header = document.querySelector("header.topbar");
  if (header) header.after(strip); else document.body.prepend(strip);
  render(strip, data, member);
}

start();
