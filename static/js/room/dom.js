// Keyed, granular DOM updates (DESIGN §13): a region re-renders only when the slice of state it
// shows changed, and a list replaces only the items whose content changed. What a person is
// typing, choosing or focusing is never rebuilt by someone else's event.
import { clear } from "../util.js";

const last = new Map(); // region name -> signature last rendered
const sigs = new WeakMap(); // keyed item node -> the signature it was drawn from

/** Run ``draw`` when ``sig`` differs from the last one drawn for ``name``. */
export function region(name, sig, draw) {
  const key = typeof sig === "string" ? sig : JSON.stringify(sig);
  if (last.get(name) === key) return false;
  last.set(name, key);
  draw();
  return true;
}

/** Forget a region's signature: its next ``region`` call draws. */
export function invalidate(name) { last.delete(name); }

/** A focusable element's stable handle inside a keyed item: its id or data-fk. */
function focusKey(node) {
  if (!node || !(node instanceof Element)) return null;
  if (node.id) return `#${CSS.escape(node.id)}`;
  if (node.dataset && node.dataset.fk) return `[data-fk="${CSS.escape(node.dataset.fk)}"]`;
  return null;
}

/**
 * Reconcile ``container``'s children with ``items``: each item has a key (``data-key``) and a
 * signature (kept aside, not in the DOM); an unchanged item keeps its node (and any focus or selection in it),
 * a changed one is replaced (focus moves to the same control in the new node), a gone one removed.
 * ``empty`` is a node shown when there are no items.
 */
export function keyed(container, items, { key, sig, render, empty = null }) {
  const existing = new Map();
  for (const child of [...container.children]) {
    if (child.dataset.key !== undefined) existing.set(child.dataset.key, child);
    else child.remove();
  }
  if (!items.length && empty) { container.append(empty()); }
  const active = document.activeElement;
  let cursor = container.firstElementChild;
  const seen = new Set();
  for (const item of items) {
    const k = String(key(item));
    const s = typeof sig === "function" ? JSON.stringify(sig(item)) : "";
    seen.add(k);
    let node = existing.get(k);
    if (node && sigs.get(node) !== s) {
      const fresh = render(item);
      fresh.dataset.key = k;
      sigs.set(fresh, s);
      const fk = node.contains(active) ? focusKey(active) : null;
      if (node === cursor) cursor = fresh;
      node.replaceWith(fresh);
      if (fk) { const again = fresh.querySelector(fk); if (again) again.focus(); }
      node = fresh;
    } else if (!node) {
      node = render(item);
      node.dataset.key = k;
      sigs.set(node, s);
    }
    if (node !== cursor) container.insertBefore(node, cursor);
    else cursor = cursor.nextElementSibling;
  }
  for (const [k, node] of existing) if (!seen.has(k)) node.remove();
  // anything after the last kept item that is not keyed (the "empty" line) goes
  for (const child of [...container.children]) if (child.dataset.key === undefined && items.length) child.remove();
  return container;
}

/** Replace a region's children, putting focus back on the same control when it had it. */
export function redraw(container, ...children) {
  const active = document.activeElement;
  const fk = container.contains(active) ? focusKey(active) : null;
  clear(container).append(...children.flat().filter(Boolean));
  if (fk) { const again = container.querySelector(fk); if (again) again.focus(); }
  return container;
}

/**
 * Toasts are shown once: the same text again while it is on screen bumps a count on it ("×3")
 * and keeps it up for the newer toast's time, instead of stacking copies. Every feature module
 * posts toasts through util.js's ``toast``; this watches the one toast box, so all of them are
 * de-duplicated in one place. At most ``max`` toasts are on screen; the oldest goes first.
 */
export function dedupeToasts(box, max = 3) {
  if (!box || box.dataset.deduped) return;
  box.dataset.deduped = "1";
  const textOf = (node) => node.dataset.text ?? node.textContent;
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      for (const node of record.addedNodes) {
        if (!(node instanceof HTMLElement) || !node.isConnected || node.dataset.text !== undefined) continue;
        const text = node.textContent;
        // an older toast with the same text (one seen before: it has its text noted)
        const same = [...box.children].find((other) => other !== node && other.dataset.text !== undefined && textOf(other) === text);
        node.dataset.text = text;
        if (same) {
          // keep the new node (its timer is the fresh one), carry the count over, drop the old
          const count = Number(same.dataset.count || 1) + 1;
          node.dataset.count = String(count);
          node.append(" ", Object.assign(document.createElement("span"), { className: "toast-count", textContent: `×${count}` }));
          node.setAttribute("aria-label", `${text} (${count} times)`);
          same.remove();
        }
      }
    }
    const shown = [...box.children];
    for (const old of shown.slice(0, Math.max(0, shown.length - max))) old.remove();
  });
  observer.observe(box, { childList: true });
}

/** Remove every toast on screen (e.g. when the room is gone: nothing they say still holds). */
export function clearToasts(box) { if (box) box.replaceChildren(); }
