// The room page's side of the embeddable widget. The parent origin comes from the server, which
// only passes it through when it is one of the merchant's registered origins; messages are sent
// to that exact origin and accepted only from it (and only from our parent window).

export class Embed {
  constructor(parentOrigin) {
    this.origin = parentOrigin || "";
    this.active = Boolean(this.origin) && window.parent !== window;
    this.onShare = null;
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
      this.onShare({ sku: str(p.sku, 64), name: str(p.name, 200), url: /^https?:\/\//.test(p.url || "") ? str(p.url, 500) : "",
        price: str(String(p.price ?? ""), 20), currency: str(p.currency, 3) });
    }
  }
}
