// Folds room events into the client's copy of the room view (the shape of Room.view on the
// server). Mirrors rooms/room.py Room.apply for display; the server stays the authority and a
// snapshot (welcome without resume) replaces this copy entirely.

export function applyEvent(view, ev, me) {
  const byId = (list, key, id) => list.findIndex((x) => x[key] === id);
  switch (ev.type) {
    case "MemberJoined": {
      const member = { member_id: ev.member_id, display_name: ev.display_name, role: ev.role };
      const i = byId(view.members, "member_id", ev.member_id);
      const show = view.kind === "group" || ev.role !== "viewer" || ev.member_id === me;
      if (i >= 0) view.members[i] = member;
      else { if (show) view.members.push(member); view.member_count += 1; }
      // keep what the server told us of ourselves (you.may, you.may_if); a role change brings
      // a fresh welcome, so the role here is the one those were computed for
      if (ev.member_id === me) view.you = { ...view.you, ...member };
      break;
    }
    case "MemberLeft": case "MemberKicked": case "MemberBanned": {
      const i = byId(view.members, "member_id", ev.member_id);
      if (i >= 0) view.members.splice(i, 1);
      view.member_count = Math.max(0, view.member_count - 1);
      break;
    }
    case "MemberPromoted": {
      const m = view.members.find((x) => x.member_id === ev.member_id);
      if (m) m.role = ev.role;
      if (ev.member_id === me && view.you) view.you.role = ev.role;
      break;
    }
    case "FollowModeSet": view.follow.mode = ev.mode; break;
    case "EveryoneBrought": view.follow.focus_sku = ev.sku; break;
    case "VoteCast": {
      // The view shows only our own votes; others' earlier votes are unknown, so a change by a
      // member we have not seen vote marks the tallies stale (the page re-reads them).
      const t = { ...(view.votes.tallies[ev.sku] || { up: 0, down: 0 }) };
      view._votes = view._votes || {};
      const who = (view._votes[ev.sku] = view._votes[ev.sku] || {});
      let before = 0;
      if (ev.member_id === me) before = view.votes.mine[ev.sku] || 0;
      else if (ev.member_id in who) before = who[ev.member_id];
      else if (t.up || t.down) view._stale = true;
      if (before === 1) t.up -= 1;
      if (before === -1) t.down -= 1;
      if (ev.value === 1) t.up += 1;
      if (ev.value === -1) t.down += 1;
      who[ev.member_id] = ev.value;
      view.votes.tallies[ev.sku] = { up: Math.max(0, t.up), down: Math.max(0, t.down) };
      if (ev.member_id === me) {
        if (ev.value) view.votes.mine[ev.sku] = ev.value; else delete view.votes.mine[ev.sku];
      }
      break;
    }
    case "PollOpened":
      view.polls.push({ poll_id: ev.poll_id, question: ev.question, options: ev.options, opened_by: ev.opened_by,
        closed: false, winner: null, counts: ev.options.map(() => 0), mine: null, _ballots: {} });
      break;
    case "PollVoteCast": {
      const p = view.polls.find((x) => x.poll_id === ev.poll_id);
      if (!p || p.closed) break;
      p._ballots = p._ballots || {};
      let prev = p._ballots[ev.member_id];
      if (ev.member_id === me) prev = p.mine;
      else if (!(ev.member_id in p._ballots) && p.counts.some((n) => n > 0)) view._stale = true;
      if (prev) { const j = p.options.indexOf(prev); if (j >= 0) p.counts[j] = Math.max(0, p.counts[j] - 1); }
      p._ballots[ev.member_id] = ev.sku;
      const k = p.options.indexOf(ev.sku);
      if (k >= 0) p.counts[k] += 1;
      if (ev.member_id === me) p.mine = ev.sku;
      break;
    }
    case "PollClosed": {
      const p = view.polls.find((x) => x.poll_id === ev.poll_id);
      if (p) { p.closed = true; p.winner = ev.winner; p.counts = ev.counts; }
      break;
    }
    case "LineAdded":
      if (view.kind === "group" || isStaff(view) || ev.added_by === me || ev.payer === me) {
        view.lines.push({ line_id: ev.line_id, sku: ev.sku, variant: ev.variant, quantity: ev.quantity, note: ev.note,
          added_by: ev.added_by, payer: ev.payer, title: ev.title, price_minor: ev.price_minor, currency: ev.currency, added_at: ev.at });
      }
      break;
    case "QuantityChanged": { const l = view.lines.find((x) => x.line_id === ev.line_id); if (l) l.quantity = ev.quantity; break; }
    case "LineRemoved": view.lines = view.lines.filter((x) => x.line_id !== ev.line_id); break;
    case "PayerAssigned": { const l = view.lines.find((x) => x.line_id === ev.line_id); if (l) l.payer = ev.payer; break; }
    case "MessagePosted":
      view.chat.messages.push({ message_id: ev.message_id, author: ev.author, text: ev.text, at: ev.at, author_name: ev.author_name || "", author_role: ev.author_role || "", product: ev.product || null });
      if (view.chat.messages.length > 200) view.chat.messages.splice(0, view.chat.messages.length - 200);
      break;
    case "MessageDeleted": view.chat.messages = view.chat.messages.filter((m) => m.message_id !== ev.message_id); break;
    case "MemberMuted": if (ev.member_id === me) view.muted = { until: ev.until }; break;
    case "MemberUnmuted": if (ev.member_id === me) view.muted = null; break;
    case "SlowModeSet": view.chat.slow_mode = ev.seconds; break;
    case "ProductPinned": if (!view.stage.pins.includes(ev.sku)) view.stage.pins.push(ev.sku); break;
    case "ProductUnpinned": view.stage.pins = view.stage.pins.filter((s) => s !== ev.sku); break;
    case "Announced":
      view.stage.announcements.push({ announcement_id: ev.announcement_id, text: ev.text, by: ev.by, at: ev.at });
      if (view.stage.announcements.length > 20) view.stage.announcements.shift();
      break;
    case "StreamSet": view.stage.stream = ev.url && ev.stream_kind ? { url: ev.url, kind: ev.stream_kind } : null; break;
    case "ShowEnded": view.checkout.show = { ended_at: ev.ended_at, replay: ev.replay }; break;
    case "CartLocked": view.phase = view.checkout.phase = "locked"; break;
    case "CartUnlocked": view.phase = view.checkout.phase = "open"; view.checkout.pricing = null; break;
    case "PricingReported":
      view.checkout.pricing = { snapshot_version: ev.snapshot_version, currency: ev.currency, total_minor: ev.total_minor,
        ready: ev.ready, issues: ev.issues || [], at: ev.at };
      break;
    case "SettlementBegan":
      view.phase = view.checkout.phase = "settling";
      view.checkout.order_id = ev.order_id;
      view.checkout.snapshot_version = ev.snapshot_version;
      view.checkout.shares = [];
      break;
    case "ShareUpdated": {
      const vo = (view.checkout.viewer_orders || []).find((o) => o.order_id === ev.order_id);
      if (vo) { vo.status = ev.status; vo.total_minor = ev.amount_minor; break; }
      if (ev.order_id !== view.checkout.order_id) break;
      const shares = view.checkout.shares.filter((s) => s.payer !== ev.payer);
      shares.push({ payer: ev.payer, status: ev.status, amount_minor: ev.amount_minor });
      view.checkout.shares = shares;
      break;
    }
    case "OrderSettled": {
      // a live viewer's own order (rooms/rules/viewer_orders.py): paid, its lines leave the cart
      const orders = view.checkout.viewer_orders || [];
      const vo = orders.find((o) => o.order_id === ev.order_id);
      if (vo) {
        view.checkout.viewer_orders = orders.filter((o) => o !== vo);
        if (vo.payer === me) view.checkout.my_last_order = { ...vo, status: ev.outcome };
        if (ev.outcome === "paid") {
          const gone = new Set(vo.lines.map((l) => l.line_id));
          view.lines = view.lines.filter((l) => !gone.has(l.line_id));
          view.checkout.drop_claims = (view.checkout.drop_claims || []).filter((k) => !gone.has(k.line_id));
          if (view.checkout.sales) {
            view.checkout.sales = { ...view.checkout.sales, orders: view.checkout.sales.orders + 1,
              revenue_minor: view.checkout.sales.revenue_minor + vo.total_minor, currency: view.checkout.sales.currency || vo.currency };
          }
        }
        break;
      }
      if (ev.order_id !== view.checkout.order_id) break;
      if (ev.outcome === "paid") { view.checkout.orders.push(ev.order_id); view.lines = []; }
      view.checkout.last_outcome = { order_id: ev.order_id, outcome: ev.outcome };
      view.phase = view.checkout.phase = "open";
      view.checkout.order_id = null;
      view.checkout.snapshot_version = null;
      view.checkout.shares = [];
      view.checkout.handoff_url = null;
      view.checkout.pricing = null;
      break;
    }
    case "ViewerOrderBegan":
      view.checkout.viewer_orders = [...(view.checkout.viewer_orders || []).filter((o) => o.order_id !== ev.order_id),
        { order_id: ev.order_id, payer: ev.payer, lines: ev.lines, total_minor: ev.total_minor, currency: ev.currency, status: "pending", at: ev.at, deadline_at: ev.deadline_at ?? null }];
      break;
    case "BuyTickerSet": view.checkout.buy_ticker = ev.on; break;
    // drops (rooms/rules/drops.py): terms and counts are public, a claim is its viewer's
    case "DropStarted": {
      const drops = (view.checkout.drops || []).filter((d) => d.drop_id !== ev.drop_id);
      drops.push({ drop_id: ev.drop_id, sku: ev.sku, variant: ev.variant, title: ev.title, price_minor: ev.price_minor,
        regular_minor: ev.regular_minor, currency: ev.currency, quantity: ev.quantity, per_buyer_limit: ev.per_buyer_limit,
        started_at: ev.at, ends_at: ev.ends_at, by: ev.by, image: ev.image, sold: 0, ended_at: null, remaining: ev.quantity });
      view.checkout.drops = drops.slice(-20);
      break;
    }
    case "DropEnded": { const d = (view.checkout.drops || []).find((x) => x.drop_id === ev.drop_id); if (d) d.ended_at = ev.at; break; }
    case "DropRemaining": {
      const d = (view.checkout.drops || []).find((x) => x.drop_id === ev.drop_id);
      if (d) { d.remaining = ev.remaining; d.sold = ev.sold; }
      break;
    }
    case "DropClaimed": {
      view.checkout.drop_claims = [...(view.checkout.drop_claims || []), { line_id: ev.line_id, drop_id: ev.drop_id,
        member_id: ev.member_id, variant: ev.variant, quantity: ev.quantity, at: ev.at, hold_until: ev.hold_until }];
      if (ev.member_id === me) {
        const taken = view.checkout.drop_taken || (view.checkout.drop_taken = {});
        taken[ev.drop_id] = (taken[ev.drop_id] || 0) + ev.quantity;
      }
      break;
    }
    case "DropClaimReleased": {
      const claims = view.checkout.drop_claims || [];
      const k = claims.find((x) => x.line_id === ev.line_id);
      view.checkout.drop_claims = claims.filter((x) => x.line_id !== ev.line_id);
      if (k && ev.member_id === me && view.checkout.drop_taken) {
        view.checkout.drop_taken[ev.drop_id] = Math.max(0, (view.checkout.drop_taken[ev.drop_id] || 0) - k.quantity);
      }
      break;
    }
    case "HandoffRecorded": view.checkout.handoff_url = ev.url; break;
    default: break;
  }
  return view;
}

export function isStaff(view) {
  const role = view.you && view.you.role;
  return ["host", "cohost", "moderator", "associate"].includes(role);
}
