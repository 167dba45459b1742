// Join page: pick a display name, trade the invite for a member token, go to the room.
//
// Who joins (docs/client.md, "Joining"): a shop's signed-in customer when the page was opened with
// `#customer_token=<JWT>` (the shop's sign-in sends shoppers back so), otherwise a guest whose
// browser keeps one random device secret in localStorage and sends it on every join — the same
// browser is the same member of a room through any of its invites, and a ban sticks to it.
import { config, el, formsReady, loadMember, saveMember, toast } from "./util.js";

const cfg = config();
const DEVICE_KEY = "coshop.device";

function roomUrl() {
  const params = new URLSearchParams();
  if (cfg.embed) {
    params.set("embed", "1");
    if (cfg.parent_origin) params.set("parent", cfg.parent_origin);
  }
  const qs = params.toString();
  return `/r/${encodeURIComponent(cfg.room_id)}${qs ? `?${qs}` : ""}`;
}

/** This browser's device secret (32 random bytes, base64url), made once; null without storage. */
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
    return null; // storage blocked: a one-off guest
  }
}

/** A customer token handed over in the URL fragment (never sent to a server in a URL), once. */
function takeCustomerToken() {
  const fragment = new URLSearchParams(location.hash.slice(1));
  const token = fragment.get("customer_token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

const customerToken = takeCustomerToken();
const known = loadMember(cfg.room_id);
if (known && cfg.embed && !customerToken) location.replace(roomUrl());
else if (known) {
  document.getElementById("join-form").before(
    el("p", { class: "notice" }, `You already joined as ${known.name}. `, el("a", { href: roomUrl() }, "Go back to the room")));
}
const form = document.getElementById("join-form");
const error = document.getElementById("join-error");
const input = document.getElementById("display-name");
const signedIn = document.getElementById("signed-in");
if (customerToken && signedIn) signedIn.hidden = false;
// never overwrite what someone typed while this module was loading
if (!input.value) input.value = localStorage.getItem("coshop.name") || "";
if (document.activeElement !== input) input.focus();

function show(...children) {
  error.replaceChildren(...children);
  error.hidden = false;
}

const MESSAGES = {
  invite_expired: "This invite has expired. Ask the host for a new one.",
  invite_exhausted: "This invite has been used up. Ask the host for a new one.",
  invite_revoked: "This invite was revoked. Ask the host for a new one.",
  invite_replaced: "The host replaced this link with a new one. Ask the host for the new link.",
  invite_disabled: "The host has switched this link off for now. Ask the host to switch it on, or for another link.",
  invite_used: "This personal invite was already used. If that was you, open the room in the browser you joined with; otherwise ask the host for a new invite.",
  banned: "You can't join this room: a host removed you and blocked you from coming back, through any invite.",
  kicked: "A host removed you from this room. To come back, ask the host for a new invite.",
  customer_token_expired: "Your sign-in to the shop has expired. Sign in again and reopen the invite.",
  customer_token_invalid: "The shop's sign-in could not be read. Sign in again and reopen the invite.",
  customer_token_bad_signature: "The shop's sign-in could not be checked. Sign in again and reopen the invite.",
  customer_token_wrong_merchant: "This sign-in is from another shop. Sign in to this room's shop and reopen the invite.",
};

function explain(problem) {
  if (problem.code === "sign_in_required") {
    const link = problem.sign_in_url
      ? el("a", { href: problem.sign_in_url, class: "button primary", id: "sign-in-link" }, `Sign in to ${problem.shop || "the shop"}`)
      : null;
    return [el("span", {}, `This room is only for signed-in customers of ${problem.shop || "the shop"}. `),
      link || el("span", {}, "Open the invite from the shop's website while you are signed in.")];
  }
  return [MESSAGES[problem.code] || `Could not join: ${problem.detail || problem.code}`];
}

async function join(body) {
  const res = await fetch(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/join`, {
    method: "POST",
    headers: { accept: "application/json", "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) throw Object.assign(new Error("join refused"), { problem: data || { code: `http_${res.status}` } });
  return data;
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  const name = input.value.trim();
  if (!name && !customerToken) {
    show("Please enter a display name.");
    input.focus();
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const body = { invite: cfg.invite };
  if (name) body.name = name;
  if (customerToken) body.customer_token = customerToken;
  else {
    const device = deviceSecret();
    if (device) body.device = device;
  }
  try {
    const res = await join(body);
    if (name) localStorage.setItem("coshop.name", name);
    saveMember(cfg.room_id, { token: res.token, member_id: res.member_id, name: res.name, role: res.role });
    location.assign(roomUrl());
  } catch (err) {
    const problem = err.problem || { code: "network", detail: "check your connection and try again" };
    show(...explain(problem));
    form.dataset.refused = problem.code;
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
