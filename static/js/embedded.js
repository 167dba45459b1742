// The room page's side of the embeddable widget. The parent origin comes from the server, which
// only passes it through when it is one of the merchant's registered origins; messages are sent
// to that exact origin and accepted only from it (and only from our parent window).
//
// A product shared from the merchant page is never posted by the message alone: any script on
// that page can send one. It waits in a confirmation inside the widget ("Share … with the
// room?") until the member clicks Share; Cancel or Escape drops it. One confirmation at a time:
// a newer share replaces the one waiting (the page cannot pile them up). Confirmed, it goes to
// the room page (app.js shareFromPage): a card when the shop's catalogue knows the product's sku
// (or its group's, with the sku as the variant), else a line of text.

export class Embed {
  constructor(parentOrigin) {
    this.origin = parentOrigin || "";
    this.active = Boolean(this.origin) && window.parent !== window;
    this.onShare = null;
    this.pending = null; // the shared product waiting for the member's click
    this.dialog = null;
    if (this.active) window.addEventListener("message", (event) => this.receive(event));
  }

  post(message) {
    if (this.active) window.parent.postMessage(message, this.origin);
  }

  ready(roomId) { this.post({ type: "coshop:ready", room: roomId }); }

  /** Ask the parent page to navigate the top window (checkout). False when not embedded. */
  navigate(url) {
    if (!this.active) return false;
    this.post({ type: "coshop:navigate", url });
    return true;
  }

  receive(event) {
    if (event.origin !== this.origin || event.source !== window.parent) return;
    const data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "coshop:share" && data.product && typeof data.product === "object" && this.onShare) {
      const p = data.product;
      const str = (v, n) => (typeof v === "string" ? v.slice(0, n) : "");
      this.confirmShare({ sku: str(p.sku, 64), group: str(p.group, 64), name: str(p.name, 200), url: /^https?:\/\//.test(p.url || "") ? str(p.url, 500) : "",
        price: str(String(p.price ?? ""), 20), currency: str(p.currency, 3) });
    }
  }

  /** Ask the member before a shared product goes to the room (replaces one still waiting). */
  confirmShare(product) {
    this.pending = product;
    const dialog = this.dialog || this.buildDialog();
    const title = product.name || product.sku || "this product";
    dialog.querySelector("#share-confirm-title").textContent = `Share ${title} with the room?`;
    const price = product.price ? `${product.price}${product.currency ? ` ${product.currency}` : ""}` : "";
    dialog.querySelector("#share-confirm-detail").textContent =
      `The shop page asks to post it in the chat as you${price ? ` (${price})` : ""}, with its picture and an Add button when the shop lists it here. Nothing is sent until you choose Share.`;
    if (!dialog.open) {
      this.returnFocus = document.activeElement;
      dialog.showModal();
    }
    // Focus lands on Cancel: the share was asked for by the page, not by the member, so a key
    // pressed out of habit (Enter, Space) must not post it. Share takes a deliberate choice.
    dialog.querySelector("button[value=cancel]").focus();
  }

  buildDialog() {
    const make = (tag, attrs, text) => {
      const node = document.createElement(tag);
      for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
      if (text) node.textContent = text;
      return node;
    };
    const dialog = make("dialog", { id: "share-confirm", "aria-labelledby": "share-confirm-title", "aria-describedby": "share-confirm-detail" });
    const share = make("button", { type: "button", value: "share", class: "primary" }, "Share");
    const cancel = make("button", { type: "button", value: "cancel" }, "Cancel");
    const row = make("p", { class: "row" });
    row.append(share, cancel);
    dialog.append(make("h2", { id: "share-confirm-title" }), make("p", { id: "share-confirm-detail" }), row);
    share.addEventListener("click", () => this.settleShare(true));
    cancel.addEventListener("click", () => this.settleShare(false));
    // Escape on a modal dialog fires "cancel": the share is dropped, like the Cancel button
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); this.settleShare(false); });
    document.body.append(dialog);
    this.dialog = dialog;
    return dialog;
  }

  settleShare(confirmed) {
    const product = this.pending;
    this.pending = null;
    if (this.dialog && this.dialog.open) this.dialog.close();
    if (this.returnFocus && typeof this.returnFocus.focus === "function") this.returnFocus.focus();
    this.returnFocus = null;
    if (confirmed && product && this.onShare) this.onShare(product);
  }
}
