"""Reconciliation with the OA: what callbacks missed, found by asking the OA (its status and search APIs).

Contract:
* ``Reconciler(session_factory, adapter, after=30 min, batch_size=200, workers=1, metrics=None)``.
  ``run_once(now=None) -> ReconcileReport`` does one batch of each of:
  1. delivered messages whose claim still waits for approval without an OA id (e.g. Seeyon answered "already
     there" without one), delivered at least ``after`` ago: ``adapter.lookup(doc_no, since=...)``; an id found is
     stored (only where the claim has none) and its status polled at once;
  2. claims in ``pending_approval`` with an OA id, submitted at least ``after`` ago: ``adapter.status(id)``; the
     answer goes through ``services.apply_oa_decision`` (actor ``reconcile``): a final decision moves the claim
     exactly as a callback would, an open one only records the OA's status.
  Each kind walks the table in id order from where the last batch stopped (wrapping round), so a large backlog is
  covered a batch at a time. OA calls may run on ``workers`` threads; each result is written in its own
  transaction. A failing OA call (``DeliveryError``) or a refused write is counted in ``errors`` and tried again on
  a later pass; adapters without a status or search API (generic webhook, Seeyon's search) count as ``unknown``.
* ``run_all(now=None)`` sweeps everything once (the ``reimburse oa reconcile`` command).
* ``ReconcileThread(session_factory, adapter, settings, metrics=None)`` runs ``run_once`` every
  ``oa_reconcile_interval_seconds`` (at once again while batches come back full) until stopped; the app starts it
  when ``oa_reconcile_enabled``.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import col, select

from api import services
from api.columns import utcnow
from api.db import SessionFactory
from api.errors import ServiceError
from api.metrics import OaMetrics
from api.settings import Settings
from api.tables import AuditLog, Claim, OutboxMessage, OutboxStatus
from pipeline.claim import ClaimState
from pipeline.sync.base import DeliveryError, OaAdapter, OaDecision, lookup, poll_status
from pipeline.sync.common import LOOKUP_MARGIN

log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    looked_up: int = 0  # delivered documents without an OA id that were searched for
    ids_found: int = 0
    polled: int = 0  # status calls made
    decided: int = 0  # claims moved to a final state
    updated: int = 0  # open statuses recorded
    unchanged: int = 0
    unknown: int = 0  # the OA could not say (no status / search API, id or document unknown to it)
    errors: int = 0  # failed OA calls or writes, tried again later
    full_batch: bool = False  # a batch came back full: there is more to do

    def add(self, other: ReconcileReport) -> None:
        for key, value in asdict(other).items():
            if key != "full_batch":
                setattr(self, key, getattr(self, key) + value)
        self.full_batch = self.full_batch or other.full_batch

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


class Reconciler:
    def __init__(self, session_factory: SessionFactory, adapter: OaAdapter, *,
                 after: timedelta = timedelta(minutes=30), batch_size: int = 200, workers: int = 1,
                 metrics: OaMetrics | None = None):
        self.session_factory, self.adapter, self.after = session_factory, adapter, after
        self.batch_size, self.workers, self.metrics = batch_size, max(1, workers), metrics
        self._missing_cursor = 0  # last claim id handled, per kind
        self._waiting_cursor = 0

    @classmethod
    def from_settings(cls, session_factory: SessionFactory, adapter: OaAdapter, settings: Settings,
                      metrics: OaMetrics | None = None) -> Reconciler:
        return cls(session_factory, adapter, after=timedelta(minutes=settings.oa_reconcile_after_minutes),
                   batch_size=settings.oa_reconcile_batch_size, metrics=metrics)

    # ------------------------------------------------------------ what to look at

    def _missing_ids(self, now: datetime) -> list[tuple[int, str, datetime]]:
        with self.session_factory() as session:
            rows = session.exec(
                select(Claim.id, Claim.doc_no, OutboxMessage.created_at)
                .join(OutboxMessage, col(OutboxMessage.claim_id) == Claim.id)
                .where(Claim.state == ClaimState.PENDING_APPROVAL, col(Claim.oa_request_id).is_(None),
                       OutboxMessage.status == OutboxStatus.DELIVERED,
                       col(OutboxMessage.delivered_at) <= now - self.after, col(Claim.id) > self._missing_cursor)
                .order_by(col(Claim.id)).limit(self.batch_size)).all()
        return [tuple(r) for r in rows]

    def _waiting(self, now: datetime) -> list[tuple[int, str]]:
        with self.session_factory() as session:
            rows = session.exec(
                select(Claim.id, Claim.oa_request_id)
                .where(Claim.state == ClaimState.PENDING_APPROVAL, col(Claim.oa_request_id).is_not(None),
                       Claim.updated_at <= now - self.after, col(Claim.id) > self._waiting_cursor)
                .order_by(col(Claim.id)).limit(self.batch_size)).all()
        return [tuple(r) for r in rows]

    # ------------------------------------------------------------ one item each

    def _apply(self, claim_id: int, decision: OaDecision) -> str:
        decision = OaDecision(decision.decision, claim_id=claim_id, oa_request_id=decision.oa_request_id,
                              comment=decision.comment, extra=decision.extra)
        try:
            with self.session_factory() as session:
                _, changed = services.apply_oa_decision(session, decision, actor="reconcile")
        except (ServiceError, StaleDataError) as exc:
            log.warning("reconciliation could not apply %s to claim %s: %s", decision.decision, claim_id, exc)
            return "errors"
        if changed:
            return "decided"
        return "updated" if not decision.is_final else "unchanged"

    def _poll(self, claim_id: int, request_id: str) -> Counter[str]:
        outcome: Counter[str] = Counter(polled=1)
        try:
            decision = poll_status(self.adapter, request_id)
        except DeliveryError as exc:
            log.warning("status of OA request %s (claim %s) failed: %s", request_id, claim_id, exc)
            outcome["errors"] += 1
            return outcome
        except Exception:  # an adapter bug must not stop the pass; the claim is asked about again later
            log.exception("adapter %s crashed reading the status of %s", self.adapter.name, request_id)
            outcome["errors"] += 1
            return outcome
        if decision is None:
            outcome["unknown"] += 1
            return outcome
        if decision.oa_request_id is None:
            decision = OaDecision(decision.decision, oa_request_id=request_id, extra=decision.extra)
        outcome[self._apply(claim_id, decision)] += 1
        return outcome

    def _find_id(self, claim_id: int, doc_no: str, created_at: datetime) -> Counter[str]:
        outcome: Counter[str] = Counter(looked_up=1)
        try:
            found = lookup(self.adapter, doc_no, since=created_at - LOOKUP_MARGIN)
        except DeliveryError as exc:
            log.warning("look-up of %s failed: %s", doc_no, exc)
            outcome["errors"] += 1
            return outcome
        except Exception:
            log.exception("adapter %s crashed looking up %s", self.adapter.name, doc_no)
            outcome["errors"] += 1
            return outcome
        if found is None or not found.oa_request_id:
            outcome["unknown"] += 1
            return outcome
        with self.session_factory() as session:
            stored = session.exec(update(Claim).where(col(Claim.id) == claim_id, col(Claim.oa_request_id).is_(None))
                                  .values(oa_request_id=found.oa_request_id)).rowcount
            if stored:
                state = session.get(Claim, claim_id).state
                session.add(AuditLog(claim_id=claim_id, from_state=state, to_state=state, actor="reconcile",
                                     detail=f"OA request {found.oa_request_id} found by look-up of {doc_no}"))
            session.commit()
        if stored:
            outcome["ids_found"] += 1
        outcome.update(self._poll(claim_id, found.oa_request_id))
        return outcome

    def _run(self, jobs: Iterable[Callable[[], Counter[str]]]) -> Counter[str]:
        total: Counter[str] = Counter()
        jobs = list(jobs)
        if self.workers == 1 or len(jobs) < 2:
            for job in jobs:
                total.update(job())
        else:
            with ThreadPoolExecutor(self.workers, thread_name_prefix="reconcile") as pool:
                for result in pool.map(lambda job: job(), jobs):
                    total.update(result)
        return total

    # ------------------------------------------------------------ passes

    def run_once(self, now: datetime | None = None) -> ReconcileReport:
        report, _, _ = self._pass(now or utcnow(), True, True)
        return report

    def _pass(self, now: datetime, missing_ids: bool, waiting: bool) -> tuple[ReconcileReport, bool, bool]:
        """One batch of each kind asked for; returns the report and whether each kind's batch was full."""
        missing = self._missing_ids(now) if missing_ids else []
        pending = self._waiting(now) if waiting else []
        more_missing, more_waiting = len(missing) == self.batch_size, len(pending) == self.batch_size
        if missing_ids:
            self._missing_cursor = missing[-1][0] if more_missing else 0
        if waiting:
            self._waiting_cursor = pending[-1][0] if more_waiting else 0
        jobs = [lambda c=c, d=d, t=t: self._find_id(c, d, t) for c, d, t in missing]
        jobs += [lambda c=c, r=r: self._poll(c, r) for c, r in pending]
        counts = self._run(jobs)
        report = ReconcileReport(**counts, full_batch=more_missing or more_waiting)
        if self.metrics is not None:
            for action in ("ids_found", "polled", "decided", "updated", "unknown", "errors"):
                self.metrics.reconcile(action, counts.get(action, 0))
        return report, more_missing, more_waiting

    def run_all(self, now: datetime | None = None) -> ReconcileReport:
        """Every candidate once, a batch at a time."""
        now = now or utcnow()
        self._missing_cursor = self._waiting_cursor = 0
        total, missing_ids, waiting = ReconcileReport(), True, True
        while missing_ids or waiting:
            report, missing_ids, waiting = self._pass(now, missing_ids, waiting)
            total.add(report)
        total.full_batch = False
        return total


def run_reconcile_forever(reconciler: Reconciler, stop: threading.Event, interval: float) -> None:
    while not stop.is_set():
        try:
            report = reconciler.run_once()
        except Exception:  # e.g. the database is briefly unreachable: log, wait, go on
            log.exception("reconciliation pass failed")
            report = ReconcileReport()
        stop.wait(0 if report.full_batch else interval)


class ReconcileThread:
    """The in-process reconciliation worker the app starts with its lifespan (``oa_reconcile_enabled``)."""

    def __init__(self, session_factory: SessionFactory, adapter: OaAdapter, settings: Settings, *,
                 metrics: OaMetrics | None = None):
        self._stop = threading.Event()
        reconciler = Reconciler.from_settings(session_factory, adapter, settings, metrics)
        self._thread = threading.Thread(target=run_reconcile_forever, name="oa-reconcile", daemon=True,
                                        args=(reconciler, self._stop, settings.oa_reconcile_interval_seconds))

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)


__all__ = ["ReconcileReport", "ReconcileThread", "Reconciler", "run_reconcile_forever"]
