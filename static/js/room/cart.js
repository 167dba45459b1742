// The group cart: lines keyed by line id (who added, who pays, quantity, the variant's human
// name), the fix for a line the shop can't sell as it is shown on the line itself, and totals.
// Cart etiquette (rooms/rules/cart.py): only who added a line, who pays for it and staff change
// it; a payer the host picked is told on the line and may decline; a compact activity strip says
// who joined, left, added and is paying for what.
import { el, money, toast } from "../util.js";
import { $, isLive, lineTitle, may, nameOf, send, ui } from "./ctx.js";
import { isStaff } from "../state.js";
import { keyed, region } from "./dom.js";
import { isFrozen } from "./buy.js";
import { issueFor, issueText, pricingOf, shopUnitPrice } from "./pricing.js";

/** A fix needs the cart open: the host unlocks first (one click does both). */
async function fix(command, args) {
  if (ui.view.phase === "locked") {
    if (!may("unlock_cart")) return;
    if (!(await send("UnlockCart", {}))) return;
  }
  await send(command, args);
}

function fixFor(line, issue, own) {
  if (!issue || issue.kind === "price_changed") return null;
  const locked = ui.view.phase === "locked";
  const canFix = own && (!locked || may("unlock_cart")) && ui.view.phase !== "settling";
  const title = lineTitle(line);
  const buttons = [];
  if (canFix) {
    if (issue.kind === "insufficient_stock" && issue.available > 0) {
      buttons.push(el("button", { type: "button", class: "fix", dataset: { fk: `fixq-${line.line_id}` },
        onclick: () => fix("SetQuantity", { line_id: line.line_id, quantity: issue.available }) }, `Change to ${issue.available}`));
    }
    buttons.push(el("button", { type: "button", class: "fix", dataset: { fk: `fixr-${line.line_id}` }, "aria-label": `Remove ${title}`,
      onclick: () => fix("RemoveLine", { line_id: line.line_id }) }, "Remove it"));
  }
  const how = issue.kind === "insufficient_stock" && issue.available > 0
    ? `Lower the quantity to ${issue.available} or remove it.` : "Remove it to check out.";
  return el("div", { class: "line-fix" },
    el("span", { class: "small" }, canFix ? how : locked ? `${how} The host unlocks the cart to change it.` : how),
    ...buttons);
}

/** Someone else made me this line's payer: say who, and offer to decline (back to its adder). */
function payerNotice(line) {
  if (line.payer !== ui.me || !line.assigned_by || line.assigned_by === ui.me) return null;
  const title = lineTitle(line);
  if (line.added_by === ui.me) {
    return el("p", { class: "payer-notice back", dataset: { notice: line.line_id } },
      `${nameOf(line.assigned_by)} no longer pays for this — you pay for it again.`);
  }
  return el("div", { class: "payer-notice", role: "note", dataset: { notice: line.line_id } },
    el("span", {}, `${nameOf(line.assigned_by)} asked you to pay for this.`),
    may("decline_payment") ? el("button", { type: "button", class: "link", dataset: { fk: `decline-${line.line_id}` }, "aria-label": `Decline paying for ${title}`,
      onclick: () => send("DeclinePayment", { line_id: line.line_id }) }, "Decline") : null);
}

function lineNode(line) {
  const v = ui.view;
  const title = lineTitle(line);
  const amount = line.price_minor * line.quantity;
  // etiquette: the adder, the payer and staff change a line; others see it read-only
  const own = line.added_by === ui.me || line.payer === ui.me || may("edit_any_line");
  const claimable = line.added_by === ui.me || may("claim_any_line");
  const frozen = isLive() && isFrozen(line.line_id); // in an order being paid: edits wait
  const editable = may("set_quantity") && own && !frozen;
  const assignable = may("assign_payer") ? v.members : [];
  const payer = assignable.some((m) => m.member_id === line.payer)
    ? el("select", { "aria-label": `Who pays for ${title}`, dataset: { fk: `payer-${line.line_id}` }, onchange: (e) => send("AssignPayer", { line_id: line.line_id, member_id: e.target.value }) },
      ...assignable.map((m) => el("option", { value: m.member_id, selected: m.member_id === line.payer }, m.member_id === ui.me ? "You" : m.display_name)))
    : el("span", {}, nameOf(line.payer));
  const issue = v.phase !== "open" ? issueFor(line.line_id) : null;
  const unit = v.phase !== "open" ? shopUnitPrice(line.line_id) : null;
  const newAmount = unit != null && unit !== line.price_minor ? unit * line.quantity : null;
  const product = ui.products.get(line.sku);
  return el("li", { class: `line ${issue ? `has-issue issue-${issue.kind}` : ""}`, dataset: { line: line.line_id, sku: line.sku } },
    product && product.image ? el("img", { class: "line-img", src: product.image, alt: "", width: 48, height: 36 }) : null,
    el("div", { class: "line-body" },
      el("div", { class: "line-main" },
        el("span", { class: "line-title" }, title, frozen ? el("span", { class: "tag paying small" }, " · being paid") : null),
        newAmount != null
          ? el("span", { class: "line-price" }, el("s", { class: "muted" }, el("span", { class: "sr-only" }, "was "), money(amount, line.currency)), " ", money(newAmount, line.currency))
          : el("span", { class: "line-price" }, money(amount, line.currency))),
      issue ? el("p", { class: `line-issue ${issue.kind === "price_changed" ? "changed" : "blocking"}` },
        issue.kind === "price_changed" ? "⚠ " : "✖ ", issueText(issue, line.currency)) : null,
      fixFor(line, issue, own),
      payerNotice(line),
      el("div", { class: "line-meta small muted" },
        el("span", {}, `Added by ${nameOf(line.added_by)}`), " · ",
        el("span", { class: "payer" }, "Pays: ", payer),
        may("claim_line") && claimable && line.payer !== ui.me && !may("assign_payer")
          ? el("button", { type: "button", class: "link", dataset: { fk: `claim-${line.line_id}` }, onclick: () => send("ClaimLine", { line_id: line.line_id }) }, "I'll pay") : null),
      editable ? el("div", { class: "row qty" },
        el("button", { type: "button", class: "step", "aria-label": `One less ${title}`, disabled: line.quantity <= 1, dataset: { fk: `less-${line.line_id}` },
          onclick: () => send("SetQuantity", { line_id: line.line_id, quantity: line.quantity - 1 }) }, "−"),
        el("span", { class: "q" }, line.quantity),
        el("span", { class: "sr-only" }, ` in the cart`),
        el("button", { type: "button", class: "step", "aria-label": `One more ${title}`, dataset: { fk: `more-${line.line_id}` },
          onclick: () => send("SetQuantity", { line_id: line.line_id, quantity: line.quantity + 1 }) }, "+"),
        el("button", { type: "button", class: "link danger", "aria-label": `Remove ${title}`, dataset: { fk: `rm-${line.line_id}` }, onclick: () => send("RemoveLine", { line_id: line.line_id }) }, "Remove"))
        : el("span", { class: "small muted" }, `Qty ${line.quantity}`)));
}

export function renderCart() {
  const v = ui.view;
  const flags = ["set_quantity", "edit_any_line", "assign_payer", "claim_line", "unlock_cart"].map(may);
  const roster = may("assign_payer") ? v.members.map((m) => [m.member_id, m.display_name]) : [];
  const lineSig = (line) => [lineTitle(line), line.quantity, line.payer, nameOf(line.payer), nameOf(line.added_by), line.price_minor,
    line.assigned_by || "", line.assigned_by ? nameOf(line.assigned_by) : "", may("decline_payment"), may("claim_any_line"),
    v.phase, v.phase !== "open" ? issueFor(line.line_id) : null, v.phase !== "open" ? shopUnitPrice(line.line_id) : null,
    flags, roster, Boolean((ui.products.get(line.sku) || {}).image), isLive() && isFrozen(line.line_id)];
  region("cart-h", [isLive(), isStaff(v)], () => {
    $("cart-h").textContent = isLive() && !isStaff(v) ? "Your cart" : isLive() ? "Audience carts" : "Group cart";
  });
  region("cart", [isLive() && isStaff(v), v.lines.map((l) => [l.line_id, lineSig(l)])], () => {
    keyed($("cart"), v.lines, {
      key: (l) => l.line_id, sig: lineSig, render: lineNode,
      empty: () => el("li", { class: "empty" }, isLive() && isStaff(v) ? "No viewer has added anything yet. What viewers add to their carts shows here."
        : "The cart is empty. Add products from the list."),
    });
    const count = $("nav-cart-count");
    if (count) count.textContent = v.lines.length ? `(${v.lines.length})` : "";
  });
  renderTotal();
  renderActivity();
}

// ---- activity strip ---------------------------------------------------------------------------
// The last few things people did to the cart and the room, newest first: "Bea added Tent",
// "Bob is paying for Mug", "Cal left". Before any event arrives it starts from the cart's lines.
const ACTIVITY_MAX = 4;
const payers = new Map(); // line id -> payer before the event (to tell a decline from an ask)
const titles = new Map(); // line id -> title, for lines that are gone

/** A name in the middle of a sentence: "you" for me. */
const them = (id) => (id === ui.me ? "you" : nameOf(id));

function say(text) {
  ui.activity = ui.activity || [];
  ui.activity.unshift({ text, n: (ui.activityN = (ui.activityN || 0) + 1) });
  ui.activity.length = Math.min(ui.activity.length, ACTIVITY_MAX);
}

/** Called for every room event after state.js folded it (from checkout.js's event hook). */
export function onCartEvent(ev) {
  const v = ui.view;
  if (!v || v.kind !== "group") return;
  const line = ev.line_id ? v.lines.find((l) => l.line_id === ev.line_id) : null;
  if (line) titles.set(line.line_id, lineTitle(line));
  const title = (ev.line_id && titles.get(ev.line_id)) || "an item";
  switch (ev.type) {
    case "MemberJoined": if (ev.member_id !== ui.me) say(`${ev.display_name} joined`); break;
    case "MemberLeft": say(`${nameOf(ev.member_id)} left`); break;
    case "LineAdded": say(`${nameOf(ev.added_by)} added ${title}`); break;
    case "PayerAssigned": {
      const before = payers.get(ev.line_id);
      // state.js keeps only the payer: who made them payer is the room's too (Line.assigned_by)
      if (line) line.assigned_by = ev.by !== ev.payer ? ev.by : "";
      if (ev.by === ev.payer) say(`${nameOf(ev.payer)} ${ev.payer === ui.me ? "are" : "is"} paying for ${title}`);
      else if (ev.by === before) say(`${nameOf(ev.by)} passed ${title} back to ${them(ev.payer)}`);
      else say(`${nameOf(ev.by)} asked ${them(ev.payer)} to pay for ${title}`);
      if (ev.payer === ui.me && ev.by !== ui.me) {
        toast(line && line.added_by === ui.me ? `${nameOf(ev.by)} gave ${title} back: you pay for it again.` : `${nameOf(ev.by)} asked you to pay for ${title}. You can decline it in the cart.`, "info", 8000);
      }
      break;
    }
    default: break;
  }
  for (const l of v.lines) payers.set(l.line_id, l.payer);
}

function renderActivity() {
  const v = ui.view;
  let box = $("activity");
  if (!box) {
    const cart = $("cart");
    if (!cart) return;
    box = el("ol", { id: "activity", class: "activity", "aria-label": "Recent activity in the room" });
    cart.before(box);
  }
  for (const l of v.lines) if (!payers.has(l.line_id)) payers.set(l.line_id, l.payer);
  const items = ui.activity && ui.activity.length ? ui.activity
    : [...v.lines].sort((a, b) => b.added_at - a.added_at).slice(0, ACTIVITY_MAX).map((l) => ({ text: `${nameOf(l.added_by)} added ${lineTitle(l)}`, n: `l-${l.line_id}` }));
  region("activity", [v.kind, items.map((i) => [i.n, i.text])], () => {
    box.hidden = v.kind !== "group" || !items.length;
    box.replaceChildren(...items.map((i) => el("li", { class: "activity-item" }, i.text)));
  });
}

function renderTotal() {
  const v = ui.view;
  const priced = v.phase !== "open" ? pricingOf() : null;
  const totals = new Map();
  const perPayer = new Map();
  for (const line of v.lines) {
    const amount = line.price_minor * line.quantity;
    totals.set(line.currency, (totals.get(line.currency) || 0) + amount);
    perPayer.set(line.payer, (perPayer.get(line.payer) || 0) + amount);
  }
  const names = [...perPayer.keys()].map(nameOf);
  region("cart-total", [[...totals], [...perPayer], names, priced && [priced.total_minor, priced.currency]], () => {
    const total = $("cart-total");
    total.replaceChildren();
    if (v.lines.length && priced) {
      total.append(el("strong", {}, "Total: ", money(priced.total_minor, priced.currency)), el("span", { class: "small muted" }, " (the shop's prices)"));
    } else if (v.lines.length) {
      total.append(el("strong", {}, "Total: ", [...totals].map(([c, m]) => money(m, c)).join(" + ")));
      if (perPayer.size > 1 || (perPayer.size === 1 && !perPayer.has(ui.me))) {
        const cur = v.lines[0].currency;
        total.append(el("span", { class: "small muted per-payer" }, " (", [...perPayer].map(([id, m]) => `${nameOf(id)} ${money(m, cur)}`).join(", "), ")"));
      }
      total.append(el("span", { class: "small muted" }, " Prices are confirmed by the shop at checkout."));
    }
    ui.cartTotalText = v.lines.length ? (priced ? money(priced.total_minor, priced.currency) : [...totals].map(([c, m]) => money(m, c)).join(" + ")) : "";
    const bar = $("pay-bar-total");
    if (bar && !bar.dataset.mine) bar.textContent = ui.cartTotalText; // else: "Your share … ✔" (checkout.js)
  });
}
