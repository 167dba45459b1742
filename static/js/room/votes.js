// Votes on products (▲/▼, press again to withdraw): tallies from the room view.
import { el } from "../util.js";
import { productTitle, send, ui } from "./ctx.js";

export function tallyOf(sku) {
  const v = ui.view;
  return { t: (v && v.votes.tallies[sku]) || { up: 0, down: 0 }, mine: (v && v.votes.mine[sku]) || 0 };
}

export function voteButtons(sku) {
  const { t, mine } = tallyOf(sku);
  const title = productTitle(sku);
  return el("span", { class: "votes" },
    el("button", { type: "button", class: "vote up", "aria-pressed": String(mine === 1), "aria-label": `Vote for ${title} (${t.up} up)`, dataset: { fk: `up-${sku}` },
      onclick: () => send("Vote", { sku, value: mine === 1 ? 0 : 1 }) }, "▲ ", el("span", { class: "n" }, t.up)),
    el("button", { type: "button", class: "vote down", "aria-pressed": String(mine === -1), "aria-label": `Vote against ${title} (${t.down} down)`, dataset: { fk: `down-${sku}` },
      onclick: () => send("Vote", { sku, value: mine === -1 ? 0 : -1 }) }, "▼ ", el("span", { class: "n" }, t.down)));
}
