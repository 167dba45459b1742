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
const form = document.getElementById("join-form");
// Someone who joined from this browser before goes back in as themself: that is the main
// action (the form stays, a secondary choice, for joining again under another name).
let rejoin = null;
if (known && !(cfg.embed && !customerToken)) {
  rejoin = el("div", { class: "notice rejoin" },
    el("p", {}, `You already joined this room as ${known.name}.`),
    el("a", { class: "button primary", href: roomUrl() }, `Back to the room as ${known.name}`),
    el("p", { class: "hint" }, "Or join again under another name:"));
  form.before(rejoin);
  form.querySelector('button[type="submit"]').classList.remove("primary");
}
const error = document.getElementById("join-error");
const input = document.getElementById("display-name");
const signedIn = document.getElementById("signed-in");
if (customerToken && signedIn) signedIn.hidden = false;
// never overwrite what someone typed while this module was loading
if (!input.value) input.value = localStorage.getItem("coshop.name") || "";
if (rejoin) rejoin.querySelector("a").focus();
else if (document.activeElement !== input) input.focus();

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

// A browser this room removed is told so before anything else: not "Back to the room" and an
// invite to share, then a refusal after it typed a name. The device proves who it was (the same
// request that reopens a room from "Your rooms"); without a stored device there is nothing to ask.
async function standing() {
  let device = null;
  try { device = localStorage.getItem(DEVICE_KEY); } catch { return null; }
  if (customerToken || !device || !/^[A-Za-z0-9_-]{32,128}$/.test(device)) return null;
  try {
    const res = await fetch(`/api/v1/me/rooms/${encodeURIComponent(cfg.room_id)}/token`, {
      method: "POST",
      headers: { accept: "application/json", "content-type": "application/json" },
      body: JSON.stringify({ device }),
    });
    if (res.status !== 403) return null;
    return (await res.json()).code || null;
  } catch {
    return null; // offline or refused for another reason: the form stays as it is
  }
}

standing().then((code) => {
  if (code !== "banned" && code !== "kicked") return;
  if (rejoin) rejoin.remove();
  const invite = document.querySelector("section.invite");
  if (invite) invite.hidden = true; // nothing to share from a room one cannot enter
  const notice = el("div", { class: "notice removed", id: "removed-notice", role: "alert" },
    el("h2", {}, code === "banned" ? "You can't join this room" : "A host removed you from this room"),
    el("p", {}, code === "banned" ? "A host removed you and blocked you from coming back, through any invite." : MESSAGES[code]),
    el("a", { class: "button", href: "/" }, "Go to your rooms"));
  form.closest("section").before(notice);
  if (code === "banned") form.closest("section").hidden = true; // a ban holds under any name
  else form.querySelector('button[type="submit"]').classList.remove("primary");
});

const copy = document.getElementById("copy-invite");
if (copy) {
  copy.addEventListener("click", async () => {
    const url = document.getElementById("invite-url");
    try { await navigator.clipboard.writeText(url.value); toast("Invite link copied"); }
    catch { url.select(); }
  });
}
