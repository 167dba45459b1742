/*! coshop embed loader: adds a launcher button and the room in an iframe panel.
 *
 * <script src="https://coshop.example/static/embed.js" async
 *         data-key="pk_…" data-label="Shop with friends" data-position="right"></script>
 *
 * data-key is the shop's publishable key (GET /api/v1/merchant/publishable-key): each shopper who
 * opens the widget starts a private room of their own (or goes back to the one they started), and
 * friends join it through its invite link. It works only on the shop's registered origins.
 * Older snippets with data-room="r_…" data-invite="…" still open that one room (every shopper in
 * the same room: use data-key for shoppers; data-room suits a store's or a show's own room).
 * A page opened through a friend's invite (#coshop-room=…&coshop-invite=…) opens the widget at
 * once, on that room's join page.
 *
 * Reads the page's schema.org Product (or ProductGroup) JSON-LD to offer "share this product with
 * the room"; the widget posts nothing until the member confirms the share inside it (a page
 * script cannot). A product the shop's coshop catalogue knows (by sku, productID or
 * productGroupID) arrives in chat as a card with its image, price and Add; any other as text.
 * postMessage is exchanged only with the coshop origin (the script's own origin), both ways.
 * Checkout pages are opened by navigating the top window (popup fallback): never inside a frame.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || script.dataset.coshopLoaded) return;
  script.dataset.coshopLoaded = "1";
  var origin = new URL(script.src, location.href).origin;
  var key = script.dataset.key || "";
  var room = script.dataset.room;
  var invite = script.dataset.invite || "";
  // A friend's invite link points at the shop's own page: #coshop-room=r_…&coshop-invite=… (the
  // start page writes it so, docs/shopper-rooms.md). The widget then opens by itself, already at
  // that room's join page; the fragment leaves the address bar (it never reaches a server).
  var joining = false;
  var fragment = new URLSearchParams(location.hash.slice(1));
  var invitedRoom = fragment.get("coshop-room") || "";
  var invitedToken = fragment.get("coshop-invite") || "";
  if (/^[A-Za-z0-9_-]{1,64}$/.test(invitedRoom) && /^[A-Za-z0-9._-]{1,512}$/.test(invitedToken)) {
    room = invitedRoom;
    invite = invitedToken;
    joining = true;
    fragment.delete("coshop-room");
    fragment.delete("coshop-invite");
    var rest = fragment.toString();
    try { history.replaceState(history.state, "", location.pathname + location.search + (rest ? "#" + rest : "")); } catch (e) { /* sandboxed */ }
  }
  if (!key && !room) { console.warn("coshop: data-key (the shop's publishable key) is required"); return; }
  var label = script.dataset.label || "Shop together";
  var side = script.dataset.position === "left" ? "left" : "right";

  function findProduct() {
    var nodes = document.querySelectorAll('script[type="application/ld+json"]');
    for (var i = 0; i < nodes.length; i++) {
      var data;
      try { data = JSON.parse(nodes[i].textContent || ""); } catch (e) { continue; }
      var items = Array.isArray(data) ? data : (data && data["@graph"]) ? data["@graph"] : [data];
      for (var j = 0; j < items.length; j++) {
        var it = items[j];
        if (!it || typeof it !== "object") continue;
        var t = it["@type"];
        var isGroup = t === "ProductGroup" || (Array.isArray(t) && t.indexOf("ProductGroup") >= 0);
        if (isGroup || t === "Product" || (Array.isArray(t) && t.indexOf("Product") >= 0)) {
          // a product with options (ProductGroup): its id, the price of its first variant
          var variants = isGroup && Array.isArray(it.hasVariant) ? it.hasVariant : [];
          var offers = it.offers || (variants[0] && variants[0].offers) || {};
          var offer = Array.isArray(offers) ? offers[0] : offers;
          // one variant's own page names its group: the coshop catalogue may know the group
          var parent = it.isVariantOf && typeof it.isVariantOf === "object" ? it.isVariantOf.productGroupID : "";
          return {
            sku: String((isGroup ? it.productGroupID : "") || it.sku || it.productID || ""),
            group: String(it.inProductGroupWithID || parent || ""), name: String(it.name || ""),
            url: String(it.url || location.href.split("#")[0]),
            image: typeof it.image === "string" ? it.image : "",
            price: offer && offer.price != null ? String(offer.price) : "",
            currency: offer && offer.priceCurrency ? String(offer.priceCurrency) : ""
          };
        }
      }
    }
    return null;
  }

  var css = "" +
    ".coshop-launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;font:600 16px/1 system-ui,sans-serif;" +
    "background:#0b5cad;color:#fff;border:0;border-radius:999px;padding:14px 20px;box-shadow:0 4px 16px rgba(0,0,0,.25);cursor:pointer}" +
    ".coshop-launcher:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}" +
    ".coshop-panel{position:fixed;bottom:80px;" + side + ":20px;z-index:2147483000;width:min(420px,calc(100vw - 24px));" +
    "height:min(640px,calc(100vh - 110px));background:#fff;border-radius:12px;box-shadow:0 8px 32px rgba(0,0,0,.3);" +
    "display:flex;flex-direction:column;overflow:hidden}" +
    ".coshop-panel[hidden]{display:none}" +
    ".coshop-bar{display:flex;gap:8px;align-items:center;padding:8px;background:#f2f4f7;font:14px system-ui,sans-serif}" +
    ".coshop-bar button{font:inherit;padding:6px 10px;border-radius:6px;border:1px solid #8a94a6;background:#fff;color:#1d2433;cursor:pointer}" +
    ".coshop-bar .coshop-close{margin-left:auto}" +
    ".coshop-panel iframe{border:0;flex:1;width:100%}" +
    "@media (max-width:520px){.coshop-panel{bottom:0;" + side + ":0;width:100vw;height:calc(100vh - 70px);border-radius:12px 12px 0 0}}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var launcher = document.createElement("button");
  launcher.type = "button";
  launcher.className = "coshop-launcher";
  launcher.textContent = label;
  launcher.setAttribute("aria-expanded", "false");
  launcher.setAttribute("aria-controls", "coshop-panel");

  var panel = document.createElement("div");
  panel.className = "coshop-panel";
  panel.id = "coshop-panel";
  panel.hidden = true;
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", label);

  var bar = document.createElement("div");
  bar.className = "coshop-bar";
  var share = document.createElement("button");
  share.type = "button";
  share.className = "coshop-share";
  share.disabled = true;
  var product = findProduct();
  share.textContent = product ? "Share this product with the room" : "No product on this page";
  var close = document.createElement("button");
  close.type = "button";
  close.className = "coshop-close";
  close.textContent = "Close";
  close.setAttribute("aria-label", "Close the shopping room");
  bar.appendChild(share);
  bar.appendChild(close);
  panel.appendChild(bar);

  var frame = null;
  var ready = false;

  function src() {
    var parent = encodeURIComponent(location.origin);
    // a room of the shopper's own: the start page creates it, or offers the one they started
    // page: where a friend's invite link leads back to (this page, with the room in its fragment)
    if (key && !joining) {
      return origin + "/start?key=" + encodeURIComponent(key) + "&embed=1&parent=" + parent +
        "&page=" + encodeURIComponent(location.href.split("#")[0]);
    }
    var member = "coshop.member." + room;
    // The room page knows whether this browser already joined (its own storage); the join page
    // forwards there. Start at the join page when we have an invite, else at the room.
    if (invite) return origin + "/join/" + encodeURIComponent(room) + "?invite=" + encodeURIComponent(invite) + "&embed=1&parent=" + parent;
    return origin + "/r/" + encodeURIComponent(room) + "?embed=1&parent=" + parent + "#" + member;
  }

  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.title = label;
      frame.src = src();
      frame.allow = "clipboard-write";
      panel.appendChild(frame);
    }
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    close.focus();
  }

  function hide() {
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  launcher.addEventListener("click", function () { if (panel.hidden) open(); else hide(); });
  close.addEventListener("click", hide);
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(); });
  share.addEventListener("click", function () {
    if (!frame || !ready || !product) return;
    // The widget asks the member to confirm before anything is posted: show it and hand it focus.
    if (panel.hidden) open();
    frame.contentWindow.postMessage({ type: "coshop:share", product: product }, origin);
    frame.focus();
    share.textContent = "Confirm in the room ✓";
    setTimeout(function () { share.textContent = "Share this product with the room"; }, 2500);
  });

  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
    var data = event.data;
    if (!data || typeof data !== "object") return;
    if (data.type === "coshop:ready") {
      ready = true;
      share.disabled = !product;
    } else if (data.type === "coshop:navigate" && typeof data.url === "string" && /^https?:\/\//.test(data.url)) {
      try { window.top.location.assign(data.url); }
      catch (e) { window.open(data.url, "_blank", "noopener"); }
    }
  });

  function mount() {
    document.body.appendChild(launcher);
    document.body.appendChild(panel);
  }
  function start() {
    mount();
    if (joining) open(); // the friend came through an invite: the room's join page, at once
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
