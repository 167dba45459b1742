// Invites (host and co-hosts): the default invite with its QR code and printable sign, and
// store-staff and moderator invites.
import { api, clear, el, loadInvite, toast } from "../util.js";
import { $, cfg, isLive, may, ui } from "./ctx.js";

function inviteBlock(label, invite) {
  const qr = `/r/${encodeURIComponent(cfg.room_id)}/qr.svg?invite=${encodeURIComponent(invite.token)}`;
  const print = `/r/${encodeURIComponent(cfg.room_id)}/print?invite=${encodeURIComponent(invite.token)}`;
  const id = `inv-${invite.role}-${Math.random().toString(36).slice(2, 6)}`;
  return el("div", { class: "invite-block" },
    el("h3", {}, label),
    el("img", { src: qr, alt: `QR code: ${label}`, width: 180, height: 180, class: "qr-img" }),
    el("label", { for: id }, "Link"),
    el("input", { id, value: invite.url, readonly: true, onfocus: (e) => e.target.select() }),
    el("p", { class: "row" },
      el("button", { type: "button", onclick: () => navigator.clipboard.writeText(invite.url).then(() => toast("Link copied"), () => {}) }, "Copy link"),
      el("a", { href: print, target: "_blank", rel: "noopener" }, "Printable store sign")));
}

async function mintInvite(roleName) {
  try {
    return await api(`/api/v1/rooms/${encodeURIComponent(cfg.room_id)}/invites`, { method: "POST", token: ui.token, body: { role: roleName } });
  } catch (err) { toast(`Could not create an invite: ${err.message}`, "error"); return null; }
}

async function openInvites() {
  const body = clear($("invite-body"));
  let invite = loadInvite(cfg.room_id);
  if (!invite) invite = await mintInvite(isLive() ? "viewer" : "member");
  if (invite) body.append(inviteBlock(isLive() ? "Audience invite" : "Invite friends", invite));
  const staff = el("div", { id: "staff-invites" });
  body.append(el("p", { class: "row" },
    may("invite_associate") ? el("button", { type: "button", id: "mint-associate", onclick: async () => { const i = await mintInvite("associate"); if (i) staff.append(inviteBlock("Store staff invite", i)); } }, "Store staff invite") : null,
    isLive() && may("invite_moderator") ? el("button", { type: "button", onclick: async () => { const i = await mintInvite("moderator"); if (i) staff.append(inviteBlock("Moderator invite", i)); } }, "Moderator invite") : null),
  staff);
  $("invite-dialog").showModal();
}

export function wireInvites() { $("invite-btn").addEventListener("click", openInvites); }
