"""The outbox relay: delivers ``OutboxMessage`` rows through an OA adapter, at least once, with retries.

Contract:
* ``relay_once(session_factory, adapter, now)`` claims up to ``batch_size`` due messages (status ``pending`` with
  ``next_attempt_at <= now``, or ``sending`` whose lease ran out because a relay died mid-delivery), delivers each,
  and returns how many it handled. Claiming is a short transaction of its own (PostgreSQL: ``SELECT ... FOR UPDATE
  SKIP LOCKED``, so relays on several machines share the work; SQLite: a conditional UPDATE on the row's attempt
  count), and no database transaction is open while the adapter talks to the OA. A relay starts no delivery once
  ``LEASE_SHARE`` of the batch's lease has gone (slow OA answers): the rest is taken again after the lease, so two
  relays never send one message at the same time.
* Delivered: status ``delivered``; the claim gets ``oa_request_id`` (if the OA returned one and the claim has none)
  and, while it still waits for approval, ``oa_status``. A decision that arrived first is never overwritten. The
  OA's id is stored in the same transaction that marks the message delivered, so it is there before anything
  else happens to the claim. An answer that the OA already had the document but without its id (Seeyon's
  unique-field refusal, ``SubmitResult(None, deduplicated=True)``) is delivered too: the id comes with the
  callback or is found by ``api.reconcile`` (``lookup``), never by creating the document again.
* Failed: retried after ``RetryPolicy.delay(attempt)`` (exponential, with jitter) until ``max_attempts``; then, or at
  once for a permanent failure, status ``dead`` with ``last_error`` kept and the claim's ``oa_status`` set to
  ``delivery_failed``. Every outcome is noted in the claim's audit log.
* ``metrics`` (``api.metrics.OaMetrics``, optional) counts sent / deduplicated / failed / retried / dead and the
  duration of each ``submit``.
* ``run_relay_forever(...)`` loops until its stop event is set; ``RelayThread`` runs it in a daemon thread (an
  app starts ``Settings.relay_workers`` of them; they share the work like relays in several processes do).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from api.columns import utcnow
from api.db import SessionFactory
from api.metrics import OaMetrics
from api.settings import Settings
from api.tables import AuditLog, Claim, OutboxMessage, OutboxStatus
from pipeline.claim import ClaimState
from pipeline.sync.base import DeliveryError, OaAdapter, OutboundMessage, SubmitResult

log = logging.getLogger(__name__)

DUE_STATUSES = (OutboxStatus.PENDING, OutboxStatus.SENDING)
LEASE_SHARE = 0.8  # a relay starts no delivery after this share of its batch's lease has gone
MAX_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 8
    base_seconds: float = 2.0
    max_seconds: float = 3600.0
    lease_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(max_attempts=settings.relay_max_attempts, base_seconds=settings.relay_backoff_base_seconds,
                   max_seconds=settings.relay_backoff_max_seconds, lease_seconds=settings.relay_lease_seconds)

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based): between half and all of
        ``base * 2**(attempt-1)``, capped at ``max_seconds``. The jitter spreads retries of many messages."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True)
class _Claimed:
    row_id: int
    claim_id: int
    message: OutboundMessage  # message.attempt counts this delivery


def _claim_due(session_factory: SessionFactory, now: datetime, retry: RetryPolicy, limit: int) -> list[_Claimed]:
    claimed = []
    with session_factory() as session:
        query = (select(OutboxMessage).where(col(OutboxMessage.status).in_(DUE_STATUSES),
                                             OutboxMessage.next_attempt_at <= now)
                 .order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id)).limit(limit))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for row in session.exec(query).all():
            taken = session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == row.id, col(OutboxMessage.attempts) == row.attempts,
                       col(OutboxMessage.status).in_(DUE_STATUSES))
                .values(status=OutboxStatus.SENDING, attempts=row.attempts + 1,
                        next_attempt_at=now + timedelta(seconds=retry.lease_seconds))
                .execution_options(synchronize_session=False))
            if taken.rowcount == 1:
                claimed.append(_Claimed(row.id, row.claim_id, OutboundMessage(
                    message_id=row.message_id, idempotency_key=row.idempotency_key, topic=row.topic,
                    payload=row.payload, created_at=row.created_at, attempt=row.attempts + 1)))
        session.commit()
    return claimed


def _note(session: Session, claim_id: int, detail: str) -> None:
    claim = session.get(Claim, claim_id)
    session.add(AuditLog(claim_id=claim_id, from_state=claim.state, to_state=claim.state, actor="relay",
                         detail=detail))


def _set_oa_status_while_pending(session: Session, claim_id: int, status: str) -> None:
    # A conditional UPDATE rather than an ORM write: the OA's decision may be committed concurrently, and it wins.
    session.exec(update(Claim).where(col(Claim.id) == claim_id, col(Claim.state) == ClaimState.PENDING_APPROVAL)
                 .values(oa_status=status))


def _delivered(session_factory: SessionFactory, item: _Claimed, result: SubmitResult, now: datetime) -> None:
    with session_factory() as session:
        row = session.get(OutboxMessage, item.row_id)
        row.status, row.delivered_at, row.last_error = OutboxStatus.DELIVERED, now, None
        if result.oa_request_id:
            session.exec(update(Claim).where(col(Claim.id) == item.claim_id, col(Claim.oa_request_id).is_(None))
                         .values(oa_request_id=result.oa_request_id))
        _set_oa_status_while_pending(session, item.claim_id, result.status)
        detail = f"delivered to OA on attempt {item.message.attempt}"
        if result.oa_request_id:
            detail += f", request {result.oa_request_id}"
        if result.deduplicated:
            detail += (" (the OA already had it: not created again)" if result.oa_request_id else
                       " (the OA already had it but gave no id: found later by callback or reconciliation)")
        _note(session, item.claim_id, detail)
        session.commit()


def _failed(session_factory: SessionFactory, item: _Claimed, error: str, retryable: bool, now: datetime,
            retry: RetryPolicy, rng: random.Random) -> bool:
    """Schedule another attempt or dead-letter the message; returns True when it is dead."""
    with session_factory() as session:
        row = session.get(OutboxMessage, item.row_id)
        row.last_error = error[:MAX_ERROR_CHARS]
        dead = not (retryable and item.message.attempt < retry.max_attempts)
        if not dead:
            row.status = OutboxStatus.PENDING
            row.next_attempt_at = now + timedelta(seconds=retry.delay(item.message.attempt, rng))
        else:
            row.status = OutboxStatus.DEAD
            _set_oa_status_while_pending(session, item.claim_id, "delivery_failed")
            why = f"{item.message.attempt} attempts" if retryable else "a permanent error"
            _note(session, item.claim_id, f"delivery to OA abandoned after {why}: {row.last_error}")
        session.commit()
    return dead


def relay_once(session_factory: SessionFactory, adapter: OaAdapter, now: datetime | None = None, *,
               retry: RetryPolicy | None = None, batch_size: int = 20, rng: random.Random | None = None,
               metrics: OaMetrics | None = None) -> int:
    now = now or utcnow()
    retry = retry or RetryPolicy()
    rng = rng or random.Random()
    claimed_at = time.monotonic()
    claimed = _claim_due(session_factory, now, retry, batch_size)
    for index, item in enumerate(claimed):
        if time.monotonic() - claimed_at > retry.lease_seconds * LEASE_SHARE:
            # the rest of the batch is left to run out its lease: another relay may take it then, and two relays
            # must never send one message at once
            log.warning("relay batch outlived %d%% of its lease; %d message(s) left for later",
                        LEASE_SHARE * 100, len(claimed) - index)
            return index
        started = time.perf_counter()
        failure: tuple[str, bool] | None = None
        try:
            result = adapter.submit(item.message)
        except DeliveryError as exc:
            log.warning("delivery of %s failed (attempt %d): %s", item.message.message_id, item.message.attempt, exc)
            failure = (str(exc), exc.retryable)
        except Exception as exc:  # an adapter bug must not stop the relay; retry like a transient failure
            log.exception("adapter %s crashed delivering %s", adapter.name, item.message.message_id)
            failure = (f"adapter error: {exc!r}", True)
        if metrics is not None:
            metrics.submitted(time.perf_counter() - started, failure is None)
        if failure is None:
            _delivered(session_factory, item, result, now)
            if metrics is not None:
                metrics.delivered(result.deduplicated)
        else:
            dead = _failed(session_factory, item, failure[0], failure[1], now, retry, rng)
            if metrics is not None:
                metrics.failure(failure[1], dead)
    return len(claimed)


def run_relay_forever(session_factory: SessionFactory, adapter: OaAdapter, stop: threading.Event, *,
                      poll_seconds: float = 2.0, retry: RetryPolicy | None = None, batch_size: int = 20,
                      metrics: OaMetrics | None = None) -> None:
    while not stop.is_set():
        try:
            handled = relay_once(session_factory, adapter, retry=retry, batch_size=batch_size, metrics=metrics)
        except Exception:  # e.g. the database is briefly unreachable: log, wait, go on
            log.exception("relay pass failed")
            handled = 0
        if handled == 0:
            stop.wait(poll_seconds)


class RelayThread:
    """The in-process relay worker the app starts with its lifespan (``Settings.relay_enabled``)."""

    def __init__(self, session_factory: SessionFactory, adapter: OaAdapter, settings: Settings, *,
                 metrics: OaMetrics | None = None, name: str = "outbox-relay"):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=run_relay_forever, name=name, daemon=True,
            args=(session_factory, adapter, self._stop),
            kwargs={"poll_seconds": settings.relay_poll_seconds, "retry": RetryPolicy.from_settings(settings),
                    "batch_size": settings.relay_batch_size, "metrics": metrics})

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
