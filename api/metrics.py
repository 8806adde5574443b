"""Monitoring of OA delivery: Prometheus counters per adapter and the sync success rate from the database.

Contract:
* ``OaMetrics(adapter, registry=None)`` owns its ``CollectorRegistry`` (one per app, so several apps in one
  process keep separate counts) with, all labelled ``adapter``:
  ``reimburse_oa_sent_total`` (documents the OA accepted), ``reimburse_oa_deduplicated_total`` (of those, ones it
  already had), ``reimburse_oa_failed_total{kind=retryable|permanent}`` (failed attempts),
  ``reimburse_oa_retried_total`` (failed attempts scheduled again), ``reimburse_oa_dead_total`` (messages given
  up), ``reimburse_oa_submit_seconds`` (histogram of one ``submit`` call, ``outcome=ok|failed``),
  ``reimburse_oa_callbacks_total{outcome}`` and ``reimburse_oa_reconciled_total{action}``.
  ``watch_database(session_factory)`` adds gauges read at scrape time: ``reimburse_outbox_messages{status}`` and
  ``reimburse_oa_sync_success_ratio`` (delivered / (delivered + dead)). ``exposition()`` is the text format.
* ``sync_stats(session, adapter, metrics=None) -> dict``: what ``GET /api/oa/stats`` answers: outbox counts by
  status, success rate, first-attempt rate, mean attempts of delivered messages, claims waiting for the OA (and
  how many of them have no OA id yet), and this process's counters.
The relay and the reconciler take ``metrics=None`` and then count nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func
from sqlmodel import Session, col, select

from api.db import SessionFactory
from api.tables import Claim, OutboxMessage, OutboxStatus
from pipeline.claim import ClaimState

LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class OaMetrics:
    def __init__(self, adapter: str, registry: CollectorRegistry | None = None):
        self.adapter = adapter
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.sent = Counter("reimburse_oa_sent", "Documents the OA accepted", ["adapter"], registry=r)
        self.deduplicated = Counter("reimburse_oa_deduplicated",
                                    "Deliveries the OA already had (found by look-up or its own key)", ["adapter"],
                                    registry=r)
        self.failed = Counter("reimburse_oa_failed", "Failed delivery attempts", ["adapter", "kind"], registry=r)
        self.retried = Counter("reimburse_oa_retried", "Failed attempts scheduled for another try", ["adapter"],
                               registry=r)
        self.dead = Counter("reimburse_oa_dead", "Messages given up (dead letters)", ["adapter"], registry=r)
        self.latency = Histogram("reimburse_oa_submit_seconds", "Duration of one submit call to the OA",
                                 ["adapter", "outcome"], buckets=LATENCY_BUCKETS, registry=r)
        self.callbacks = Counter("reimburse_oa_callbacks", "OA callbacks received, by outcome",
                                 ["adapter", "outcome"], registry=r)
        self.reconciled = Counter("reimburse_oa_reconciled", "Reconciliation actions, by kind",
                                  ["adapter", "action"], registry=r)

    # ------------------------------------------------------------ recording

    def submitted(self, seconds: float, ok: bool) -> None:
        self.latency.labels(self.adapter, "ok" if ok else "failed").observe(seconds)

    def delivered(self, deduplicated: bool) -> None:
        self.sent.labels(self.adapter).inc()
        if deduplicated:
            self.deduplicated.labels(self.adapter).inc()

    def failure(self, retryable: bool, dead: bool) -> None:
        self.failed.labels(self.adapter, "retryable" if retryable else "permanent").inc()
        (self.dead if dead else self.retried).labels(self.adapter).inc()

    def callback(self, outcome: str) -> None:
        self.callbacks.labels(self.adapter, outcome).inc()

    def reconcile(self, action: str, n: int = 1) -> None:
        if n:
            self.reconciled.labels(self.adapter, action).inc(n)

    # ------------------------------------------------------------ reading

    def value(self, name: str, **labels: str) -> float:
        """The current value of a counter sample (summed over unnamed labels); 0 when never counted."""
        total = 0.0
        for metric in self.registry.collect():
            for sample in metric.samples:
                if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                    total += sample.value
        return total

    def counters(self) -> dict[str, float]:
        a = {"adapter": self.adapter}
        return {"sent": self.value("reimburse_oa_sent_total", **a),
                "deduplicated": self.value("reimburse_oa_deduplicated_total", **a),
                "failed": self.value("reimburse_oa_failed_total", **a),
                "retried": self.value("reimburse_oa_retried_total", **a),
                "dead": self.value("reimburse_oa_dead_total", **a),
                "submit_calls": self.value("reimburse_oa_submit_seconds_count", **a),
                "submit_seconds": round(self.value("reimburse_oa_submit_seconds_sum", **a), 3)}

    def watch_database(self, session_factory: SessionFactory) -> None:
        self.registry.register(_OutboxCollector(session_factory))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def outbox_counts(session: Session) -> dict[str, int]:
    counts = {status.value: 0 for status in OutboxStatus}
    for status, n in session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)):
        counts[str(status)] = int(n)
    return counts


def success_ratio(counts: dict[str, int]) -> float | None:
    finished = counts.get("delivered", 0) + counts.get("dead", 0)
    return None if finished == 0 else counts.get("delivered", 0) / finished


class _OutboxCollector(Collector):
    def __init__(self, session_factory: SessionFactory):
        self.session_factory = session_factory

    def collect(self) -> Iterator[GaugeMetricFamily]:
        with self.session_factory() as session:
            counts = outbox_counts(session)
        gauge = GaugeMetricFamily("reimburse_outbox_messages", "Outbox messages by status", labels=["status"])
        for status, n in counts.items():
            gauge.add_metric([status], n)
        yield gauge
        ratio = success_ratio(counts)
        if ratio is not None:
            yield GaugeMetricFamily("reimburse_oa_sync_success_ratio",
                                    "Delivered / (delivered + dead) outbox messages", value=ratio)


def sync_stats(session: Session, adapter: str, metrics: OaMetrics | None = None) -> dict[str, Any]:
    counts = outbox_counts(session)
    delivered = OutboxMessage.status == OutboxStatus.DELIVERED
    first_try = session.exec(select(func.count()).where(delivered, OutboxMessage.attempts == 1)).one()
    mean_attempts = session.exec(select(func.avg(OutboxMessage.attempts)).where(delivered)).one()
    finished = counts["delivered"] + counts["dead"]
    waiting = Claim.state == ClaimState.PENDING_APPROVAL
    waiting_n = session.exec(select(func.count()).select_from(Claim).where(waiting)).one()
    without_id = session.exec(
        select(func.count()).select_from(Claim).join(OutboxMessage, col(OutboxMessage.claim_id) == Claim.id)
        .where(waiting, delivered, col(Claim.oa_request_id).is_(None))).one()
    ratio = success_ratio(counts)
    return {
        "adapter": adapter,
        "outbox": counts,
        "success_rate": None if ratio is None else round(ratio, 4),
        "first_attempt_rate": None if finished == 0 else round(first_try / finished, 4),
        "mean_attempts_delivered": None if mean_attempts is None else round(float(mean_attempts), 3),
        "claims_waiting_for_oa": int(waiting_n),
        "delivered_without_oa_id": int(without_id),
        "process_counters": metrics.counters() if metrics is not None else None,
    }


__all__ = ["CONTENT_TYPE", "OaMetrics", "outbox_counts", "success_ratio", "sync_stats"]
