"""Prometheus metrics of one coshop process, on a registry of its own (no global state).

Served at ``/metrics``. Labels never carry room ids, member ids or text: cardinality stays fixed.

Process gauges come from prometheus_client's own ``ProcessCollector`` (``process_open_fds``,
``process_max_fds``, ``process_resident_memory_bytes``, ``process_cpu_seconds_total``, read from
``/proc`` when the page renders) and ``coshop_process_tasks`` (asyncio tasks alive). The serving
layer's figures (``coshop_connection_cap``, ``coshop_tcp_connections``, refusals and slow
clients cut; ``server/serving.py``) appear once :meth:`Metrics.watch_serving` linked them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from server.serving import ServingStats

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
        self.rate_limited = Counter(
            "coshop_rate_limited",
            "HTTP requests refused with 429 rate_limited, by route group",
            ["group"],
            registry=r,
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
        # Outbound webhooks (server/webhooks/worker.py): attempts by outcome in this process;
        # the gauges read the shared tables after each delivery pass (every process the same).
        self.webhook_deliveries = Counter(
            "coshop_webhook_deliveries",
            "Webhook delivery attempts by outcome (delivered, retrying, failed: given up)",
            ["outcome"],
            registry=r,
        )
        self.webhook_pending = Gauge(
            "coshop_webhook_pending",
            "Webhook deliveries to enabled endpoints not delivered or given up yet",
            registry=r,
        )
        self.webhook_oldest_pending_age = Gauge(
            "coshop_webhook_oldest_pending_age_seconds",
            "Age of the oldest pending webhook delivery (0 when none)",
            registry=r,
        )
        self.webhook_endpoints_disabled = Gauge(
            "coshop_webhook_endpoints_disabled",
            "Disabled webhook endpoints by reason (merchant, failing)",
            ["reason"],
            registry=r,
        )
        for outcome in ("delivered", "retrying", "failed"):
            self.webhook_deliveries.labels(outcome)
        for reason in ("merchant", "failing"):
            self.webhook_endpoints_disabled.labels(reason)

        ProcessCollector(registry=r)
        self.tasks = Gauge(
            "coshop_process_tasks", "asyncio tasks alive in this process", registry=r
        )
        self.tasks.set_function(_task_count)

    def follow_broker(self, healthy: Callable[[], bool]) -> None:
        """``coshop_broker_healthy`` reads ``healthy()`` whenever ``/metrics`` renders.

        It follows the broker's listener at once; a ``set()`` from elsewhere is ignored.
        """
        self.broker_healthy.set_function(lambda: 1.0 if healthy() else 0.0)

    def watch_serving(self, stats: ServingStats) -> None:
        """Report the serving layer's cap, connections, refusals and cuts (once per process)."""
        self.registry.register(_ServingCollector(stats))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def _task_count() -> float:
    try:
        return float(len(asyncio.all_tasks()))
    except RuntimeError:  # no running loop: rendered outside the server
        return 0.0


class _ServingCollector(Collector):
    """Reads :class:`~server.serving.ServingStats` when ``/metrics`` renders."""

    def __init__(self, stats: ServingStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        s = self.stats
        yield GaugeMetricFamily(
            "coshop_connection_cap",
            "TCP connections served at once; more are answered 503 server_full",
            value=s.limits.connection_cap,
        )
        yield GaugeMetricFamily(
            "coshop_tcp_connections",
            "Open TCP connections (HTTP and WebSocket) counted against the cap",
            value=s.open_connections,
        )
        yield GaugeMetricFamily(
            "coshop_connections_refusing",
            "Refused connections still lingering (answer sent, reading what is left)",
            value=len(s.refusing),
        )
        yield CounterMetricFamily(
            "coshop_connections_refused",
            "Connections answered 503 server_full because the cap was reached",
            value=s.refused,
        )
        cut = CounterMetricFamily(
            "coshop_slow_clients_cut",
            "Connections cut because a request's headers or body missed their deadline",
            labels=["phase"],
        )
        cut.add_metric(["header"], s.cut_header)
        cut.add_metric(["body"], s.cut_body)
        yield cut
