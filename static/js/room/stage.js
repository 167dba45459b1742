// The live stage: the stream (built once per URL: chat and votes never restart the video),
// announcements, pinned products, the viewer count and the host's controls.
import { el, money } from "../util.js";
import { $, hasVariants, isLive, may, productTitle, send, ui } from "./ctx.js";
import { keyed, region } from "./dom.js";
import { quickAdd } from "./product.js";

export function renderStage() {
  if (!isLive()) return;
  const v = ui.view;
  const s = v.stage.stream;
  region("stream", [s && s.url, s && s.kind, !s && may("set_stream")], () => {
    const stream = $("stream");
    stream.replaceChildren();
    if (s && s.kind === "hls") {
      stream.append(el("video", { src: s.url, controls: true, playsinline: true, autoplay: true, muted: true, "aria-label": "Live video" }),
        el("p", { class: "small muted" }, "Video not playing? ", el("a", { href: s.url, rel: "noopener", target: "_blank" }, "Open the stream")));
    } else if (s && s.kind === "embed") {
      stream.append(el("iframe", { src: s.url, title: "Live video", allow: "autoplay; fullscreen; picture-in-picture",
        sandbox: "allow-scripts allow-same-origin allow-presentation", referrerpolicy: "no-referrer", loading: "lazy" }));
    } else {
      stream.append(el("p", { class: "muted stream-empty" }, may("set_stream") ? "No video yet: paste an HLS (.m3u8) or embed URL below." : "The host has not started a video."));
    }
  });
  const anns = v.stage.announcements.slice(-3);
  region("announcements", anns.map((a) => a.announcement_id), () => {
    keyed($("announcements"), anns, { key: (a) => a.announcement_id, sig: (a) => a.text, render: (a) => el("p", { class: "announcement" }, "📣 ", a.text) });
  });
  const pins = v.stage.pins.map((sku) => ({ sku, p: ui.products.get(sku) || null }));
  const flags = [v.phase === "open", may("unpin_product"), may("add_line")];
  region("pins", [pins, flags], () => {
    keyed($("pins"), pins, {
      key: (x) => x.sku,
      sig: (x) => [x.p, flags],
      empty: () => el("li", { class: "muted small" }, "Nothing pinned yet."),
      render: ({ sku, p }) => el("li", { class: "pin", dataset: { sku } },
        p && p.image ? el("img", { src: p.image, alt: "", width: 64, height: 48 }) : null,
        el("span", { class: "pin-title" }, productTitle(sku)),
        p ? el("span", { class: "price" }, money(p.price_minor, p.currency)) : null,
        el("button", { type: "button", class: "primary", disabled: v.phase !== "open" || !may("add_line"), dataset: { fk: `pin-add-${sku}` },
          "aria-label": `${hasVariants(p) ? "Choose options for" : "Add"} ${productTitle(sku)}${hasVariants(p) ? "" : " to my cart"}`, onclick: () => quickAdd(sku) },
        hasVariants(p) ? "Choose options" : "Add to my cart"),
        may("unpin_product") ? el("button", { type: "button", class: "link", "aria-label": `Unpin ${productTitle(sku)}`, dataset: { fk: `unpin-${sku}` }, onclick: () => send("UnpinProduct", { sku }) }, "Unpin") : null),
    });
  });
  renderStageCount();
}

export function renderStageCount() {
  const node = $("viewer-count");
  if (!node || !ui.view) return;
  const n = Math.max(ui.online, 1);
  node.textContent = `${n} watching · ${ui.view.member_count} joined`;
}

export function wireStage() {
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
