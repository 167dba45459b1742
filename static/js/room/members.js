// Who is here and what they look at (presence, Viewing signals), following the host, "You: …".
import { colourFor, el, initials } from "../util.js";
import { $, isLive, may, nameOf, productTitle, send, ui } from "./ctx.js";
import { keyed, region } from "./dom.js";

export const ROLE_LABEL = { host: "Host", cohost: "Co-host", moderator: "Moderator", associate: "Store staff", member: "", viewer: "" };

export function viewersOf(sku) {
  return [...ui.presence.values()].filter((p) => p.viewing === sku && p.member_id !== ui.me);
}

export function avatar(id, name, extra = "") {
  return el("span", { class: `avatar ${extra}`, title: name, dataset: { member: id } }, initials(name));
}

/** Colours go through the CSSOM: CSP forbids inline style attributes. */
export function paintAvatars(root) {
  for (const node of root.querySelectorAll(".avatar[data-member]")) node.style.background = colourFor(node.dataset.member);
}

export function renderAvatars() {
  const people = [...ui.presence.values()].map((p) => ({ id: p.member_id, name: p.display_name, viewing: p.viewing || null, title: p.viewing ? productTitle(p.viewing) : "" }));
  region("avatars", people, () => {
    const list = $("avatars");
    keyed(list, people, {
      key: (p) => p.id,
      sig: (p) => p,
      render: (p) => {
        const label = `${p.id === ui.me ? "You" : p.name}, ${p.viewing ? `looking at ${p.title}` : "browsing"}`;
        const li = el("li", { title: label }, avatar(p.id, p.name, p.id === ui.me ? "me" : ""), el("span", { class: "sr-only" }, label));
        paintAvatars(li);
        return li;
      },
    });
  });
}

export function renderFollow() {
  const v = ui.view;
  const following = v.follow.mode === "follow_host";
  const lead = may("set_follow_mode");
  region("follow", [following, lead, ui.followLocal, nameOf(v.host_id)], () => {
    const bar = $("follow-bar");
    bar.replaceChildren();
    if (lead) {
      const box = el("input", { type: "checkbox", id: "follow-toggle", checked: following,
        onchange: (e) => send("SetFollowMode", { mode: e.target.checked ? "follow_host" : "free" }) });
      bar.append(el("label", { for: "follow-toggle", class: "switch" }, box, " Everyone follows me"));
    } else if (following) {
      const box = el("input", { type: "checkbox", id: "follow-local", checked: ui.followLocal,
        onchange: (e) => { ui.followLocal = e.target.checked; } });
      bar.append(el("label", { for: "follow-local", class: "switch" }, box, ` Follow ${nameOf(v.host_id)}`));
    }
    const focused = document.activeElement;
    if (focused && !focused.isConnected) { const again = bar.querySelector("input"); if (again) again.focus(); }
  });
}

export function renderMe() {
  // A newcomer's welcome comes before their MemberJoined event: "you" may arrive a bit later.
  const v = ui.view;
  const you = v.you;
  const flags = ["set_stream", "announce", "set_slow_mode", "open_poll", isLive() ? "invite_viewer" : "invite_member"].map(may);
  region("me", [you && you.display_name, you && you.role, flags], () => {
    if (you) $("me-name").textContent = `You: ${you.display_name}${ROLE_LABEL[you.role] ? ` (${ROLE_LABEL[you.role]})` : ""}`;
    $("invite-btn").hidden = !may(isLive() ? "invite_viewer" : "invite_member");
    if ($("host-tools")) {
      $("host-tools").hidden = !["set_stream", "announce", "set_slow_mode"].some(may);
      $("stream-form").hidden = !may("set_stream");
      $("announce-form").hidden = !may("announce");
      $("slow-mode").closest(".row").hidden = !may("set_slow_mode");
    }
    $("poll-form").hidden = !may("open_poll");
  });
}
