// The live stage: the player (player.js: one video element for the page's life, so chat, votes
// and counts never restart it), announcements, the pinned products under the video, the one
// viewer count and the host's controls.
import { el, LOCALE, money } from "../util.js";
import { $, cfg, hasVariants, isLive, may, productTitle, send, ui } from "./ctx.js";
import { keyed, region } from "./dom.js";
import { mountPlayer, showStream } from "./player.js";
import { quickAdd, quickBuy } from "./product.js";
import { canBuyNow } from "./buy.js";

export function renderStage() {
  if (!isLive()) return;
  const v = ui.view;
  const show = v.checkout.show || {};
  const ended = show.ended_at != null;
  const s = ended ? null : v.stage.stream;
  mountPlayer($("stream"));
  showStream(s ? { url: s.url, kind: s.kind } : null,
    ended ? "The show has ended."
      : may("set_stream") ? "No video yet: paste an HLS (.m3u8) or embed URL in the host controls." : "No video right now. Stay here: it starts by itself when the host goes live.");
  renderEnded(ended, Boolean(show.replay));
  // the latest announcement sits on the picture, once (no toast: on a phone it would cover the
  // order sheet); #announcements is a polite live region, so screen readers hear it too
  const anns = ended ? [] : v.stage.announcements.slice(-1);
  region("announcements", anns.map((a) => a.announcement_id), () => {
    keyed($("announcements"), anns, { key: (a) => a.announcement_id, sig: (a) => a.text, render: (a) => el("p", { class: "announcement" }, "📣 ", a.text) });
  });
  const pins = v.stage.pins.map((sku) => ({ sku, p: ui.products.get(sku) || null }));
  const flags = [v.phase === "open", may("unpin_product"), may("add_line"), canBuyNow()];
  region("pins", [pins, flags], () => {
    keyed($("pins"), pins, {
      key: (x) => x.sku,
      sig: (x) => [x.p, flags],
      empty: () => el("li", { class: "pins-empty" }, may("pin_product") ? "Pin a product from the list below: it shows here for everyone, with its Add button." : "Products the host shows appear here."),
      render: ({ sku, p }) => pinCard(sku, p),
    });
  });
  $("stage").classList.toggle("has-pins", pins.length > 0);
  $("pins-h").textContent = pins.length > 1 ? `Shop the show · ${pins.length}` : "Shop the show";
  showMorePins();
  renderStageCount();
}

/** Beside the video (a desktop) the pinned products scroll in a column as tall as the player:
 * when some are below its fold, "↓ N more" says so and scrolls to the next one. */
function hiddenPins() {
  const list = $("pins");
  if (!list || getComputedStyle(list).flexDirection !== "column") return [];
  const bottom = list.getBoundingClientRect().bottom;
  return [...list.querySelectorAll(".pin")].filter((node) => node.getBoundingClientRect().bottom > bottom + 1);
}

function showMorePins() {
  const more = $("pins-more");
  if (!more) return;
  const below = hiddenPins();
  more.hidden = below.length === 0;
  const text = `↓ ${below.length} more`;
  if (more.textContent !== text) more.textContent = text;
  more.setAttribute("aria-label", `${below.length} more pinned ${below.length === 1 ? "product" : "products"}: scroll down`);
}

/** After the show (the show's page ended it; the room was told): no more "● LIVE", stream or
 * announcement — "The show has ended" on the picture, with the replay's link once it is set. */
function renderEnded(ended, replay) {
  region("show-ended", [ended, replay], () => {
    const badge = document.querySelector("#stage .on-air .badge");
    badge.classList.toggle("live", !ended);
    badge.classList.toggle("ended", ended);
    badge.textContent = ended ? "Ended" : "Live";
    $("stage").classList.toggle("show-over", ended);
    let panel = $("show-ended");
    if (!ended) { if (panel) panel.remove(); return; }
    if (!panel) {
      panel = el("div", { id: "show-ended", class: "show-ended", role: "status" });
      document.querySelector("#stage .player").append(panel);
    }
    const room = encodeURIComponent(cfg.room_id);
    panel.replaceChildren(el("h3", {}, "The show has ended"),
      replay ? el("a", { class: "button primary", href: `/r/${room}/replay` }, "▶ Watch the replay")
        : el("p", {}, "Thanks for watching! The replay appears here once the host publishes it."),
      el("p", { class: "small" }, "You can still buy what was on the show below."));
  });
}

/** A pinned product: picture, name, price, one "Add to cart" (the variant sheet asks for options). */
function pinCard(sku, p) {
  const title = productTitle(sku);
  const soldOut = Boolean(p) && p.in_stock === false && !(p.variants || []).some((x) => x.in_stock);
  const low = p && !hasVariants(p) && p.stock != null && p.stock > 0 && p.stock <= 5 ? `Only ${p.stock} left` : "";
  const canAdd = ui.view.phase === "open" && may("add_line") && !soldOut;
  const canBuy = canAdd && canBuyNow();
  return el("li", { class: "pin", dataset: { sku } },
    p && p.image ? el("img", { src: p.image, alt: "", width: 96, height: 72, loading: "lazy" }) : el("span", { class: "pin-img" }),
    el("span", { class: "pin-body" },
      el("span", { class: "pin-title" }, title),
      el("span", { class: "pin-meta" },
        p ? el("span", { class: "price" }, hasVariants(p) && p.variants.some((x) => x.price_minor !== p.price_minor) ? "From " : "", money(p.price_minor, p.currency))
          : el("span", { class: "muted small" }, "Loading…"),
        low ? el("span", { class: "stock low small" }, low) : null),
      el("button", { type: "button", class: `${canBuy ? "secondary" : "primary"} pin-add`, disabled: !canAdd, dataset: { fk: `pin-add-${sku}` },
        "aria-label": soldOut ? `Sold out: ${title}` : `Add to cart: ${title}`, onclick: () => quickAdd(sku) },
      soldOut ? "Sold out" : "Add to cart"),
      canBuy ? el("button", { type: "button", class: "primary pin-buy", dataset: { fk: `pin-buy-${sku}` },
        "aria-label": `Buy now: ${title}`, onclick: () => quickBuy(sku) }, "Buy now") : null),
    may("unpin_product") ? el("button", { type: "button", class: "pin-unpin", "aria-label": `Unpin ${title}`, title: "Unpin", dataset: { fk: `unpin-${sku}` }, onclick: () => send("UnpinProduct", { sku }) }, "✕") : null);
}

const COUNT = new Intl.NumberFormat(LOCALE);

/** One honest number: the people connected to the show now (the server counts them, after
 * leaves, bans and reconnects; a live audience never sees the other viewers' joins). */
export function renderStageCount() {
  const node = $("viewer-count");
  if (!node || !ui.view) return;
  const n = ui.online;
  node.textContent = n > 0 ? `${COUNT.format(n)} watching` : "";
  node.hidden = !(n > 0);
}

export function wireStage() {
  const pinsList = $("pins");
  if (pinsList) {
    pinsList.addEventListener("scroll", showMorePins, { passive: true });
    pinsList.addEventListener("load", showMorePins, true); // a picture changes a card's height
    window.addEventListener("resize", showMorePins);
    $("pins-more").addEventListener("click", () => {
      const next = hiddenPins()[0];
      if (next) pinsList.scrollBy({ top: next.getBoundingClientRect().bottom - pinsList.getBoundingClientRect().bottom + 4, behavior: "smooth" });
    });
  }
  const streamForm = $("stream-form");
  if (!streamForm) return;
  streamForm.addEventListener("submit", (e) => { e.preventDefault(); const url = $("stream-url").value.trim(); if (url) send("SetStream", { url }); });
  $("stream-clear").addEventListener("click", () => send("SetStream", { url: null }));
  $("announce-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("announce-text").value.trim();
    if (t) send("Announce", { text: t }).then((ok) => { if (ok) $("announce-text").value = ""; });
  });
  $("slow-mode").addEventListener("change", (e) => send("SetSlowMode", { seconds: parseInt(e.target.value, 10) || 0 }));
}
