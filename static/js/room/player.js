// The live player (DESIGN §13): one <video> for the life of the page. Room events — chat, votes,
// pins, counts, snapshots — never touch it; only a new stream URL changes what it plays, and
// then on the same element. HLS plays through the vendored hls.js (static/vendor/) wherever the
// browser has Media Source Extensions (Chrome, Edge, Firefox, Safari on macOS, iOS 17.1+), and
// natively where it has only native HLS (older iOS). An embed URL plays in one <iframe>.
// Every wait is shown on the picture: loading, waiting for the host's encoder, cannot play here.
import { el } from "../util.js";

const HLS_URL = "/static/vendor/hls.min.mjs";
const WORKER_URL = "/static/vendor/hls.worker.js";
const HLS_MIME = "application/vnd.apple.mpegurl";
const RETRY_MS = 4000;

let nodes = null;   // the player's elements, made once
let playing = "";   // "kind url" shown now
let hls = null;     // the hls.js instance of the HLS stream shown now
let lib = null;     // the hls.js import, loaded on the first HLS stream
let retry = 0;      // a pending retry's timer
let token = 0;      // bumps on every change: late callbacks of an old stream do nothing

const hasMse = () => Boolean(window.ManagedMediaSource || window.MediaSource);
const loadHls = () => (lib ||= import(HLS_URL).then((m) => m.default));

/** Make the player inside ``box`` (once; later calls return the same elements). */
export function mountPlayer(box) {
  if (nodes) return nodes;
  const video = el("video", { playsinline: true, autoplay: true, muted: true, controls: true, "aria-label": "Live video", hidden: true });
  video.muted = true; // the attribute only sets the default; autoplay needs the property
  const status = el("p", { class: "player-status", role: "status", hidden: true });
  const unmute = el("button", { type: "button", class: "player-unmute", hidden: true,
    onclick: () => { video.muted = false; video.play().catch(() => {}); } }, "🔇 Tap for sound");
  const link = el("a", { class: "player-open", rel: "noopener", target: "_blank", hidden: true }, "Open the video");
  const empty = el("p", { class: "stream-empty", hidden: true });
  const frame = el("div", { class: "player-frame" }, video, status, unmute);
  nodes = { box, video, frame, status, unmute, link, empty, iframe: null };
  box.replaceChildren(frame, empty, link);
  video.addEventListener("playing", () => { say(""); });
  video.addEventListener("waiting", () => { if (video.currentTime > 0) say("Buffering…"); });
  video.addEventListener("volumechange", () => { unmute.hidden = !video.muted || video.hidden; });
  video.addEventListener("error", () => { if (video.dataset.engine === "native") later(() => startNative(video.dataset.src)); });
  return nodes;
}

/** What the player shows: ``stream`` is ``{url, kind}`` or null; ``emptyText`` when there is none. */
export function showStream(stream, emptyText) {
  const n = nodes;
  if (!n) return;
  const key = stream ? `${stream.kind} ${stream.url}` : "";
  n.empty.textContent = emptyText;
  if (key === playing) return;
  playing = key;
  stop();
  n.empty.hidden = Boolean(stream);
  n.frame.hidden = !stream || stream.kind !== "hls";
  if (!stream) return;
  if (stream.kind === "hls") playHls(stream.url);
  else playEmbed(stream.url);
}

function say(text, { offer = false } = {}) {
  const n = nodes;
  n.status.textContent = text;
  n.status.hidden = !text;
  n.link.hidden = !offer;
}

function later(fn) {
  const mine = token;
  clearTimeout(retry);
  retry = setTimeout(() => { if (mine === token) fn(); }, RETRY_MS);
}

/** Stop what plays: the element stays, only its source goes. */
function stop() {
  token += 1;
  clearTimeout(retry);
  const n = nodes;
  if (hls) { hls.destroy(); hls = null; }
  const v = n.video;
  if (v.getAttribute("src")) { v.removeAttribute("src"); v.load(); }
  v.hidden = true;
  delete v.dataset.engine;
  delete v.dataset.src;
  n.unmute.hidden = true;
  if (n.iframe) { n.iframe.remove(); n.iframe = null; }
  say("");
}

function playHls(url) {
  const n = nodes;
  const v = n.video;
  v.hidden = false;
  v.dataset.src = url;
  n.link.href = url;
  n.unmute.hidden = !v.muted;
  say("Loading the video…");
  if (hasMse()) {
    const mine = token;
    loadHls().then((Hls) => {
      if (mine !== token) return;
      if (Hls.isSupported()) startHls(Hls, url);
      else if (v.canPlayType(HLS_MIME)) startNative(url);
      else say("This browser cannot play the video.", { offer: true });
    }, () => { if (mine === token) fallback(url); });
  } else {
    fallback(url);
  }
}

function fallback(url) {
  if (nodes.video.canPlayType(HLS_MIME)) startNative(url);
  else say("This browser cannot play the video.", { offer: true });
}

/** Start playing; a browser that refuses even muted autoplay (a battery saver) leaves it to the
 * viewer's play button, and the picture says so. */
function tryPlay() {
  const mine = token;
  nodes.video.play().catch((err) => {
    if (err && err.name === "NotAllowedError" && mine === token && nodes.video.paused) say("Press ▶ to watch");
  });
}

function startNative(url) {
  const v = nodes.video;
  v.dataset.engine = "native";
  v.src = url;
  tryPlay();
}

function startHls(Hls, url) {
  const v = nodes.video;
  if (hls) hls.destroy();
  v.dataset.engine = "hls.js";
  hls = new Hls({ workerPath: WORKER_URL, lowLatencyMode: true, backBufferLength: 30 });
  const mine = hls;
  hls.on(Hls.Events.MANIFEST_PARSED, () => tryPlay());
  hls.on(Hls.Events.ERROR, (_name, data) => {
    if (!data.fatal || hls !== mine) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      // the host's encoder has not started yet, or the network dropped: keep trying
      say("Waiting for the video…");
      later(() => startHls(Hls, url));
      return;
    }
    say("The video cannot play here.", { offer: true });
  });
  hls.loadSource(url);
  hls.attachMedia(v);
}

/** An embed (YouTube, Vimeo, a provider's player) in one iframe, made for its URL. */
function playEmbed(url) {
  const n = nodes;
  n.iframe = el("iframe", { src: url, title: "Live video", allow: "autoplay; fullscreen; picture-in-picture",
    sandbox: "allow-scripts allow-same-origin allow-presentation", referrerpolicy: "no-referrer" });
  n.box.prepend(n.iframe);
}
