"""Prometheus metrics of the service."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

POSTBACKS = Counter("postback_requests_total", "Postbacks received, by outcome", ["outcome"])
BATCH_SIZE = Histogram(
    "postback_batch_size",
    "Conversions written per transaction",
    buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
)
BATCH_SECONDS = Histogram(
    "postback_batch_seconds",
    "Time to write and commit one batch",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
QUEUE_DEPTH = Gauge("postback_write_queue_depth", "Postbacks waiting for their batch")
DATABASE_UP = Gauge("postback_database_up", "1 when the last health check reached the database")
SPOOL_DEPTH = Gauge("postback_spool_depth", "Acknowledged postbacks waiting in the local spool")
SPOOLED = Counter("postback_spooled_total", "Postbacks written to the spool (database away)")
REPLAYED = Counter("postback_replayed_total", "Spooled postbacks stored in the database")


def observe_batch(size: int, seconds: float) -> None:
    BATCH_SIZE.observe(size)
    BATCH_SECONDS.observe(seconds)


DELIVERY_ATTEMPTS = Counter(
    "postback_delivery_attempts_total",
    "Outgoing postback attempts, by what became of the delivery",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "postback_delivery_attempt_seconds",
    "Time of one outgoing postback attempt, answer or not",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
DELIVERIES = Gauge(
    "postback_deliveries",
    "Deliveries waiting (pending; due: pending and due now) or given up (dead)",
    ["state"],
)


def observe_attempt(delivered: bool, retrying: bool, seconds: float) -> None:
    outcome = "delivered" if delivered else "retry" if retrying else "dead"
    DELIVERY_ATTEMPTS.labels(outcome).inc()
    DELIVERY_SECONDS.observe(seconds)
