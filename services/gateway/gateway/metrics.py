"""What ops watch of the gateway, on /metrics beside the runtime's own (consumer lag)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

PROJECTION_LAG = Histogram(
    "orderflow_gateway_projection_lag_seconds",
    "From an event's occurred_at to its view being written, by topic.",
    ["topic"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
REQUESTS = Counter(
    "orderflow_gateway_requests_total", "HTTP requests by route and status.", ["route", "status"]
)
COMMANDS = Counter(
    "orderflow_gateway_commands_total", "Commands published, by topic and type.", ["topic", "type"]
)
