// Polls: pick 2–6 products, ask, vote, close. Closing with "add the winner" asks for the winner's
// variant when it has options (ClosePoll adds such a winner only with a variant picked, and the
// winner is known only once the poll closes): the page closes the poll without adding and adds
// the winner itself through the variant sheet.
import { el, toast } from "../util.js";
import { $, ensureProducts, hasVariants, may, productTitle, send, ui, requestRender } from "./ctx.js";
import { keyed, region } from "./dom.js";
import { quickAdd } from "./product.js";

export function togglePick(sku) {
  const i = ui.pollPicks.indexOf(sku);
  if (i >= 0) ui.pollPicks.splice(i, 1); else if (ui.pollPicks.length < 6) ui.pollPicks.push(sku);
  requestRender();
}

function renderPollPicks() {
  const picks = ui.pollPicks.map((sku) => ({ sku, title: productTitle(sku) }));
  region("poll-picks", picks, () => {
    keyed($("poll-picks"), picks, {
      key: (p) => p.sku,
      sig: (p) => p.title,
      render: (p) => el("li", {}, el("button", { type: "button", class: "chip", dataset: { fk: `chip-${p.sku}` }, "aria-label": `Remove ${p.title} from the poll`, onclick: () => togglePick(p.sku) }, p.title, " ✕")),
    });
  });
}

async function closePoll(p) {
  const add = ui.pollAddWinner.has(p.poll_id) ? ui.pollAddWinner.get(p.poll_id) : ui.view.phase === "open";
  const askVariant = add && p.options.some((sku) => { const prod = ui.products.get(sku); return !prod || hasVariants(prod); });
  if (askVariant) ui.pendingWinner.add(p.poll_id);
  const ok = await send("ClosePoll", { poll_id: p.poll_id, add_winner_to_cart: add && !askVariant });
  if (!ok) ui.pendingWinner.delete(p.poll_id);
}

/** PollClosed: when this member closed it wanting the winner and the winner has options, ask. */
export function onPollClosed(ev) {
  if (!ui.pendingWinner.delete(ev.poll_id) || !ev.winner) return;
  ensureProducts([ev.winner]);
  toast(`${productTitle(ev.winner)} won the poll`, "ok", 4000);
  quickAdd(ev.winner, { heading: `Add the winner: ${productTitle(ev.winner)}` });
}

function poll(p) {
  const total = p.counts.reduce((a, b) => a + b, 0);
  const canClose = !p.closed && may(p.opened_by === ui.me ? "close_poll" : "close_any_poll");
  const id = `win-${p.poll_id}`;
  const checked = ui.pollAddWinner.has(p.poll_id) ? ui.pollAddWinner.get(p.poll_id) : ui.view.phase === "open";
  const addWinner = el("input", { type: "checkbox", id, checked, onchange: (e) => ui.pollAddWinner.set(p.poll_id, e.target.checked) });
  return el("fieldset", { class: `poll ${p.closed ? "closed" : ""}`, dataset: { poll: p.poll_id } },
    el("legend", {}, p.question),
    ...p.options.map((sku, i) => {
      const pct = total ? Math.round((p.counts[i] / total) * 100) : 0;
      const bar = el("span", { class: "bar" });
      bar.style.width = `${pct}%`;
      return el("button", { type: "button", class: `option ${p.mine === sku ? "mine" : ""} ${p.winner === sku ? "winner" : ""}`,
        "aria-pressed": String(p.mine === sku), disabled: p.closed, dataset: { fk: `opt-${p.poll_id}-${i}` },
        onclick: () => send("CastPollVote", { poll_id: p.poll_id, sku }) },
      bar, el("span", { class: "label" }, productTitle(sku), p.winner === sku ? " 🏆" : ""), el("span", { class: "count" }, `${p.counts[i]}`),
      el("span", { class: "sr-only" }, ` vote${p.counts[i] === 1 ? "" : "s"}`));
    }),
    canClose ? el("div", { class: "row small" },
      el("label", { for: id }, addWinner, " add the winner to the cart"),
      el("button", { type: "button", dataset: { fk: `close-${p.poll_id}` }, onclick: () => closePoll(p) }, "Close poll")) : null,
    p.closed ? el("p", { class: "small muted" }, p.winner ? `Winner: ${productTitle(p.winner)}` : "No votes") : null);
}

export function renderPolls() {
  const v = ui.view;
  const polls = [...v.polls].reverse();
  const sig = (p) => [p.question, p.counts, p.mine, p.closed, p.winner, p.options.map(productTitle), may("close_poll"), may("close_any_poll"), v.phase === "open"];
  region("polls", polls.map(sig), () => {
    keyed($("polls"), polls, {
      key: (p) => p.poll_id, sig, render: poll,
      empty: () => el("p", { class: "muted small" }, "No polls yet."),
    });
  });
  renderPollPicks();
}

export function wirePolls() {
  $("poll-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = $("poll-question").value.trim();
    if (!q || ui.pollPicks.length < 2) { toast("Write a question and pick at least two products.", "warn"); return; }
    send("OpenPoll", { question: q, skus: [...ui.pollPicks] }).then((ok) => {
      if (ok) { ui.pollPicks = []; $("poll-question").value = ""; requestRender(); }
    });
  });
}
