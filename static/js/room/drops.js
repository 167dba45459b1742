// Drops (docs/live.md "Drops"; rooms/rules/drops.py): the host's timed deal on a pinned product.
// Everyone sees one drop card on the stage — the picture, the drop price with the regular price
// struck through, a countdown to ``ends_at`` and how many are left. A viewer taps "Claim": the
// room decides in its one order (the first claims win), a win opens the hosted payment page in a
// new tab (buy.js) and the card says "You got it — pay within N min" with a Pay button; a loss
// says "Sold out" and nothing was charged. The host starts a drop from the host controls and
// sees claimed / paid / left live, with "End drop". The countdown ticks a text node only: the
// card is redrawn when the drop's state changes, never every second.
import { el, money } from "../util.js";
import { isStaff } from "../state.js";
import { $, hasVariants, isLive, may, productTitle, requestRender, send, ui, variantName } from "./ctx.js";
import { region } from "./dom.js";
import { claimDrop, payOrder } from "./buy.js";

const DURATIONS = [[10, "10 s"], [30, "30 s"], [60, "1 min"], [120, "2 min"], [300, "5 min"], [600, "10 min"], [1200, "20 min"]];

/** The newest drop, if any. */
function latest() {
  const drops = (ui.view && ui.view.checkout.drops) || [];
  return drops.length ? drops[drops.length - 1] : null;
}
const isOver = (d) => d.ended_at != null || Date.now() >= d.ends_at;
const myClaim = (d) => (ui.view.checkout.drop_claims || []).find((k) => k.drop_id === d.drop_id && k.member_id === ui.me);
const myOrderFor = (claim) => claim && (ui.view.checkout.viewer_orders || []).find((o) => o.lines.some((l) => l.line_id === claim.line_id));

function clock(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

function state(d) {
  if (!d) return "none";
  const claim = myClaim(d);
  if (claim) return "won";
  if (isOver(d)) return "ended";
  if (d.remaining <= 0) return "sold_out";
  if (((ui.view.checkout.drop_taken || {})[d.drop_id] || 0) >= d.per_buyer_limit) return "bought";
  return "open";
}

let picked = new Map(); // drop id -> the variant the viewer picked (kept across renders)

function claimButton(d) {
  const p = ui.products.get(d.sku);
  const pick = d.variant == null && hasVariants(p);
  const variant = d.variant != null ? d.variant : (pick ? picked.get(d.drop_id) || null : null);
  const parts = [];
  if (pick) {
    const select = el("select", { id: "drop-variant", "aria-label": "Pick your option", onchange: (e) => { picked.set(d.drop_id, e.target.value || null); requestRender(); } },
      el("option", { value: "" }, "Pick your option…"),
      ...p.variants.map((v) => el("option", { value: v.variant_id, selected: v.variant_id === variant, disabled: v.in_stock === false }, variantName(d.sku, v.variant_id))));
    parts.push(select);
  }
  const ready = !pick || Boolean(variant);
  parts.push(el("button", { type: "button", class: "primary drop-claim", id: "drop-claim", disabled: !ready || ui.dropBusy,
    onclick: () => { ui.dropNote = null; claimDrop(d, variant); } },
  ui.dropBusy ? "Claiming…" : `⚡ Claim · ${money(d.price_minor, d.currency)}`));
  return parts;
}

function viewerPart(d, s) {
  if (s === "won") {
    const order = myOrderFor(myClaim(d));
    // the room's order carries its payment deadline, so a reload still counts down to it
    const deadline = order && (order.deadline_at
      || (ui.lastOrder && ui.lastOrder.order_id === order.order_id && ui.lastOrder.deadline_ms));
    const mins = deadline ? Math.max(1, Math.round((deadline - Date.now()) / 60000)) : null;
    return [
      el("p", { class: "drop-result won", role: "status" }, el("strong", {}, "🎉 You got it"),
        mins ? ` — pay within ${mins} min` : " — pay to keep it"),
      order ? el("button", { type: "button", class: "primary drop-pay", id: "drop-pay", onclick: () => payOrder(order.order_id) },
        `Pay ${money(order.total_minor, order.currency)}`) : el("p", { class: "muted small" }, "Opening your order…"),
    ];
  }
  if (s === "sold_out") return [el("p", { class: "drop-result gone", role: "status" }, el("strong", {}, "Sold out"), " — all claimed. Units come back if a buyer doesn't pay.")];
  const mine = (ui.view.checkout.drop_taken || {})[d.drop_id] || 0;
  if (s === "ended" && mine) return [el("p", { class: "drop-result won", role: "status" }, el("strong", {}, "✔ It's yours — paid"), " · this drop has ended")];
  if (s === "ended") return [el("p", { class: "drop-result gone", role: "status" }, el("strong", {}, "Ended"))];
  if (s === "bought") {
    return [el("p", { class: "drop-result won", role: "status" }, el("strong", {}, "✔ It's yours — paid"),
      d.per_buyer_limit > 1 ? ` (limit ${d.per_buyer_limit} per buyer reached)` : "")];
  }
  if (!may("claim_drop")) return [];
  return claimButton(d);
}

function hostPart(d) {
  const claimed = d.quantity - d.remaining;
  const parts = [el("p", { class: "drop-stats", id: "drop-stats", "aria-live": "polite" },
    el("span", {}, el("strong", {}, String(claimed)), " claimed"),
    el("span", {}, el("strong", {}, String(d.sold)), " paid"),
    el("span", {}, el("strong", {}, String(d.remaining)), " left"))];
  if (!isOver(d) && may("end_drop")) {
    parts.push(el("button", { type: "button", class: "ghost drop-end", id: "drop-end", onclick: () => send("EndDrop", { drop_id: d.drop_id }) }, "End drop"));
  }
  return parts;
}

function card(d) {
  const s = state(d);
  const p = ui.products.get(d.sku);
  const image = d.image || (p && p.image);
  const pct = d.quantity ? Math.round((100 * d.remaining) / d.quantity) : 0;
  const what = d.variant ? `${d.title} · ${variantName(d.sku, d.variant)}` : d.title;
  const over = isOver(d);
  return el("article", { class: `drop-card drop-${s}`, id: "drop-card", dataset: { drop: d.drop_id, state: s }, "aria-labelledby": "drop-title" },
    el("div", { class: "drop-top" },
      el("span", { class: "drop-badge" }, "⚡ DROP"),
      el("span", { class: "drop-clock", role: "timer", "aria-label": "Time left" },
        el("span", { id: "drop-countdown", class: "drop-countdown" }, over ? "Ended" : clock(d.ends_at - Date.now())))),
    el("div", { class: "drop-main" },
      image ? el("img", { src: image, alt: "", width: 88, height: 88, class: "drop-img" }) : el("span", { class: "drop-img" }),
      el("div", { class: "drop-info" },
        el("h3", { id: "drop-title", class: "drop-title" }, what),
        el("p", { class: "drop-prices" },
          el("span", { class: "drop-price" }, money(d.price_minor, d.currency)),
          d.regular_minor > d.price_minor ? el("s", { class: "drop-regular", "aria-label": `Regular price ${money(d.regular_minor, d.currency)}` }, money(d.regular_minor, d.currency)) : null),
        el("p", { class: "drop-left" }, el("strong", { id: "drop-remaining" }, String(d.remaining)), ` of ${d.quantity} left · limit ${d.per_buyer_limit} per buyer`),
        el("div", { class: "drop-bar", role: "presentation" }, el("span", { style: `width:${pct}%` })))),
    ui.dropNote && ui.dropNote.drop_id === d.drop_id && s === "open" ? el("p", { class: "banner warn", role: "alert" }, ui.dropNote.text) : null,
    el("div", { class: "drop-actions" }, ...(isStaff(ui.view) ? hostPart(d) : viewerPart(d, s))));
}

export function renderDrops() {
  if (!isLive() || !ui.view) return;
  const box = $("drop");
  if (!box) return;
  const d = latest();
  const show = d && (!isOver(d) || Date.now() - d.ends_at < 60_000 || myClaim(d) || (d.ended_at != null && Date.now() - d.ended_at < 60_000));
  const sig = show ? [d, state(d), ui.dropBusy, ui.dropNote, picked.get(d.drop_id), myOrderFor(myClaim(d)), ui.lastOrder && ui.lastOrder.order_id,
    Boolean(ui.products.get(d.sku)), may("claim_drop"), isStaff(ui.view)] : null;
  region("drop", sig, () => {
    box.replaceChildren(...(show ? [card(d)] : []));
    box.hidden = !show;
  });
  renderHostForm();
}

// the countdown: a text node a few times a second; the card redraws once the drop ends
setInterval(() => {
  const d = ui.view && latest();
  const node = $("drop-countdown");
  if (!d || !node) return;
  const left = d.ends_at - Date.now();
  const text = isOver(d) ? "Ended" : clock(left);
  if (node.textContent !== text) node.textContent = text;
  node.classList.toggle("hurry", !isOver(d) && left < 10_000);
  if (isOver(d) && $("drop-card") && $("drop-card").dataset.state === "open") requestRender();
}, 250);

// ---- the host's form --------------------------------------------------------------------------
function digits(currency) {
  try { return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits; } catch { return 2; }
}

function renderHostForm() {
  const tools = $("host-tools");
  if (!tools || !may("start_drop")) return;
  let form = $("drop-form");
  if (!form) {
    form = el("form", { id: "drop-form", class: "drop-form", "aria-labelledby": "drop-form-h" },
      el("h3", { id: "drop-form-h" }, "⚡ Start a drop"),
      el("div", { class: "drop-fields" },
        el("label", {}, "Product", el("select", { id: "drop-sku", required: true })),
        el("label", {}, "Option", el("select", { id: "drop-variant-fix" })),
        el("label", {}, "Drop price", el("input", { id: "drop-price", type: "number", min: "0.01", step: "0.01", required: true, inputmode: "decimal" })),
        el("label", {}, "Units", el("input", { id: "drop-quantity", type: "number", min: "1", max: "10000", value: "10", required: true })),
        el("label", {}, "Per buyer", el("input", { id: "drop-limit", type: "number", min: "1", max: "99", value: "1", required: true })),
        el("label", {}, "Countdown", el("select", { id: "drop-duration" }, ...DURATIONS.map(([s, t]) => el("option", { value: String(s), selected: s === 60 }, t))))),
      el("button", { type: "submit", class: "primary", id: "drop-start" }, "Start drop"));
    form.addEventListener("submit", (e) => { e.preventDefault(); startDrop(); });
    form.querySelector("#drop-sku").addEventListener("change", () => { fillVariants(); suggestPrice(); });
    const sales = $("sales");
    (sales || tools.querySelector("h2")).after(form);
  }
  const pins = ui.view.stage.pins;
  region("drop-form-pins", [pins, pins.map((sku) => Boolean(ui.products.get(sku)))], () => {
    const select = $("drop-sku");
    const keep = select.value;
    select.replaceChildren(...(pins.length ? pins.map((sku) => el("option", { value: sku, selected: sku === keep }, productTitle(sku)))
      : [el("option", { value: "" }, "Pin a product first")]));
    fillVariants();
    if (!$("drop-price").value) suggestPrice();
  });
  const running = latest() && !isOver(latest());
  $("drop-start").disabled = !pins.length || Boolean(running);
  $("drop-start").textContent = running ? "A drop is running" : "Start drop";
}

function fillVariants() {
  const sku = $("drop-sku").value;
  const p = ui.products.get(sku);
  const select = $("drop-variant-fix");
  select.replaceChildren(el("option", { value: "" }, hasVariants(p) ? "Viewer picks" : "—"),
    ...(hasVariants(p) ? p.variants.map((v) => el("option", { value: v.variant_id }, variantName(sku, v.variant_id))) : []));
  select.disabled = !hasVariants(p);
}

function suggestPrice() {
  const p = ui.products.get($("drop-sku").value);
  if (!p) return;
  const d = digits(p.currency);
  $("drop-price").step = d ? String(10 ** -d) : "1";
  $("drop-price").value = ((p.price_minor * 0.7) / 10 ** d).toFixed(d); // 30 % off to start with
}

async function startDrop() {
  const sku = $("drop-sku").value;
  const p = ui.products.get(sku);
  if (!sku) return;
  const d = digits((p && p.currency) || "USD");
  const price = Math.round(parseFloat($("drop-price").value) * 10 ** d);
  const ok = await send("StartDrop", {
    sku, variant: $("drop-variant-fix").value || null, price_minor: Number.isFinite(price) ? price : 0,
    quantity: parseInt($("drop-quantity").value, 10) || 0, per_buyer_limit: parseInt($("drop-limit").value, 10) || 0,
    duration_s: parseInt($("drop-duration").value, 10) || 0,
  });
  if (ok) requestRender();
}
