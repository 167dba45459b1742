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

function showError(node, err) {
  node.textContent = err ? err.message : "";
  node.hidden = !err;
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

const TABS = { setup: renderSetup, catalog: renderCatalog, rooms: renderRooms, orders: renderOrders, analytics: renderAnalytics, webhooks: renderWebhooks, keys: renderKeys };

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
    list.append(el("li", { class: "chip" }, origin, " ",
      el("button", { type: "button", class: "link danger", "aria-label": `Remove ${origin}`, onclick: () => saveOrigins(state.merchant.origins.filter((o) => o !== origin)) }, "Remove")));
  }
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

// ---- catalogue ---------------------------------------------------------------------------

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
    el("p", {}, `${report.products} product(s) with ${report.variants} variant(s) loaded from ${report.source}`,
      report.pruned ? `, ${report.pruned} removed` : "", "."));
  const errors = report.errors || [];
  const notices = report.notices || [];
  const errorCount = report.error_count ?? errors.length;
  if (!errorCount) card.append(el("p", { class: "ok-text" }, "Every row loaded."));
  else {
    card.append(el("p", { class: "warn-text" }, `${errorCount} row problem(s): those rows were skipped.`));
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
  if (!status.imports.length) box.append(el("p", { class: "muted" }, "No import yet. Upload your feed above, or run `coshop catalog import`."));
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
    say(`Imported ${data.products} product(s).`);
  } catch (err) {
    showError($("import-error"), err);
  } finally {
    button.disabled = false;
  }
}

// ---- rooms and orders ----------------------------------------------------------------------

function roomRow(room) {
  const kind = room.kind === "live" ? "Live show" : "Group cart";
  return el("tr", {},
    el("td", {}, el("a", { href: `/join/${encodeURIComponent(room.room_id)}` }, room.title)),
    el("td", {}, kind),
    el("td", {}, room.closed ? "Closed" : "Open"),
    el("td", {}, room.join_policy === "customers_only" ? "Signed-in customers" : "Anyone with a link"),
    el("td", {}, when(room.last_activity_at || room.created_at)));
}

async function renderRooms() {
  const { rooms } = await call("/api/v1/merchant/rooms?limit=100");
  const box = clear($("rooms-groups"));
  if (!rooms.length) { box.append(el("p", { class: "muted" }, "No rooms yet. Shoppers start them from your widget or your store sign.")); return; }
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
  const { orders } = await call("/api/v1/merchant/orders?limit=100");
  const box = clear($("orders-box"));
  if (!orders.length) { box.append(el("p", { class: "muted" }, "No orders yet.")); return; }
  const paid = orders.filter((o) => o.status === "paid");
  const revenue = new Map();
  for (const o of paid) revenue.set(o.currency, (revenue.get(o.currency) || 0) + o.paid_minor - o.refunded_minor);
  box.append(el("dl", { class: "stats" },
    stat("Orders", orders.length), stat("Paid", paid.length),
    stat("Revenue", [...revenue].map(([c, m]) => money(m, c)).join(" + ") || money(0, "USD"))));
  box.append(el("table", { class: "data" },
    el("caption", {}, "Latest orders"),
    el("thead", {}, el("tr", {}, ...["Order", "Status", "Total", "Paid", "Payers", "Opened"].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, orders.map((o) => el("tr", {},
      el("td", {}, el("code", {}, o.order_id)),
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

async function renderAnalytics() {
  const select = $("analytics-room");
  if (select.options.length === 1) {
    const { rooms } = await call("/api/v1/merchant/rooms?limit=100");
    for (const r of rooms) select.append(el("option", { value: r.room_id }, `${r.kind === "live" ? "Show" : "Room"}: ${r.title}`));
  }
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

function showSecret(text) {
  const node = clear($("webhook-secret"));
  const button = el("button", { type: "button", onclick: () => copy(text, button) }, "Copy secret");
  node.append(el("p", {}, "Signing secret — shown once, keep it in your backend: "), el("code", {}, text), " ", button);
  node.hidden = false;
}

async function deliveries(endpoint, target) {
  const { deliveries: rows } = await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}/deliveries?limit=20`);
  clear(target);
  if (!rows.length) { target.append(el("p", { class: "muted" }, "Nothing sent yet.")); return; }
  target.append(el("table", { class: "data" },
    el("caption", {}, "Latest deliveries"),
    el("thead", {}, el("tr", {}, ...["Event", "Status", "Attempts", "When", ""].map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((d) => el("tr", {},
      el("td", {}, d.event_type),
      el("td", {}, d.status + (d.last_status ? ` (HTTP ${d.last_status})` : d.last_error ? ` (${d.last_error})` : "")),
      el("td", {}, String(d.attempts)),
      el("td", {}, when(d.created_at)),
      el("td", {}, el("button", { type: "button", onclick: async () => {
        await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}/deliveries/${encodeURIComponent(d.id)}/resend`, { method: "POST" });
        say("Sent again.");
        await deliveries(endpoint, target);
      } }, "Resend")))))));
}

async function renderWebhooks() {
  eventBoxes();
  const { webhooks } = await call("/api/v1/merchant/webhooks");
  const box = clear($("webhooks-box"));
  if (!webhooks.length) { box.append(el("p", { class: "muted" }, "No endpoint yet.")); return; }
  for (const endpoint of webhooks) {
    const log = el("div", { class: "deliveries" });
    box.append(el("article", { class: "card endpoint" },
      el("h3", {}, endpoint.url),
      el("p", { class: "hint" }, endpoint.enabled ? "Enabled" : "Paused", " · ", endpoint.events.join(", ")),
      el("div", { class: "row" },
        el("button", { type: "button", onclick: async () => { const e = await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}/secret`, { method: "POST" }); showSecret(e.secret); } }, "Rotate secret"),
        el("button", { type: "button", onclick: async () => { await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}`, { method: "PATCH", body: { enabled: !endpoint.enabled } }); await renderWebhooks(); } }, endpoint.enabled ? "Pause" : "Resume"),
        el("button", { type: "button", class: "danger", onclick: async () => { if (!confirm(`Delete ${endpoint.url} and its delivery log?`)) return; await call(`/api/v1/merchant/webhooks/${encodeURIComponent(endpoint.id)}`, { method: "DELETE" }); await renderWebhooks(); } }, "Delete")),
      log));
    await deliveries(endpoint, log);
  }
}

async function addWebhook(event) {
  event.preventDefault();
  const events = [...$("webhook-events").querySelectorAll("input:checked")].map((i) => i.value);
  try {
    const created = await call("/api/v1/merchant/webhooks", { method: "POST", body: { url: $("webhook-url").value.trim(), events } });
    showError($("webhook-error"), null);
    $("webhook-url").value = "";
    showSecret(created.secret);
    await renderWebhooks();
  } catch (err) {
    showError($("webhook-error"), err);
  }
}

// ---- keys ----------------------------------------------------------------------------------

function showKey(label, value) {
  const node = clear($("key-shown"));
  const button = el("button", { type: "button", onclick: () => copy(value, button) }, "Copy");
  node.append(el("p", {}, `${label} — shown once:`), el("code", {}, value), " ", button);
  node.hidden = false;
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
  await call("/api/v1/merchant/publishable-key", { method: "POST" });
  await renderKeys();
  say("New publishable key: update the snippet on your pages.");
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
    if (!value) return;
    saveOrigins([...state.merchant.origins, value]).then((ok) => {
      if (ok && $("origin-input").value.trim() === value) $("origin-input").value = "";
    });
  });
  $("pk-create").addEventListener("click", async () => { await call("/api/v1/merchant/publishable-key", { method: "POST" }); await renderSetup(); });
  $("snippet-copy").addEventListener("click", (event) => copy($("snippet").textContent, event.currentTarget));
  $("import-form").addEventListener("submit", importFeed);
  $("analytics-room").addEventListener("change", () => openTab("analytics"));
  $("csv-rooms").addEventListener("click", () => downloadCsv("rooms"));
  $("csv-causes").addEventListener("click", () => downloadCsv("attribution"));
  $("webhook-form").addEventListener("submit", addWebhook);
  $("rotate-api-key").addEventListener("click", rotateApiKey);
  $("rotate-signing").addEventListener("click", rotateSigning);
  $("rotate-pk").addEventListener("click", rotatePublishable);
  formsReady();
}

wire();
const saved = sessionStorage.getItem(KEY);
if (saved) signIn(saved).catch(() => signOut("Sign in again."));
