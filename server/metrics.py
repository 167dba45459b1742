"""Prometheus metrics of one coshop process, on a registry of its own (no global state).

Served at ``/metrics``. Labels never carry room ids, member ids or text: cardinality stays fixed.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("coshop_connections", "Open WebSocket sessions", registry=r)
        self.rooms = Gauge("coshop_rooms_loaded", "Rooms loaded in this process", registry=r)
        self.events = Counter("coshop_events_committed", "Durable events committed", registry=r)
        self.commands = Counter("coshop_commands", "Commands handled", ["outcome"], registry=r)
        self.signals = Counter("coshop_signals", "Ephemeral signals relayed", registry=r)
        self.frames_out = Counter("coshop_frames_sent", "Frames queued to clients", registry=r)
        self.evictions = Counter(
            "coshop_outbox_evictions", "Clients closed with 1013 for a full outbox", registry=r
        )
        self.rejected_frames = Counter(
            "coshop_frames_rejected", "Inbound frames refused", ["code"], registry=r
        )
        self.commit_latency = Histogram(
            "coshop_commit_seconds",
            "Latency of one group commit",
            buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=r,
        )
        self.commit_batch = Histogram(
            "coshop_commit_batch_size",
            "Appends per group commit",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            registry=r,
        )
        self.broker_healthy = Gauge(
            "coshop_broker_healthy", "1 when the broker is connected", registry=r
        )
        # The checkout outbox (server/checkout/outbox.py): effects not yet acknowledged.
        self.checkout_outbox_depth = Gauge(
            "coshop_checkout_outbox_depth", "Checkout effects not yet delivered", registry=r
        )
        self.checkout_outbox_oldest_age = Gauge(
            "coshop_checkout_outbox_oldest_age_seconds",
            "Age of the oldest checkout effect not yet delivered (0 when none)",
            registry=r,
        )
        self.checkout_outbox_dead = Counter(
            "coshop_checkout_outbox_dead",
            "Checkout effects given up on (a permanent failure)",
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
