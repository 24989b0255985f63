"""Prometheus counters of notification delivery, registered on the node's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from cowork.metrics import LATENCY_BUCKETS, Metrics

PUSH_BUCKETS = (*LATENCY_BUCKETS, 10.0, 30.0, 60.0)


class NotifyMetrics:
    def __init__(self, metrics: Metrics | CollectorRegistry) -> None:
        r = metrics.registry if isinstance(metrics, Metrics) else metrics
        self.events = Counter(
            "cowork_notify_events_total", "Personal events taken from JetStream", registry=r
        )
        self.duplicates = Counter(
            "cowork_notify_duplicates_total",
            "Deliveries already logged when an event came again (redelivery deduplicated)",
            registry=r,
        )
        self.attempts = Counter(
            "cowork_notify_attempts_total",
            "Requests to providers, by channel and outcome",
            ["channel", "outcome"],
            registry=r,
        )
        self.deliveries = Counter(
            "cowork_notify_deliveries_total",
            "Deliveries finished, by channel and final state (sent, gone, failed, skipped)",
            ["channel", "state"],
            registry=r,
        )
        self.deferred = Counter(
            "cowork_notify_deferred_total", "Pushes held for quiet hours", registry=r
        )
        self.devices_removed = Counter(
            "cowork_notify_devices_removed_total",
            "Devices forgotten because the provider said they are gone",
            ["channel"],
            registry=r,
        )
        self.busy = Counter(
            "cowork_notify_lane_full_total",
            "Deliveries left for a later pass because their provider had no free slot",
            ["channel"],
            registry=r,
        )
        self.latency = Histogram(
            "cowork_notify_latency_seconds",
            "Commit of the event to the provider's acceptance (first attempts only)",
            ["channel"],
            buckets=PUSH_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "cowork_notify_in_flight", "Events being delivered on this node", registry=r
        )
