"""Prometheus metrics of one node, in a registry owned by the app (nothing global)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "cowork_http_requests_total", "HTTP requests", ["group", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "cowork_http_request_seconds",
            "HTTP request latency",
            ["group"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.mailbox_depth = Gauge(
            "cowork_actor_mailbox_depth", "Messages waiting in actors", registry=r
        )
        self.actors = Gauge("cowork_actors", "Space actors alive on this node", registry=r)
        self.bookings = Counter(
            "cowork_booking_commands_total",
            "Booking commands handled",
            ["command", "outcome"],
            registry=r,
        )
        self.booking_rows = Histogram(
            "cowork_booking_write_rows",
            "New bookings per statement (group commit)",
            buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512),
            registry=r,
        )
        self.outbox_lag = Gauge(
            "cowork_outbox_lag_seconds", "Age of the oldest unpublished outbox event", registry=r
        )
        self.delivery_lag = Histogram(
            "cowork_event_delivery_seconds",
            "Commit to fan-out latency",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.connections = Gauge(
            "cowork_stream_connections", "Open SSE/websocket clients", ["kind"], registry=r
        )
        self.timer_sweeps = Counter("cowork_timer_sweeps_total", "Timer sweeps", registry=r)
        self.timer_lag = Gauge(
            "cowork_timer_lag_seconds", "Lateness of the last deadline processed", registry=r
        )


def route_group(path: str) -> str:
    """`/api/v1/spaces/3/bookings` → `spaces`; other paths → their first segment."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        return parts[2]
    return parts[0] if parts else "root"
