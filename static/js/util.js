// Small DOM and storage helpers shared by the pages. Text is always set with textContent:
// chat, names and product titles are never parsed as HTML.

/**
 * Submit buttons are rendered disabled (``data-needs-js``) so that nothing typed before the page's
 * module has wired its forms is submitted natively: that would put chat text, names or anything
 * pasted into a query string. A page calls this once its submit handlers are attached.
 */
export function formsReady(root = document) {
  for (const button of root.querySelectorAll("button[data-needs-js]")) {
    button.disabled = false;
    button.removeAttribute("data-needs-js");
  }
}

export function config() {
  const node = document.getElementById("coshop-config");
  return node ? JSON.parse(node.textContent || "{}") : {};
}

/** el("button", {class: "x", onclick: f, "aria-label": "…"}, "text", child, …) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

const KEY = (roomId) => `coshop.member.${roomId}`;
const INVITE_KEY = (roomId) => `coshop.invite.${roomId}`;

function store() {
  try { return window.localStorage; } catch { return window.sessionStorage; }
}

export function saveMember(roomId, member) { store().setItem(KEY(roomId), JSON.stringify(member)); }
export function loadMember(roomId) {
  try { return JSON.parse(store().getItem(KEY(roomId)) || "null"); } catch { return null; }
}
export function forgetMember(roomId) { store().removeItem(KEY(roomId)); }
export function saveInvite(roomId, invite) { store().setItem(INVITE_KEY(roomId), JSON.stringify(invite)); }
export function loadInvite(roomId) {
  try { return JSON.parse(store().getItem(INVITE_KEY(roomId)) || "null"); } catch { return null; }
}

/** fetch JSON; throws Error with .code and .status from a problem+json answer. */
export async function api(path, { method = "GET", body, token } = {}) {
  const headers = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  try { data = await res.json(); } catch { data = null; }
  if (!res.ok) {
    const err = new Error((data && (data.detail || data.title)) || `HTTP ${res.status}`);
    err.code = (data && data.code) || `http_${res.status}`;
    err.status = res.status;
    throw err;
  }
  return data;
}

/** The pages are English; one locale keeps money identical in the room, on the sandbox's hosted
 * page (checkout_bridge/sandbox/hosted.py format_amount) and on receipts. */
export const LOCALE = "en-US";
const formats = new Map();

/** Minor units to a price with Intl.NumberFormat: the currency decides its decimals (JPY none). */
export function money(minor, currency) {
  const code = currency || "USD";
  try {
    let fmt = formats.get(code);
    if (!fmt) { fmt = new Intl.NumberFormat(LOCALE, { style: "currency", currency: code }); formats.set(code, fmt); }
    return fmt.format(minor / 10 ** fmt.resolvedOptions().maximumFractionDigits);
  } catch {
    return `${(minor / 100).toFixed(2)} ${code}`.trim();
  }
}

export function initials(name) {
  const parts = String(name || "?").trim().split(/\s+/).filter((w) => /^\p{L}|^\p{N}/u.test(w));
  if (!parts.length) return String(name || "?").trim().slice(0, 1).toUpperCase() || "?";
  return ((parts[0] || "?")[0] + (parts.length > 1 ? parts[parts.length - 1][0] : "")).toUpperCase();
}

/** A stable, readable colour per member id (dark enough for white text). */
export function colourFor(id) {
  let h = 0;
  for (const ch of String(id)) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h} 55% 30%)`; // 30 %: white text meets 4.5:1 on every hue (34 % failed on yellows)
}

export function toast(text, kind = "info", ms = 5000) {
  const box = document.getElementById("toasts");
  if (!box) return;
  const item = el("div", { class: `toast ${kind}` }, text);
  box.append(item);
  setTimeout(() => item.remove(), ms);
}
