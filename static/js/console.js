// The merchant console: a client of the merchant REST routes (server/api/console.py,
// merchants.py, webhooks.py). The API key lives in this tab's sessionStorage only.
import { api, clear, config, el, formsReady, money } from "./util.js";

const KEY = "coshop:console-key";
const cfg = config();
const $ = (id) => document.getElementById(id);
const state = { key: null, merchant: null, publishable: null };

const when = (ms) => (ms ? new Date(ms).toLocaleString("en-US", { dateStyle: "medium", timeStyle: "short" }) : "—");
const call = (path, opts = {}) => api(path, { ...opts, token: state.key });

function say(text) { $("console-status").textContent = text; }

// An error shows next to its field: the field that caused it is marked invalid and described
// by the message (data-field on the error node names the input).
function showError(node, err) {
  node.textContent = err ? err.message : "";
  node.hidden = !err;
  const field = node.dataset.field ? $(node.dataset.field) : null;
  if (field) {
    if (err) field.setAttribute("aria-invalid", "true");
    else field.removeAttribute("aria-invalid");
  }
}

/** After an action that replaced what had focus, put focus on what the action produced (a
 * keyboard user would otherwise be thrown back to the top of the page). */
function focusOn(node) {
  if (!node) return;
  if (!node.matches("a[href], button, input, select, textarea, [tabindex]")) node.setAttribute("tabindex", "-1");
  node.focus();
}

/** Run a button's action; a refusal is said next to the button's card, never swallowed. */
function action(fn, where) {
  return async () => {
    try {
      await fn();
    } catch (err) {
      if (err.status === 401) { signOut("Your API key no longer works: sign in with the current one."); return; }
      const box = where();
      const note = box && (box.querySelector(":scope > .error.action-error") || box.appendChild(el("p", { class: "error action-error", role: "alert" })));
      if (note) { note.textContent = `That did not work: ${err.message}`; note.hidden = false; }
      say(`That did not work: ${err.message}`);
    }
  };
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    const before = button.textContent;
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = before; }, 1500);
  } catch {
    say("Copy did not work here: select the text and copy it yourself.");
  }
}

// ---- sign in ---------------------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  state.merchant = await call("/api/v1/merchant");
  sessionStorage.setItem(KEY, key);
  $("sign-in").hidden = true;
  $("console").hidden = false;
  $("console-who").hidden = false;
  $("console-shop").textContent = state.merchant.name;
  await openTab(location.hash.slice(1) || "setup");
  focusOn(document.querySelector(".tab:not([hidden]) h2"));
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  state.key = null;
  $("console").hidden = true;
  $("console-who").hidden = true;
  $("sign-in").hidden = false;
  showError($("sign-in-error"), message ? { message } : null);
}

// ---- tabs --------------------------------------------------------------------------------

const TABS = { setup: renderSetup, catalog: renderCatalog, rooms: renderRooms, store: renderStore, orders: renderOrders, analytics: renderAnalytics, webhooks: renderWebhooks, keys: renderKeys };

async function openTab(name) {
  const tab = TABS[name] ? name : "setup";
  for (const id of Object.keys(TABS)) $(`tab-${id}`).hidden = id !== tab;
  for (const link of document.querySelectorAll(".console-nav a")) {
    if (link.dataset.tab === tab) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    await TABS[tab]();
  } catch (err) {
    if (err.status === 401) signOut("Your API key no longer works: sign in with the current one.");
    else say(`Could not load: ${err.message}`);
  }
}

// ---- set up: origins and the snippet ---------------------------------------------------

async function renderSetup() {
  const list = clear($("origins-list"));
  if (!state.merchant.origins.length) list.append(el("li", { class: "muted" }, "No origin yet: the widget opens nowhere."));
  for (const origin of state.merchant.origins) {
    list.append(el("li", { class: "chip", "data-origin": origin }, origin, " ",
      el("button", { type: "button", class: "link danger", "aria-label": `Remove ${origin}`, onclick: () => saveOrigins(state.merchant.origins.filter((o) => o !== origin)) }, "Remove")));
  }
  await renderBlocked();
  state.publishable = await call("/api/v1/merchant/publishable-key");
  const pk = state.publishable;
  $("snippet-none").hidden = Boolean(pk.publishable_key);
  $("snippet-box").hidden = !pk.publishable_key;
  if (pk.publishable_key) {
    $("snippet").textContent = pk.snippet;
    if (pk.sign_url) $("sign-link").href = pk.sign_url;
  }
}

async function saveOrigins(origins) {
  try {
    state.merchant = await call("/api/v1/merchant/origins", { method: "PUT", body: { origins } });
    showError($("origin-error"), null);
    await renderSetup();
    say("Origins saved.");
    return true;
  } catch (err) {
    showError($("origin-error"), err);
    return false;
  }
}

// The sites the widget was opened on without being registered (server/api/stores.py): one click
// registers one (the same PUT as the form above), "Dismiss" forgets it.
async function renderBlocked() {
  const { blocked_origins: blocked } = await call("/api/v1/merchant/blocked-origins");
  const list = clear($("blocked-list"));
  $("blocked-box").hidden = !blocked.length;
  for (const b of blocked) {
    const times = b.count === 1 ? "once" : `${b.count} times`;
    list.append(el("li", { class: "blocked-item" },
      el("span", { class: "origin" }, b.origin),
      el("span", { class: "seen" }, `Refused ${times} · last ${when(b.last_seen_at)}`),
      el("button", { type: "button", class: "primary", "aria-label": `Register ${b.origin}`, onclick: async () => {
        if (await saveOrigins([...state.merchant.origins, b.origin])) {
          say(`${b.origin} registered: the widget opens there now.`);
          focusOn($("origins-list").querySelector(`[data-origin="${CSS.escape(b.origin)}"]`) || $("origin-input"));
        }
      } }, "Register"),
      el("button", { type: "button", class: "link", "aria-label": `Dismiss ${b.origin}`, onclick: action(async () => {
        await call(`/api/v1/merchant/blocked-origins?origin=${encodeURIComponent(b.origin)}`, { method: "DELETE" });
        await renderBlocked();
        say(`${b.origin} dismissed.`);
        focusOn($("blocked-list").querySelector("button") || $("origin-input"));
      }, () => $("blocked-box")) }, "Dismiss")));
  }
}

// ---- store mode: branding and associates (server/api/stores.py) ---------------------------

function storePreview(name, logo) {
  $("store-preview-name").textContent = name || state.merchant.name;
  const img = $("store-preview-logo");
  if (logo && /^https:\/\//.test(logo)) { img.src = logo; img.hidden = false; } else { img.hidden = true; img.removeAttribute("src"); }
}

async function renderStore() {
  const store = await call("/api/v1/merchant/store");
  // what the merchant typed while this was loading stays (a slow answer must not put the old
  // values back under their hands); the next render shows the stored ones again
  for (const [id, value] of [["store-name", store.name], ["store-logo", store.logo_url || ""]]) {
    const input = $(id);
    if (!input.dataset.typed) input.value = value;
    delete input.dataset.typed;
  }
  storePreview($("store-name").value.trim(), $("store-logo").value.trim());
  $("store-mode-state").textContent = store.store_mode
    ? "Store mode is on: shoppers who scan the sign can ask for help."
    : "Save the store's details to turn store mode on.";
  $("store-sign-link").href = store.sign_url;
  $("store-associates-link").href = store.associates_url;
  await renderAssociates();
}

async function renderAssociates() {
  const { associates } = await call("/api/v1/merchant/store/associates");
  const box = clear($("associates-box"));
  if (!associates.length) { box.append(el("p", { class: "muted" }, "No associate yet.")); return; }
  box.append(el("table", { class: "data" },
    el("caption", {}, `Associates (${associates.length})`),
    el("thead", {}, el("tr", {}, ...["Name", "Link made", "Last used", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, associates.map((a) => el("tr", { class: "associate-row" },
      el("td", {}, a.name),
      el("td", {}, when(a.created_at)),
      el("td", {}, a.last_used_at ? when(a.last_used_at) : "Not yet"),
      el("td", {}, el("button", { type: "button", class: "link danger", "aria-label": `Remove ${a.name}`, onclick: action(async () => {
        if (!confirm(`Remove ${a.name}? Their link stops working at once.`)) return;
        await call(`/api/v1/merchant/store/associates/${encodeURIComponent(a.associate_id)}`, { method: "DELETE" });
        await renderAssociates();
        say(`${a.name} removed.`);
        focusOn($("associate-name"));
      }, () => $("associates-box")) }, "Remove")))))));
}

async function saveStore(event) {
  event.preventDefault();
  const name = $("store-name").value.trim();
  const logo = $("store-logo").value.trim();
  showError($("store-name-error"), null);
  showError($("store-error"), null);
  // said in plain words next to the field, before asking the server
  if (!name) { showError($("store-name-error"), { message: "Type the store's name, as shoppers know it." }); $("store-name").focus(); return; }
  if (logo && !/^https:\/\/\S+$/i.test(logo)) {
    showError($("store-error"), { message: "The logo must be an https:// address of an image (or leave it empty)." });
    $("store-logo").focus();
    return;
  }
  try {
    await call("/api/v1/merchant/store", { method: "PUT", body: { name, logo_url: logo || null } });
    await renderStore();
    say("Store saved.");
    $("store-mode-state").textContent = `Saved. ${$("store-mode-state").textContent}`;
    focusOn($("store-mode-state"));
  } catch (err) {
    const nameError = /^name\b/.test(err.message);
    showError($(nameError ? "store-name-error" : "store-error"), err);
    $(nameError ? "store-name" : "store-logo").focus();
  }
}

async function addAssociate(event) {
  event.preventDefault();
  const name = $("associate-name").value.trim();
  if (!name) { showError($("associate-error"), { message: "Type the associate's name." }); return; }
  try {
    const created = await call("/api/v1/merchant/store/associates", { method: "POST", body: { name } });
    showError($("associate-error"), null);
    $("associate-name").value = "";
    const node = clear($("associate-link"));
    const button = el("button", { type: "button", onclick: () => copy(created.url, button) }, "Copy link");
    node.append(el("p", {}, `${created.name}'s link — shown once. Send it to them; they open it on their phone:`), el("code", { id: "associate-url" }, created.url), " ", button);
    node.hidden = false;
    await renderAssociates();
    focusOn(button);
  } catch (err) {
    showError($("associate-error"), err);
  }
}

// ---- catalogue ---------------------------------------------------------------------------

const count = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function stat(label, value) { return el("div", { class: "stat" }, el("dt", {}, label), el("dd", {}, String(value))); }

function problemTable(caption, rows) {
  return el("table", { class: "data" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Row"), el("th", { scope: "col" }, "Field"), el("th", { scope: "col" }, "Problem"))),
    el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r.row === 0 ? "file" : String(r.row)), el("td", {}, r.field || "—"), el("td", {}, `${r.message} (${r.code})`)))));
}

function importCard(report, heading) {
  const card = el("article", { class: "card import" },
    el("h3", {}, heading),
    el("p", {}, `${count(report.products, "product")} with ${count(report.variants, "variant")} loaded from ${report.source}`,
      report.pruned ? `, ${count(report.pruned, "product")} removed` : "", "."));
  const errors = report.errors || [];
  const notices = report.notices || [];
  const errorCount = report.error_count ?? errors.length;
  if (!errorCount) card.append(el("p", { class: "ok-text" }, "Every row loaded."));
  else {
    card.append(el("p", { class: "warn-text" }, `${count(errorCount, "row")} did not load: fix ${errorCount === 1 ? "it" : "them"} in your feed and upload it again.`));
    card.append(problemTable("Rows that did not load", errors));
  }
  if (notices.length) card.append(problemTable("Rows that loaded with a change", notices));
  return card;
}

async function renderCatalog() {
  const status = await call("/api/v1/merchant/catalog");
  clear($("catalog-stats")).append(
    stat("Products", status.products), stat("Variants", status.variants),
    stat("Out of stock", status.out_of_stock), stat("Last change", when(status.last_change_at)));
  const box = clear($("imports"));
  if (!status.imports.length) box.append(el("p", { class: "muted" }, "No import yet. Upload your feed above (a feed bigger than 20 MiB: ", el("code", {}, "coshop catalog import"), ")."));
  status.imports.forEach((imp, i) => box.append(importCard(imp, `${i === 0 ? "Last import" : "Import"} — ${when(imp.at)}`)));
}

async function importFeed(event) {
  event.preventDefault();
  const file = $("feed-file").files[0];
  if (!file) { showError($("import-error"), { message: "Pick a feed file first." }); return; }
  const button = event.submitter || $("import-form").querySelector("button");
  button.disabled = true;
  say("Importing…");
  try {
    const type = /\.tsv$/i.test(file.name) ? "text/tab-separated-values" : /\.(csv|txt)$/i.test(file.name) ? "text/csv" : "application/json";
    const params = new URLSearchParams({ filename: file.name, prune: String($("feed-prune").checked) });
    const res = await fetch(`/api/v1/merchant/catalog/import?${params}`, {
      method: "POST", headers: { authorization: `Bearer ${state.key}`, "content-type": type, accept: "application/json" }, body: file,
    });
    const data = await res.json();
    if (!res.ok) throw Object.assign(new Error(data.detail || data.title), { code: data.code, status: res.status });
    showError($("import-error"), null);
    await renderCatalog();
    say(`Imported ${count(data.products, "product")}.`);
    focusOn($("imports").querySelector("h3"));
  } catch (err) {
    showError($("import-error"), err);
  } finally {
    button.disabled = false;
  }
}

// ---- rooms and orders ----------------------------------------------------------------------

// A room is private to the people in it: the console does not link into it (an invite-less join
// page only says "This invite does not work"); it opens the room's figures instead.
async function showRoomFigures(room) {
  await loadRoomOptions();
  const select = $("analytics-room");
  if (![...select.options].some((o) => o.value === room.room_id)) select.append(el("option", { value: room.room_id }, roomLabel(room)));
  select.value = room.room_id;
  history.replaceState(null, "", "#analytics");
  await openTab("analytics");
  focusOn($("analytics-h"));
}

function roomRow(room) {
  const kind = room.kind === "live" ? "Live show" : "Group cart";
  return el("tr", {},
    el("td", {}, el("span", { class: "room-title" }, room.title), el("br"),
      el("span", { class: "muted small" }, `started ${when(room.created_at)}`), " ",
      el("button", { type: "button", class: "link", "aria-label": `Figures of ${room.title}, started ${when(room.created_at)}`, onclick: action(() => showRoomFigures(room), () => $("rooms-groups")) }, "Figures")),
    el("td", {}, kind),
    el("td", {}, room.closed ? "Closed" : "Open"),
    el("td", {}, room.join_policy === "customers_only" ? "Signed-in customers" : "Anyone with a link"),
    el("td", {}, when(room.last_activity_at || room.created_at)));
}

async function renderRooms() {
  const { rooms } = await call("/api/v1/merchant/rooms?limit=100");
  const box = clear($("rooms-groups"));
  if (!rooms.length) {
    box.append(el("p", { class: "muted" }, "No rooms yet. Shoppers start them from your widget or your store sign: paste the snippet from ",
      el("a", { href: "#setup", onclick: (e) => { e.preventDefault(); history.replaceState(null, "", "#setup"); openTab("setup"); } }, "Set up"), "."));
    return;
  }
  const groups = [
    ["Live shows", rooms.filter((r) => r.kind === "live" && !r.closed)],
    ["Group carts", rooms.filter((r) => r.kind === "group" && !r.closed)],
    ["Closed", rooms.filter((r) => r.closed)],
  ];
  for (const [title, list] of groups) {
    if (!list.length) continue;
    box.append(el("table", { class: "data" },
      el("caption", {}, `${title} (${list.length})`),
      el("thead", {}, el("tr", {}, ...["Room", "Kind", "Status", "Who may join", "Last activity"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, list.map(roomRow))));
  }
}

const ORDER_STATUS = { collecting: "Collecting payments", authorized: "Authorised", paid: "Paid", void: "Cancelled", refunded: "Refunded" };

async function renderOrders() {
  const [{ orders }, { rooms }] = await Promise.all([call("/api/v1/merchant/orders?limit=100"), call("/api/v1/merchant/rooms?limit=100")]);
  const titles = new Map(rooms.map((r) => [r.room_id, r.title]));
  const box = clear($("orders-box"));
  if (!orders.length) {
    box.append(el("p", { class: "muted" }, "No orders yet. When a group pays, its order shows here with each payer's share; your backend hears it as order.paid (Webhooks)."));
    return;
  }
  const paid = orders.filter((o) => o.status === "paid");
  const revenue = new Map();
  for (const o of paid) revenue.set(o.currency, (revenue.get(o.currency) || 0) + o.paid_minor - o.refunded_minor);
  box.append(el("dl", { class: "stats" },
    stat("Orders", orders.length), stat("Paid", paid.length),
    stat("Revenue", [...revenue].map(([c, m]) => money(m, c)).join(" + ") || money(0, "USD"))));
  box.append(el("table", { class: "data" },
    el("caption", {}, "Latest orders"),
    el("thead", {}, el("tr", {}, ...["Order", "Room", "Status", "Total", "Paid", "Payers", "Opened"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, orders.map((o) => el("tr", {},
      el("td", {}, el("code", {}, o.order_id)),
      el("td", {}, titles.get(o.room_id) || "A room no longer listed"),
      el("td", {}, ORDER_STATUS[o.status] || o.status),
      el("td", {}, money(o.total_minor, o.currency)),
      el("td", {}, money(o.paid_minor, o.currency)),
      el("td", {}, `${o.paid_payers} of ${o.payers} paid`),
      el("td", {}, when(o.created_at)))))));
}

// ---- analytics ---------------------------------------------------------------------------

const CAUSE_NAMES = {
  poll: "A poll it won", pin: "Pinned on stage", bring: "“Bring everyone here”", announcement: "An announcement",
  associate: "A store associate", friend: "A friend added it", self: "Found it themselves",
};
const revenueText = (revenue) => Object.entries(revenue).map(([c, m]) => money(m, c)).join(" + ") || money(0, "USD");

function funnelChart(funnel) {
  const steps = [["Joined", funnel.joined], ["Added to cart", funnel.added], ["Checked out", funnel.checked_out], ["Paid", funnel.paid]];
  const top = Math.max(1, funnel.joined);
  return el("figure", { class: "card funnel" },
    el("figcaption", {}, el("h3", {}, "Funnel")),
    el("ol", {}, steps.map(([label, n], i) => {
      const rate = i === 0 ? "" : ` · ${Math.round((100 * n) / Math.max(1, steps[i - 1][1]))}% of the step before`;
      const bar = el("span", { class: "bar", "aria-hidden": "true" });
      bar.style.setProperty("--w", `${Math.round((100 * n) / top)}%`); // CSSOM: allowed by the CSP
      return el("li", {}, el("span", { class: "label" }, label), bar, el("span", { class: "value" }, `${n}${rate}`));
    })));
}

// Shopper rooms often share a title ("Shopping at <shop>"): those are told apart by when they started.
const roomLabel = (r, twin = true) => `${r.kind === "live" ? "Show" : "Room"}: ${r.title}${twin ? ` (${when(r.created_at)})` : ""}`;

async function loadRoomOptions() {
  const select = $("analytics-room");
  if (select.options.length > 1) return;
  const { rooms } = await call("/api/v1/merchant/rooms?limit=100");
  const count = new Map();
  for (const r of rooms) count.set(r.title, (count.get(r.title) || 0) + 1);
  for (const r of rooms) select.append(el("option", { value: r.room_id }, roomLabel(r, count.get(r.title) > 1)));
}

async function renderAnalytics() {
  const select = $("analytics-room");
  await loadRoomOptions();
  const query = select.value ? `?room_id=${encodeURIComponent(select.value)}` : "";
  const data = await call(`/api/v1/merchant/analytics${query}`);
  const box = clear($("analytics-box"));
  box.append(el("dl", { class: "stats" },
    stat("Rooms", data.rooms_count), stat("Carts", data.carts), stat("Orders", data.orders),
    stat("Paid orders", data.paid_orders), stat("Revenue", revenueText(data.revenue))));
  box.append(funnelChart(data.funnel));
  const causes = Object.entries(data.attribution);
  box.append(causes.length
    ? el("table", { class: "data" },
      el("caption", {}, "What led to each sale"),
      el("thead", {}, el("tr", {}, ...["Led by", "Lines", "Units", "Value"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, causes.map(([cause, a]) => el("tr", {},
        el("td", {}, CAUSE_NAMES[cause] || cause), el("td", {}, String(a.lines)), el("td", {}, String(a.units)), el("td", {}, revenueText(a.value))))))
    : el("p", { class: "muted" }, "No paid order yet: what led to each sale shows here."));
  if (data.truncated) box.append(el("p", { class: "hint" }, "Only your 500 newest rooms are counted here."));
}

async function downloadCsv(table) {
  const select = $("analytics-room");
  const params = new URLSearchParams({ table });
  if (select.value) params.set("room_id", select.value);
  const res = await fetch(`/api/v1/merchant/analytics.csv?${params}`, { headers: { authorization: `Bearer ${state.key}` } });
  if (!res.ok) { say("The download did not work: try again."); return; }
  const link = el("a", { href: URL.createObjectURL(await res.blob()), download: `coshop-${table}.csv` });
  document.body.append(link);
  link.click();
  link.remove();
}

// ---- webhooks ------------------------------------------------------------------------------

function eventBoxes() {
  const box = $("webhook-events");
  if (box.querySelector("input")) return;
  for (const name of cfg.webhook_events || []) {
    const id = `ev-${name.replace(/\W/g, "-")}`;
    box.append(el("label", { class: "choice", for: id }, el("input", { type: "checkbox", id, value: name, checked: true }), ` ${name}`));
  }
}

function showSecret(text, url) {
  const node = clear($("webhook-secret"));
  const button = el("button", { type: "button", onclick: () => copy(text, button) }, "Copy secret");
  node.append(el("p", {}, `Signing secret for ${url} — shown once, keep it in your backend: `), el("code", {}, text), " ", button);
  node.hidden = false;
  return button;
}

// A delivery's state in words (server/webhooks/store.py: pending, retrying, delivered, failed)
// with what the receiver answered; a queued one waits for the room's earlier events (in order).
const DELIVERY_STATES = { pending: "Queued", retrying: "Retrying", delivered: "Delivered", failed: "Failed, no more retries" };
function deliveryState(d) {
  const answer = d.last_status ? `your server answered HTTP ${d.last_status}` : d.last_error ? d.last_error : "";
  return `${DELIVERY_STATES[d.status] || d.status}${answer && d.status !== "delivered" ? ` — ${answer}` : ""}`;
}

async function deliveries(endpoint, target) {
  const { deliveries: rows } = await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}/deliveries?limit=20`);
  clear(target);
  if (!rows.length) { target.append(el("p", { class: "muted" }, "Nothing sent yet.")); return; }
  target.append(el("table", { class: "data" },
    el("caption", {}, "Latest deliveries ", el("span", { class: "muted small" }, "(each room's events go out in order, so one that is retrying can hold back the ones after it)")),
    el("thead", {}, el("tr", {}, ...["Event", "Status", "Attempts", "When", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((d) => el("tr", {},
      el("td", {}, d.event_type),
      el("td", { class: `delivery-${d.status}` }, deliveryState(d)),
      el("td", {}, String(d.attempts)),
      el("td", {}, when(d.created_at)),
      el("td", {}, d.status === "pending" ? "" : el("button", { type: "button", "aria-label": `Resend ${d.event_type} of ${when(d.created_at)}`, onclick: action(async () => {
        await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}/deliveries/${encodeURIComponent(d.id)}/resend`, { method: "POST" });
        say(`${d.event_type} queued to be sent again.`);
        await deliveries(endpoint, target);
        focusOn(target.querySelector("caption"));
      }, () => target.closest(".endpoint")) }, "Resend")))))));
}

/** Why an endpoint is (not) receiving: paused by the shop, or disabled by coshop after every
 * delivery failed for days (docs/webhooks.md, COSHOP_WEBHOOK_DISABLE_AFTER_S). */
function endpointState(endpoint) {
  if (endpoint.enabled) {
    return endpoint.failing_since
      ? `Enabled · failing since ${when(endpoint.failing_since)} (coshop disables it after 5 days of failures)`
      : "Enabled";
  }
  if (endpoint.disabled_reason === "failing") {
    const since = endpoint.failing_since ? ` since ${when(endpoint.failing_since)}` : "";
    return `Disabled by coshop on ${when(endpoint.disabled_at)}: every delivery failed${since}. Fix the receiver, then enable it again.`;
  }
  return "Paused";
}

async function renderWebhooks() {
  eventBoxes();
  const { webhooks } = await call("/api/v1/merchant/webhooks");
  const box = clear($("webhooks-box"));
  if (!webhooks.length) {
    box.append(el("p", { class: "muted" }, "No endpoint yet. Add your backend's URL above: coshop signs every delivery, and its log shows here with “Resend”."));
    return;
  }
  for (const endpoint of webhooks) {
    const log = el("div", { class: "deliveries" });
    const id = encodeURIComponent(endpoint.id);
    const card = el("article", { class: "card endpoint", "data-endpoint": endpoint.id });
    const here = () => card;
    card.append(
      el("h3", {}, endpoint.url),
      el("p", { class: "hint" }, endpointState(endpoint), " · ", endpoint.events.join(", ")),
      el("div", { class: "row" },
        el("button", { type: "button", "aria-label": `Rotate the secret of ${endpoint.url}`, onclick: action(async () => {
          if (!confirm(`Draw a new signing secret for ${endpoint.url}? Your backend needs the new one.`)) return;
          const e = await call(`/api/v1/merchant/webhooks/${id}/secret`, { method: "POST" });
          focusOn(showSecret(e.secret, endpoint.url));
        }, here) }, "Rotate secret"),
        el("button", { type: "button", "aria-label": `${endpoint.enabled ? "Pause" : "Resume"} ${endpoint.url}`, onclick: action(async () => {
          await call(`/api/v1/merchant/webhooks/${id}`, { method: "PATCH", body: { enabled: !endpoint.enabled } });
          await renderWebhooks();
          say(`${endpoint.url} ${endpoint.enabled ? "paused" : "enabled"}.`);
          focusOn($("webhooks-box").querySelector(`[data-endpoint="${CSS.escape(endpoint.id)}"] h3`));
        }, here) }, endpoint.enabled ? "Pause" : endpoint.disabled_reason === "failing" ? "Enable again" : "Resume"),
        el("button", { type: "button", class: "danger", "aria-label": `Delete ${endpoint.url}`, onclick: action(async () => {
          if (!confirm(`Delete ${endpoint.url} and its delivery log?`)) return;
          await call(`/api/v1/merchant/webhooks/${id}`, { method: "DELETE" });
          await renderWebhooks();
          say(`${endpoint.url} deleted.`);
          focusOn($("webhook-url"));
        }, here) }, "Delete")),
      log);
    box.append(card);
    await deliveries(endpoint, log);
  }
}

async function addWebhook(event) {
  event.preventDefault();
  const events = [...$("webhook-events").querySelectorAll("input:checked")].map((i) => i.value);
  const url = $("webhook-url").value.trim();
  if (!/^https?:\/\/\S+$/i.test(url)) {
    showError($("webhook-error"), { message: "Type your backend's address, starting with https:// (for example https://shop.example/coshop/webhooks)." });
    $("webhook-url").focus();
    return;
  }
  if (!events.length) {
    showError($("webhook-error"), { message: "Tick at least one event to send to this endpoint." });
    $("webhook-events").querySelector("input")?.focus();
    return;
  }
  try {
    const created = await call("/api/v1/merchant/webhooks", { method: "POST", body: { url, events } });
    showError($("webhook-error"), null);
    $("webhook-url").value = "";
    const copyButton = showSecret(created.secret, created.url);
    await renderWebhooks();
    focusOn(copyButton);
  } catch (err) {
    showError($("webhook-error"), err);
    $("webhook-url").focus();
  }
}

// ---- keys ----------------------------------------------------------------------------------

function showKey(label, value) {
  const node = clear($("key-shown"));
  const button = el("button", { type: "button", onclick: () => copy(value, button) }, "Copy");
  node.append(el("p", {}, `${label} — shown once:`), el("code", {}, value), " ", button);
  node.hidden = false;
  focusOn(button);
}

async function renderKeys() {
  state.publishable = await call("/api/v1/merchant/publishable-key");
  $("pk-status").textContent = state.publishable.publishable_key
    ? `In use since ${when(state.publishable.created_at)}. Rotating it changes the snippet on your pages.`
    : "None yet: create one under Set up.";
}

async function rotateApiKey() {
  if (!confirm("Rotate the API key? The old one stops working at once, in your backend too.")) return;
  const { api_key: key } = await call("/api/v1/merchant/api-key", { method: "POST" });
  state.key = key;
  sessionStorage.setItem(KEY, key);
  showKey("New API key", key);
}

async function rotateSigning() {
  const data = await call("/api/v1/merchant/signing-secret", { method: "POST" });
  showKey("New signing secret", data.signing_secret || data.secret);
}

async function rotatePublishable() {
  if (!confirm("Rotate the publishable key? The widget stops working on your pages until you paste the new snippet.")) return;
  await call("/api/v1/merchant/publishable-key", { method: "POST" });
  await renderKeys();
  say("New publishable key: update the snippet on your pages.");
  $("pk-status").textContent += " A new key was drawn: copy the new snippet from Set up.";
  focusOn($("pk-status"));
}

// ---- wiring ------------------------------------------------------------------------------

function wire() {
  $("sign-in-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    if (!key) { showError($("sign-in-error"), { message: "Paste your API key." }); return; }
    try {
      await signIn(key);
      $("api-key").value = "";
    } catch (err) {
      signOut(err.status === 401 ? "That API key does not open any shop here. Check you copied all of it." : err.message);
    }
  });
  $("sign-out").addEventListener("click", () => signOut(null));
  for (const link of document.querySelectorAll("a[data-tab]")) {
    link.addEventListener("click", (event) => { event.preventDefault(); history.replaceState(null, "", `#${link.dataset.tab}`); openTab(link.dataset.tab); });
  }
  $("origin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("origin-input").value.trim();
    if (!value) { showError($("origin-error"), { message: "Type your site's address, like https://shop.example." }); $("origin-input").focus(); return; }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
      showError($("origin-error"), { message: `Add the scheme: https://${value} (or http:// for a site on your own computer).` });
      $("origin-input").focus();
      return;
    }
    saveOrigins([...state.merchant.origins, value]).then((ok) => {
      if (ok && $("origin-input").value.trim() === value) $("origin-input").value = "";
    });
  });
  $("pk-create").addEventListener("click", action(async () => {
    await call("/api/v1/merchant/publishable-key", { method: "POST" });
    await renderSetup();
    say("Publishable key created: copy the snippet.");
    focusOn($("snippet-copy"));
  }, () => $("snippet-none")));
  $("snippet-copy").addEventListener("click", (event) => copy($("snippet").textContent, event.currentTarget));
  $("import-form").addEventListener("submit", importFeed);
  $("store-form").addEventListener("submit", saveStore);
  for (const id of ["store-logo", "store-name"]) {
    $(id).addEventListener("input", () => {
      $(id).dataset.typed = "1";
      storePreview($("store-name").value.trim(), $("store-logo").value.trim());
    });
  }
  $("associate-form").addEventListener("submit", addAssociate);
  $("analytics-room").addEventListener("change", () => openTab("analytics"));
  $("csv-rooms").addEventListener("click", () => downloadCsv("rooms"));
  $("csv-causes").addEventListener("click", () => downloadCsv("attribution"));
  $("webhook-form").addEventListener("submit", addWebhook);
  $("rotate-api-key").addEventListener("click", action(rotateApiKey, () => $("rotate-api-key").parentElement));
  $("rotate-signing").addEventListener("click", action(rotateSigning, () => $("rotate-signing").parentElement));
  $("rotate-pk").addEventListener("click", action(rotatePublishable, () => $("rotate-pk").parentElement));
  formsReady();
}

wire();
const saved = sessionStorage.getItem(KEY);
if (saved) signIn(saved).catch(() => signOut("Sign in again."));
