// The show's page (/r/{room}/show): a countdown, "Add to calendar", "Remind me" (pressed again:
// taken back), and — for the host or a cohost (their member token in this browser) — the
// schedule, "Go live", "Cancel the show", "End the show" and the replay's URL. docs/live.md,
// "Scheduled shows". A cancelled show says so to everyone waiting, at their next poll.
//
// Going live: the page polls GET /api/v1/rooms/{room}/show (every 30 s, every 5 s in the last ten
// minutes, every 2 s once the start time has passed, with jitter). When the status turns "live",
// a viewer is moved once into the show: into the room if this browser already joined it, else to
// the join page of the show's invite. Neither page comes back here, so there is no reload loop.
import { deviceSecret } from "./device.js";
import { api, config, el, formsReady, loadMember, LOCALE, toast } from "./util.js";

const cfg = config();
const ROOM = encodeURIComponent(cfg.room_id);
const SHOW_API = `/api/v1/rooms/${ROOM}/show`;
const REMINDED = `coshop.reminded.${cfg.room_id}`;
const member = loadMember(cfg.room_id);
const staff = Boolean(member && (member.role === "host" || member.role === "cohost"));
const $ = (id) => document.getElementById(id);

let show = cfg.show;
let moving = false;
let pollTimer = null;

const WHEN = new Intl.DateTimeFormat(LOCALE, {
  weekday: "long", month: "long", day: "numeric", hour: "numeric", minute: "2-digit", timeZoneName: "short",
});

function remember(key, value) { try { localStorage.setItem(key, value); } catch { /* blocked */ } }
function recall(key) { try { return localStorage.getItem(key); } catch { return null; } }

function setText(id, text) { const node = $(id); if (node && node.textContent !== text) node.textContent = text; }

/** Everything that depends on the show, without touching what someone is typing. */
function render() {
  const card = $("show");
  card.dataset.status = show ? show.status : "none";
  if (!show) { renderHost(); return; }
  setText("show-title", show.title);
  setText("show-host", show.host_name);
  setText("show-shop", show.shop);
  document.title = `${show.title} · live show`;
  const time = $("show-time");
  if (time) { time.dateTime = new Date(show.starts_at).toISOString(); setText("show-time", WHEN.format(new Date(show.starts_at))); }
  const badges = { live: "Live now", ended: "Ended", cancelled: "Cancelled" };
  setText("show-badge", badges[show.status] || "Upcoming show");
  const waiting = show.reminders && show.status === "scheduled" ? `${new Intl.NumberFormat(LOCALE).format(show.reminders)} waiting for this show` : "";
  setText("waiting-count", waiting);
  const scheduled = show.status === "scheduled";
  $("remind-form").hidden = !scheduled || staff; // the host is not reminded of their own show
  $("countdown").hidden = !scheduled;
  document.querySelector(".calendar").hidden = !scheduled;
  $("watch-link").hidden = show.status !== "live";
  $("replay-link").hidden = !(show.status === "ended" && show.replay_url);
  $("watch-link").href = member ? show.room_url : (show.join_url || show.room_url);
  calendarLinks();
  tick();
  renderHost();
}

function calendarLinks() {
  const stamp = (ms) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
  const params = new URLSearchParams({
    action: "TEMPLATE", text: show.title, dates: `${stamp(show.starts_at)}/${stamp(show.ends_at)}`,
    details: `Hosted by ${show.host_name}. Watch and shop live: ${show.page_url}`, location: show.page_url,
  });
  const link = $("gcal-link");
  link.href = `https://calendar.google.com/calendar/render?${params}`;
  link.hidden = false;
}

function tick() {
  if (!show) return;
  const state = $("show-state");
  if (show.status === "live") {
    state.textContent = staff ? "You are live. Viewers waiting here are moving into the show." : "The show is live!";
    return;
  }
  if (show.status === "cancelled") {
    state.textContent = "This show was cancelled. Reminders are off; this page shows it if it is scheduled again.";
    return;
  }
  if (show.status === "ended") {
    state.textContent = show.replay_url ? "This show has ended. Watch the replay and shop what was shown." : "This show has ended. The replay will appear here.";
    return;
  }
  let left = Math.max(0, show.starts_at - Date.now());
  const parts = { d: Math.floor(left / 86_400_000) };
  left -= parts.d * 86_400_000;
  parts.h = Math.floor(left / 3_600_000); left -= parts.h * 3_600_000;
  parts.m = Math.floor(left / 60_000); left -= parts.m * 60_000;
  parts.s = Math.floor(left / 1000);
  for (const node of document.querySelectorAll("#countdown [data-unit]")) {
    const unit = node.dataset.unit;
    const text = String(parts[unit]).padStart(unit === "d" ? 1 : 2, "0");
    if (node.textContent !== text) node.textContent = text;
    // "0 days 00 hours" says nothing: leading units at zero are left out, as a shop's timer does
    const idle = (unit === "d" && parts.d === 0) || (unit === "h" && parts.d === 0 && parts.h === 0);
    if (node.parentElement.hidden !== idle) node.parentElement.hidden = idle;
  }
  // The status line changes at most once a minute, so a screen reader is not flooded.
  const total = show.starts_at - Date.now();
  let text;
  if (total <= 0) text = staff ? "It is time: press Go live when your stream is running." : "Starting any moment — this page opens the show when the host goes live.";
  else if (total < 60_000) text = "Starting in less than a minute";
  else if (total < 3_600_000) text = `Starts in ${Math.ceil(total / 60_000)} min`;
  else if (parts.d === 0) text = `Starts in ${parts.h} h ${parts.m} min`;
  else text = `Starts in ${parts.d} day${parts.d === 1 ? "" : "s"} ${parts.h} h`;
  if (state.textContent !== text) state.textContent = text;
}

/** Into the show, once. */
function moveIn() {
  if (moving || staff || !show || show.status !== "live") return;
  const target = member ? show.room_url : show.join_url;
  if (!target) {
    $("show-state").textContent = "The show is live, but its link was switched off. Ask the shop for a new one.";
    return;
  }
  moving = true;
  $("show-state").textContent = "We're live! Taking you to the show…";
  location.assign(target);
}

function nextPoll() {
  if (!show || show.status === "ended") return null;
  if (show.status === "cancelled") return 60_000 * (0.8 + Math.random() * 0.4); // scheduled again?
  if (show.status === "live") return staff ? 15_000 : null;
  const left = show.starts_at - Date.now();
  const base = left > 600_000 ? 30_000 : left > 0 ? 5_000 : 2_000;
  return base * (0.8 + Math.random() * 0.4);
}

async function poll() {
  clearTimeout(pollTimer);
  try {
    show = await api(SHOW_API);
    render();
    moveIn();
  } catch (err) {
    if (err.status === 404) { show = null; render(); }
  }
  const wait = nextPoll();
  if (wait !== null && !moving) pollTimer = setTimeout(poll, wait);
}

// -- Remind me ------------------------------------------------------------------------------

// What this browser asked for: {"id": the reminder's id, "email": true|false}; an older page
// kept only "device" or "email" (no id: taking it back asks the server for the id again).
function reminded() {
  const raw = recall(REMINDED);
  if (!raw) return null;
  try { const kept = JSON.parse(raw); if (kept && typeof kept === "object") return kept; } catch { /* an older value */ }
  return { id: null, email: raw === "email" };
}

function remindedState(text) {
  const button = $("remind-btn");
  button.textContent = "✓ We'll remind you";
  button.setAttribute("aria-pressed", "true");
  button.title = "Press again to take the reminder back";
  $("remind-msg").textContent = text;
}

function unremindedState(text) {
  const button = $("remind-btn");
  button.textContent = "🔔 Remind me";
  button.setAttribute("aria-pressed", "false");
  button.removeAttribute("title");
  $("remind-msg").textContent = text;
}

async function takeBack(button) {
  const kept = reminded();
  button.disabled = true;
  $("remind-msg").textContent = "Taking the reminder back…";
  try {
    let id = kept && kept.id;
    if (!id && deviceSecret()) { // an older page kept no id: this browser's reminder has one
      id = (await api(`${SHOW_API}/reminders`, { method: "POST", body: { device: deviceSecret() } })).reminder_id;
    }
    if (!id) throw Object.assign(new Error("this browser no longer knows the reminder"), { code: "unknown" });
    let left = null;
    try {
      left = (await api(`${SHOW_API}/reminders/${encodeURIComponent(id)}`, { method: "DELETE" })).reminders;
    } catch (err) { if (err.code !== "reminder_not_found") throw err; } // taken back already
    try { localStorage.removeItem(REMINDED); } catch { /* blocked */ }
    unremindedState(`No reminder from ${show.shop} for this show.`);
    if (left !== null) { show.reminders = left; render(); }
  } catch (err) {
    $("remind-msg").textContent = err.code === "unknown"
      ? `This browser cannot take it back: ask ${show.shop} to stop the e-mail.`
      : `Could not take the reminder back: ${err.message}`;
  } finally {
    button.disabled = false;
  }
}

$("remind-form")?.addEventListener("submit", async (event) => {
  event.preventDefault();
  if ($("remind-btn").getAttribute("aria-pressed") === "true") { await takeBack($("remind-btn")); return; }
  const body = {};
  const device = deviceSecret();
  if (device) body.device = device;
  const email = $("remind-email-input").value.trim();
  if (email) body.email = email;
  if (!body.device && !body.email) {
    $("remind-msg").textContent = "Type your e-mail address under “Also e-mail me”: this browser cannot keep a reminder.";
    return;
  }
  const button = $("remind-btn");
  button.disabled = true;
  $("remind-msg").textContent = "Saving…";
  try {
    const res = await api(`${SHOW_API}/reminders`, { method: "POST", body });
    button.disabled = false;
    remember(REMINDED, JSON.stringify({ id: res.reminder_id, email: Boolean(email) }));
    remindedState(email ? `We'll tell ${show.shop} to e-mail you when it starts. Keep this page open to go straight in.` : `${show.shop} will remind you. Keep this page open to go straight in when it starts.`);
    show.reminders = res.reminders;
    render();
  } catch (err) {
    const known = {
      invalid_email: "That e-mail address does not look right.",
      show_started: "The show is live already!",
      show_cancelled: "This show was cancelled.",
      rate_limited: "Too many tries: wait a moment and press again.",
    };
    $("remind-msg").textContent = known[err.code] || `Could not save the reminder: ${err.message}`;
  } finally {
    button.disabled = false;
  }
});

$("share-btn")?.addEventListener("click", async () => {
  const url = show.page_url;
  try {
    if (navigator.share) await navigator.share({ title: show.title, url });
    else { await navigator.clipboard.writeText(url); toast("Link copied"); }
  } catch { /* the person closed the share sheet */ }
});

// -- the host's controls ----------------------------------------------------------------------

function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

function hostError(err, where) {
  const known = {
    show_start_invalid: "Pick a start time from now to a year ahead.",
    show_started: "The show is already live: it cannot be rescheduled or cancelled.",
    show_cancelled: "The show was cancelled: schedule it again first.",
    invalid_url: "The link must start with https://.",
    forbidden: "Only the host, a cohost or the shop can change the show.",
    unauthorized: "Open the room with your manage link first.",
  };
  $(where).textContent = known[err.code] || err.message;
}

let prefilled = false;
function renderHost() {
  const panel = $("host-panel");
  if (!staff) return;
  panel.hidden = false;
  const status = show ? show.status : "none";
  $("schedule-form").hidden = status !== "scheduled" && status !== "none" && status !== "cancelled";
  // once scheduled, the form is "Change the schedule", folded: the host's page is the show
  const box = $("schedule-box");
  box.hidden = $("schedule-form").hidden;
  const fold = status === "scheduled";
  if (box.dataset.fold !== String(fold)) { box.dataset.fold = String(fold); box.open = !fold; }
  $("schedule-summary").hidden = !fold;
  $("replay-form").hidden = status !== "live" && status !== "ended";
  if (!prefilled) {
    prefilled = true;
    const start = show ? show.starts_at : Math.ceil((Date.now() + 3_600_000) / 900_000) * 900_000;
    $("sch-title").value = show ? show.title : cfg.title;
    $("sch-start").value = localInput(start);
    $("sch-duration").value = String(show ? show.duration_min : 60);
    if (![...$("sch-duration").options].some((o) => o.selected && o.value === String(show ? show.duration_min : 60))) {
      $("sch-duration").append(el("option", { value: String(show.duration_min), selected: true }, `${show.duration_min} min`));
    }
    $("sch-cover").value = (show && show.cover_url) || "";
    $("sch-description").value = (show && show.description) || "";
    if (show && show.replay_url) $("replay-url").value = show.replay_url;
    if (show) $("replay-offset").value = String(Math.round(show.replay_offset_ms / 1000));
  }
  const live = $("host-live");
  const actions = [];
  if (status === "scheduled") {
    actions.push(el("button", { type: "button", class: "primary big", id: "go-live", onclick: goLive }, "● Go live now"));
    actions.push(el("button", { type: "button", class: "danger", id: "cancel-show", onclick: cancelShow }, "Cancel the show"));
  }
  if (status === "live") {
    actions.push(el("a", { class: "button primary", href: show.room_url, id: "open-room" }, "Open the show room"));
    actions.push(el("button", { type: "button", id: "end-show", onclick: endShow }, "End the show"));
  }
  if (status === "ended" && show.replay_url) {
    actions.push(el("a", { class: "button", href: show.replay_page_url, id: "open-replay" }, "Open the replay"));
  }
  const key = `${status}:${Boolean(show && show.replay_url)}`;
  if (live.dataset.key !== key) { live.dataset.key = key; live.replaceChildren(...actions); }
  $("host-h").textContent = status === "none" ? "Schedule this show" : status === "cancelled" ? "Schedule this show again" : "Your show";
}

async function staffCall(path, method, body) {
  return api(path, { method, body, token: member.token });
}

async function goLive() {
  const button = $("go-live");
  button.disabled = true;
  try {
    show = await staffCall(`${SHOW_API}/start`, "POST");
    render();
    toast("You are live: viewers are moving into the show");
  } catch (err) { button.disabled = false; hostError(err, "sch-msg"); }
}

async function cancelShow() {
  if (!confirm("Cancel this show? Everyone waiting on its page reads that it was cancelled, and reminders stop. You can schedule it again.")) return;
  const button = $("cancel-show");
  button.disabled = true;
  try {
    show = await staffCall(`${SHOW_API}/cancel`, "POST");
    $("sch-msg").textContent = "The show is cancelled. Pick a new time below to schedule it again.";
    render();
    toast("The show is cancelled");
  } catch (err) { button.disabled = false; hostError(err, "sch-msg"); }
}

async function endShow() {
  try { show = await staffCall(`${SHOW_API}/end`, "POST"); render(); }
  catch (err) { hostError(err, "replay-msg"); }
}

$("schedule-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const starts = new Date($("sch-start").value).getTime();
  if (!Number.isFinite(starts)) { $("sch-msg").textContent = "Pick the start date and time."; return; }
  const body = {
    title: $("sch-title").value.trim() || cfg.title,
    starts_at: starts,
    duration_min: Number($("sch-duration").value),
    description: $("sch-description").value.trim(),
    cover_url: $("sch-cover").value.trim() || null,
  };
  $("sch-msg").textContent = "Saving…";
  try {
    const created = !show;
    const revived = show && show.status === "cancelled";
    show = await staffCall(SHOW_API, "PUT", body);
    $("sch-msg").textContent = created ? "Scheduled. Share this page: people can set a reminder." : revived ? "Scheduled again." : "Saved.";
    if (created) location.reload(); // the first schedule brings the countdown's markup
    else render();
  } catch (err) { hostError(err, "sch-msg"); }
});

$("replay-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const url = $("replay-url").value.trim() || null;
  const offset = Math.max(0, Math.min(86_400, Math.round(Number($("replay-offset").value) || 0)));
  $("replay-msg").textContent = "Saving…";
  try {
    show = await staffCall(`${SHOW_API}/replay`, "PUT", { url, offset_s: offset });
    $("replay-msg").textContent = url ? "The replay is published." : "The replay was removed.";
    render();
  } catch (err) { hostError(err, "replay-msg"); }
});

if (show && show.status === "scheduled" && reminded()) remindedState("You asked to be reminded. Press again to take it back.");
formsReady();
render();
setInterval(tick, 1000);
if (show && show.status === "live") moveIn();
const first = nextPoll();
if (first !== null && !moving) pollTimer = setTimeout(poll, Math.min(first, 5_000));
