// The room connection: one WebSocket (subprotocol coshop.v1.json), hello with last_seq to resume,
// automatic reconnect with backoff, and an outbox of commands keyed by op id. A command stays in
// the outbox until the server answers it with ack or err; after a reconnect it is sent again with
// retry:true, and the server answers a known op id with the original ack instead of applying it
// twice. Events are applied in seq order exactly once (anything at or below the last seq is
// skipped; a gap makes us reconnect and resume). A batch that says which seqs it covers
// (from..to) may leave out events this member may not see (a live room sends a viewer only their
// own cart lines): its missing seqs are not a gap, and the cursor moves to its `to`.
//
// What a close code asks of us comes from protocol.js, generated from the server's one table
// (server/protocol/close.py): "resume" reconnects with back-off, "back_off" waits longer first,
// "stop" never reconnects by itself (4409: another tab of this member took the connection; only
// the person may take it back with resume(), or two tabs would replace each other forever).
import { CLOSE_CODES, CloseAction, closeAction } from "./protocol.js";

const BACK_OFF_MS = 1000; // the least pause after a back_off close (rate limited, server busy)

export class RoomConnection extends EventTarget {
  constructor({ url, token }) {
    super();
    this.url = url;
    this.token = token;
    this.seq = null;            // last applied seq; null until the first welcome
    this.state = "connecting";
    this.ws = null;
    this.outbox = new Map();    // op id -> {name, args, sent, resolve, reject}
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.pingTimer = null;
    this.pongDue = null;
    this.opCounter = 0;
    this.opPrefix = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    window.addEventListener("online", () => this.reconnectSoon(0));
    window.addEventListener("offline", () => this.ws && this.ws.close());
  }

  emit(type, detail) { this.dispatchEvent(new CustomEvent(type, { detail })); }

  setState(state, info = "") {
    this.state = state;
    this.emit("state", { state, info, pending: this.outbox.size });
  }

  start() { this.open(); }

  open() {
    clearTimeout(this.timer);
    if (this.stopped) return;
    this.setState(this.seq === null ? "connecting" : "reconnecting");
    let ws;
    try {
      ws = new WebSocket(this.url, ["coshop.v1.json"]);
    } catch {
      this.reconnectSoon();
      return;
    }
    this.ws = ws;
    ws.addEventListener("open", () => {
      ws.send(JSON.stringify({ t: "hello", token: this.token, last_seq: this.seq }));
    });
    ws.addEventListener("message", (msg) => {
      if (this.ws !== ws) return;
      let frame;
      try { frame = JSON.parse(msg.data); } catch { return; }
      this.handle(frame);
    });
    ws.addEventListener("close", (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      const action = closeAction(ev.code);
      if (action === CloseAction.STOP) {
        this.stopped = true;
        this.setState("closed", ev.reason || String(ev.code));
        this.emit("fatal", { code: ev.code, reason: ev.reason, name: CLOSE_CODES[ev.code]?.name ?? "unknown" });
        return;
      }
      if (action === CloseAction.BACK_OFF) {
        this.reconnectSoon(Math.max(BACK_OFF_MS, this.backoffDelay()));
        return;
      }
      this.reconnectSoon();
    });
  }

  /** Connect again after a "stop" close, because the person asked (e.g. "Use here" after 4409). */
  resume() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.open();
  }

  backoffDelay() { return Math.min(10000, 500 * 2 ** this.attempt) * (0.7 + Math.random() * 0.6); }

  reconnectSoon(delay) {
    if (this.stopped) return;
    if (this.ws) { try { this.ws.close(); } catch { /* already closing */ } this.ws = null; }
    clearTimeout(this.timer);
    clearInterval(this.pingTimer);
    const wait = delay ?? this.backoffDelay();
    this.attempt += 1;
    this.setState(navigator.onLine === false ? "offline" : "reconnecting");
    this.timer = setTimeout(() => this.open(), wait);
  }

  handle(frame) {
    switch (frame.t) {
      case "welcome": {
        this.attempt = 0;
        if (!frame.resumed || this.seq === null) {
          this.seq = frame.seq;
          this.emit("snapshot", frame);
        }
        this.emit("welcome", frame);
        this.setState("online");
        this.flush();
        this.startPing();
        break;
      }
      case "ev": this.applyEvents([frame]); break;
      case "batch": this.applyBatch(frame); break;
      case "ack": this.settle(frame.op, true, frame); break;
      case "err":
        if (frame.op && this.outbox.has(frame.op)) this.settle(frame.op, false, frame);
        else this.emit("error", frame);
        break;
      case "pong": this.pongDue = null; break;
      default: this.emit(frame.t, frame);
    }
  }

  applyBatch(frame) {
    const evs = frame.evs || [];
    if (!Number.isInteger(frame.from) || !Number.isInteger(frame.to)) { this.applyEvents(evs); return; }
    if (this.seq !== null && frame.from > this.seq + 1) { this.reconnectSoon(0); return; } // a gap before it
    const fresh = evs.filter((f) => this.seq === null || f.seq > this.seq);
    if (this.seq === null || frame.to > this.seq) this.seq = frame.to;
    if (fresh.length) this.emit("events", fresh);
  }

  applyEvents(frames) {
    const fresh = [];
    for (const f of frames) {
      if (this.seq !== null && f.seq <= this.seq) continue; // already applied: never twice
      if (this.seq !== null && f.seq !== this.seq + 1) {
        // a gap: resume from what we have; the server replays what we missed
        if (fresh.length) this.emit("events", fresh);
        this.reconnectSoon(0);
        return;
      }
      this.seq = f.seq;
      fresh.push(f);
    }
    if (fresh.length) this.emit("events", fresh);
  }

  settle(op, ok, frame) {
    const item = this.outbox.get(op);
    if (!item) return;
    this.outbox.delete(op);
    if (ok) item.resolve(frame); else item.reject(Object.assign(new Error(frame.message || frame.code), { code: frame.code }));
    this.emit("state", { state: this.state, pending: this.outbox.size });
  }

  /** Send a command; resolves on ack, rejects on err. Queued while offline. */
  command(name, args = {}) {
    const op = `${this.opPrefix}-${++this.opCounter}`;
    return new Promise((resolve, reject) => {
      this.outbox.set(op, { name, args, sent: false, resolve, reject });
      if (this.state === "online") this.sendCmd(op);
      else this.emit("state", { state: this.state, pending: this.outbox.size });
    });
  }

  sendCmd(op) {
    const item = this.outbox.get(op);
    if (!item || !this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify({ t: "cmd", op, name: item.name, args: item.args, retry: item.sent }));
    item.sent = true;
  }

  flush() { for (const op of this.outbox.keys()) this.sendCmd(op); }

  /** Ephemeral signal: dropped when offline (it would be stale anyway). */
  signal(name, args = {}) {
    if (this.state === "online" && this.ws && this.ws.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ t: "sig", name, args }));
    }
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.pongDue = null;
    this.pingTimer = setInterval(() => {
      if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
      if (this.pongDue !== null && Date.now() > this.pongDue) { this.reconnectSoon(0); return; }
      this.ws.send(JSON.stringify({ t: "ping" }));
      if (this.pongDue === null) this.pongDue = Date.now() + 10000;
    }, 15000);
  }
}
