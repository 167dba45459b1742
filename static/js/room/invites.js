// Invites and the manage link (host and co-hosts; what each may do comes from view.you.may):
// the room's shared link with its QR code and printable sign (copy, switch off/on, replace by a
// new link), personal one-use invites by name, every invite with its uses and who used it
// (revoke), store-staff and moderator links, and the host's manage link — shown once after the
// room was created (the landing page leaves it in sessionStorage) and again only when the host
// draws a new one (the old one stops working). Server side: server/api/room_links.py.
import { api, clear, el, loadInvite, toast } from "../util.js";
import { $, cfg, isLive, may, ui } from "./ctx.js";

const ROOM = encodeURIComponent(cfg.room_id);
const MANAGE_KEY = `coshop:manage:${cfg.room_id}`;
const ROLE_LINK = { member: "Shared link", viewer: "Audience link", associate: "Store staff link", moderator: "Moderator link", cohost: "Co-host link" };
const STATUS = {
  active: "Active",
  off: "Switched off",
  replaced: "Replaced by a new link",
  revoked: "Revoked",
  expired: "Expired",
  used: "Used",
  used_up: "Used up",
};

let seq = 0;

// In the widget, a friend's link leads to the shop's page the room was started on, with the room
// and the invite in its fragment (static/embed.js opens the widget there in this room), as the
// first link start.js made. Staff links stay coshop's. Elsewhere: coshop's own links.
const FRIENDS = ["member", "viewer"];
function shopPage() {
  const first = loadInvite(cfg.room_id);
  if (!cfg.parent_origin || !first || !first.url) return null;
  try {
    const page = new URL(first.url);
    if (page.origin !== cfg.parent_origin || !new URLSearchParams(page.hash.slice(1)).get("coshop-room")) return null;
    page.hash = "";
    return page;
  } catch { return null; }
}
function linkFor(invite) {
  const page = shopPage();
  if (!page || !invite.token || (invite.role && !FRIENDS.includes(invite.role))) return invite.url;
  page.hash = new URLSearchParams({ "coshop-room": cfg.room_id, "coshop-invite": invite.token }).toString();
  return page.toString();
}
const uid = (prefix) => `${prefix}-${++seq}`;

async function copy(text, what) {
  try { await navigator.clipboard.writeText(text); toast(`${what} copied`); return true; } catch { return false; }
}

/** A read-only link field with a Copy button (the field selects itself when copying fails). */
function linkField(label, url, { copyLabel = "Copy link", what = "Link" } = {}) {
  const id = uid("link");
  const input = el("input", { id, value: url, readonly: true, onfocus: (e) => e.target.select() });
  return [
    el("label", { for: id }, label),
    el("div", { class: "row link-row" }, input,
      el("button", { type: "button", onclick: async () => { if (!(await copy(url, what))) { input.focus(); input.select(); } } }, copyLabel)),
  ];
}

function qrOf(invite, label) {
  const src = `/r/${ROOM}/qr.svg?invite=${encodeURIComponent(invite.token)}`;
  return el("img", { src, alt: `QR code: ${label}`, width: 180, height: 180, class: "qr-img" });
}

function uses(invite) {
  if (invite.kind === "personal") return invite.used_by ? `Used by ${invite.used_by.name}` : "Not used yet";
  if (!invite.uses) return "Nobody has joined with it yet";
  return `${invite.uses} ${invite.uses === 1 ? "person has" : "people have"} joined with it`;
}

async function call(path, options, failure) {
  try { return await api(path, { token: ui.token, ...options }); } catch (err) { toast(`${failure}: ${err.message}`, "error"); return null; }
}

// ---- the shared link ---------------------------------------------------------------------------
function sharedBlock(invite) {
  const label = isLive() ? "Audience invite" : "Invite friends";
  if (!invite) {
    return el("div", { class: "invite-block", id: "shared-link" },
      el("h3", {}, label),
      el("p", { class: "muted" }, "This room has no shared link right now."),
      el("button", { type: "button", class: "primary", onclick: () => mint(isLive() ? "viewer" : "member", "Could not create a link") }, "Create a link"));
  }
  const off = invite.status === "off";
  const print = `/r/${ROOM}/print?invite=${encodeURIComponent(invite.token)}`;
  return el("div", { class: `invite-block${off ? " is-off" : ""}`, id: "shared-link", dataset: { invite: invite.invite_id } },
    el("h3", {}, label),
    off ? el("p", { class: "notice", id: "shared-off" }, "This link is switched off: nobody can join with it until you switch it on.") : qrOf(invite, label),
    ...linkField("Link", invite.url),
    el("p", { class: "hint", id: "shared-uses" }, uses(invite)),
    el("p", { class: "row" },
      off || shopPage() ? null : el("a", { href: print, target: "_blank", rel: "noopener" }, "Printable store sign"),
      may("manage_invites") ? el("button", { type: "button", id: "shared-toggle", onclick: () => setEnabled(invite, off) }, off ? "Switch on" : "Switch off") : null,
      may("manage_invites") ? el("button", { type: "button", id: "shared-rotate", onclick: () => rotate(invite) }, "New link") : null),
    may("manage_invites") ? el("p", { class: "hint" }, "“New link” makes a fresh link; the old one stops working at once.") : null);
}

async function setEnabled(invite, enabled) {
  const done = await call(`/api/v1/rooms/${ROOM}/invites/${encodeURIComponent(invite.invite_id)}`, { method: "PATCH", body: { enabled } }, "Could not change the link");
  if (!done) return;
  toast(enabled ? "The link works again" : "The link is switched off");
  await refresh("shared-toggle");
}

async function rotate(invite) {
  const done = await call(`/api/v1/rooms/${ROOM}/invites/${encodeURIComponent(invite.invite_id)}/rotate`, { method: "POST" }, "Could not make a new link");
  if (!done) return;
  seen.set(done.invite_id, { url: linkFor(done), token: done.token });
  toast("New link ready. The old one no longer works.");
  await refresh("shared-rotate");
}

async function mint(role, failure, body = {}) {
  const invite = await call(`/api/v1/rooms/${ROOM}/invites`, { method: "POST", body: { role, ...body } }, failure);
  if (invite) {
    seen.set(invite.invite_id, { url: linkFor(invite), token: invite.token });
    await refresh();
  }
  return invite;
}

// ---- personal invites --------------------------------------------------------------------------
function personalForm() {
  const result = el("div", { id: "personal-result", "aria-live": "polite" });
  const input = el("input", { id: "personal-name", maxlength: cfg.name_max || 40, autocomplete: "off", placeholder: "e.g. Sam" });
  const form = el("form", { id: "personal-form", class: "personal-form" },
    el("h3", {}, "Invite someone by name"),
    el("p", { class: "hint" }, "A personal link works once, and their name is filled in for them."),
    el("label", { for: "personal-name" }, "Their name"),
    el("div", { class: "row" }, input, el("button", { type: "submit" }, "Create personal invite")),
    result);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const name = input.value.trim();
    if (!name) { toast("Type the name of the person you invite", "warn"); input.focus(); return; }
    const invite = await mint(isLive() ? "viewer" : "member", "Could not create the invite", { name });
    if (!invite) return;
    input.value = "";
    result.replaceChildren(el("div", { class: "invite-block personal" }, ...linkField(`Link for ${invite.name}`, linkFor(invite))));
  });
  return form;
}

// ---- every invite --------------------------------------------------------------------------------
function inviteLabel(invite) {
  if (invite.kind === "personal") return `For ${invite.name}`;
  return ROLE_LINK[invite.role] || "Link";
}

function inviteRow(invite) {
  const usable = invite.status === "active" || invite.status === "off";
  const label = inviteLabel(invite);
  const state = invite.status === "used" && invite.used_by ? `Used by ${invite.used_by.name}` : STATUS[invite.status] || invite.status;
  const detail = invite.kind === "shared" && usable && invite.uses ? ` · ${invite.uses} joined` : "";
  return el("li", { class: `invite-row status-${invite.status}`, dataset: { invite: invite.invite_id } },
    el("span", { class: "invite-name" }, label),
    el("span", { class: "invite-state" }, state + detail),
    el("span", { class: "row" },
      usable ? el("button", { type: "button", class: "ghost", "aria-label": `Copy ${label}`, onclick: () => copy(invite.url, "Link") }, "Copy") : null,
      usable && may("revoke_invite") ? el("button", { type: "button", class: "ghost danger", "aria-label": `Revoke ${label}`, onclick: () => revoke(invite) }, "Revoke") : null));
}

async function revoke(invite) {
  const done = await call(`/api/v1/rooms/${ROOM}/invites/${encodeURIComponent(invite.invite_id)}`, { method: "DELETE" }, "Could not revoke the invite");
  if (!done) return;
  toast(`${inviteLabel(invite)} revoked: it no longer works`);
  await refresh();
}

function listBlock(invites) {
  const shown = invites.slice(0, 30);
  return el("div", { id: "invite-list-block" },
    el("h3", { id: "invite-list-h" }, "All invites"),
    shown.length
      ? el("ul", { id: "invite-list", class: "invite-list", "aria-labelledby": "invite-list-h" }, shown.map(inviteRow))
      : el("p", { class: "muted" }, "No invites yet."));
}

// ---- the manage link -----------------------------------------------------------------------------
function manageLinkBlock(url, { heading = "manage-h", label = "Manage link" } = {}) {
  return [
    el("p", { class: "lead-in" }, "Keep this link to manage your room from any device."),
    ...linkField(label, url, { copyLabel: "Copy manage link", what: "Manage link" }),
    el("p", { class: "hint", id: `${heading}-hint` }, "Anyone with this link can run the room as host: keep it private."),
  ];
}

function manageSection() {
  if (!may("rotate_manage_link")) return null;
  const result = el("div", { id: "manage-result", "aria-live": "polite" });
  return el("div", { class: "invite-block", id: "manage-section" },
    el("h3", {}, "Manage link"),
    el("p", { class: "hint" }, "Your manage link opens this room as host on another phone or computer. Lost it, or shared it by mistake? Get a new one: the old link stops working."),
    el("button", {
      type: "button", id: "manage-rotate",
      onclick: async () => {
        const done = await call(`/api/v1/rooms/${ROOM}/manage-link`, { method: "POST" }, "Could not make a new manage link");
        if (!done) return;
        result.replaceChildren(...manageLinkBlock(done.manage_url, { heading: "manage-new", label: "Your new manage link" }));
        result.scrollIntoView({ block: "nearest" });
        toast("New manage link ready. The old one no longer works.");
      },
    }, "Get a new manage link"),
    result);
}

/** The manage link the landing page left for this tab, shown once (then forgotten). */
function showManageOnce() {
  let url = null;
  try {
    url = sessionStorage.getItem(MANAGE_KEY);
    sessionStorage.removeItem(MANAGE_KEY);
  } catch { url = null; }
  if (!url || !/^https?:\/\//.test(url)) return;
  const box = $("manage-once");
  if (!box) return;
  box.setAttribute("aria-labelledby", "manage-once-h");
  box.replaceChildren(
    el("h2", { id: "manage-once-h" }, "Your room is ready"),
    ...manageLinkBlock(url, { heading: "manage-once" }),
    el("p", { class: "hint" }, "We show it only now. You can get a new one later from Invite → Manage link."),
    el("button", { type: "button", class: "primary", id: "manage-once-done", onclick: () => { box.hidden = true; box.replaceChildren(); } }, "Done, I saved it"));
  box.hidden = false;
}

// ---- the dialog ----------------------------------------------------------------------------------
let state = { shared: null, invites: [] };
// The server signs a link afresh on every listing (all of them work); show the one the host saw
// first, so a link does not look different each time the dialog opens.
const seen = new Map();
const made = loadInvite(cfg.room_id);
if (made && made.invite_id && made.url) seen.set(made.invite_id, { url: made.url, token: made.token });

function stable(invite) {
  if (!invite.url) return invite;
  if (!seen.has(invite.invite_id)) seen.set(invite.invite_id, { url: linkFor(invite), token: invite.token });
  return { ...invite, ...seen.get(invite.invite_id) };
}

async function load() {
  if (!may("manage_invites")) return false;
  const data = await call(`/api/v1/rooms/${ROOM}/invites`, {}, "Could not load the invites");
  if (!data) return false;
  const invites = data.invites.map(stable);
  state = { shared: invites.find((i) => i.invite_id === data.shared) || null, invites };
  return true;
}

/** Links for staff by role; each new one is shown under the buttons (and in the list). */
function staffSection() {
  const made = el("div", { id: "staff-invites" });
  const staff = async (role, label) => {
    const invite = await mint(role, "Could not create an invite");
    if (!invite) return;
    const print = `/r/${ROOM}/print?invite=${encodeURIComponent(invite.token)}`;
    made.append(el("div", { class: "invite-block" },
      el("h3", {}, label),
      ...linkField("Link", invite.url),
      el("p", {}, el("a", { href: print, target: "_blank", rel: "noopener" }, "Printable store sign"))));
  };
  const buttons = el("p", { class: "row" },
    may("invite_associate") ? el("button", { type: "button", id: "mint-associate", onclick: () => staff("associate", "Store staff invite") }, "Store staff invite") : null,
    isLive() && may("invite_moderator") ? el("button", { type: "button", id: "mint-moderator", onclick: () => staff("moderator", "Moderator invite") }, "Moderator invite") : null);
  return el("div", { id: "staff-section" }, buttons, made);
}

function draw() {
  const body = $("invite-body");
  // what the host is typing, and the links just made, survive a redraw
  const keep = $("personal-form");
  const staff = $("staff-section");
  clear(body);
  body.append(sharedBlock(state.shared));
  if (may("invite_personal")) body.append(keep || personalForm());
  body.append(staff || staffSection(), listBlock(state.invites));
  const manage = manageSection();
  if (manage) body.append(manage);
}

async function refresh(focusId = null) {
  if (await load()) draw();
  if (focusId && $(focusId)) $(focusId).focus();
}

async function openInvites() {
  const dialog = $("invite-dialog");
  if (!dialog.open) clear($("invite-body")); // a fresh dialog: no links made last time
  if (await load()) {
    draw();
  } else {
    // without the invite list (no right to manage it): the link this browser made the room with
    const invite = loadInvite(cfg.room_id);
    const body = clear($("invite-body"));
    if (invite) body.append(sharedBlock({ ...invite, status: "active", kind: "shared", uses: 0 }));
  }
  if (!dialog.open) dialog.showModal();
}

export function wireInvites() {
  $("invite-btn").addEventListener("click", openInvites);
  showManageOnce();
}
