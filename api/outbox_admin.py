"""Operator tools for the outbox: inspect messages, read a dead letter, send it again.

Contract (each function takes an open ``Session``):
* ``list_messages(session, status=None, limit=100) -> list[OutboxRow]``: newest first, optionally one status.
* ``show_message(session, message_id) -> dict``: the message (without its payload body unless ``payload=True``),
  its claim (state, doc_no, OA id and status) and the relay's notes from the claim's audit log. ``NotFound`` for an
  unknown id.
* ``requeue(session, message_id=None, *, all_dead=False, actor="operator", now=None) -> list[int]``: makes dead
  messages (or one pending message: "try now") due now and returns their ids. The attempt count restarts at 1, not
  0, so the next delivery is a retry (attempt 2): adapters without an idempotency key look the document up in the
  OA before creating it, and a message that died after the OA had in fact created the document is not duplicated.
  The claim's ``oa_status`` "delivery_failed" is cleared and the requeue is noted in its audit log. A message that
  is delivered or being sent, or whose claim has already been decided, is refused with ``Conflict``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from api.columns import utcnow
from api.errors import Conflict, InvalidRequest, NotFound
from api.tables import AuditLog, Claim, OutboxMessage, OutboxStatus
from pipeline.claim import ClaimState

REQUEUE_ATTEMPTS = 1


@dataclass(frozen=True)
class OutboxRow:
    id: int
    message_id: str
    claim_id: int
    doc_no: str
    status: str
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_error: str | None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("next_attempt_at", "created_at", "delivered_at"):
            data[key] = data[key].isoformat() if data[key] else None
        return data


def _row(message: OutboxMessage, doc_no: str) -> OutboxRow:
    return OutboxRow(message.id, message.message_id, message.claim_id, doc_no, message.status, message.attempts,
                     message.next_attempt_at, message.created_at, message.delivered_at, message.last_error)


def list_messages(session: Session, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
    if status is not None and status not in {s.value for s in OutboxStatus}:
        raise InvalidRequest(f"unknown outbox status {status!r}; known: {', '.join(s.value for s in OutboxStatus)}")
    query = select(OutboxMessage, Claim.doc_no).join(Claim, col(Claim.id) == OutboxMessage.claim_id)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    rows = session.exec(query.order_by(col(OutboxMessage.id).desc()).limit(limit)).all()
    return [_row(message, doc_no) for message, doc_no in rows]


def show_message(session: Session, message_id: int, *, payload: bool = False) -> dict[str, Any]:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"no outbox message {message_id}")
    claim = session.get(Claim, message.claim_id)
    notes = session.exec(select(AuditLog).where(AuditLog.claim_id == claim.id,
                                                col(AuditLog.actor).in_(["relay", "reconcile", "operator"]))
                         .order_by(col(AuditLog.id))).all()
    data = _row(message, claim.doc_no).as_json()
    data.update(topic=message.topic, idempotency_key=message.idempotency_key,
                claim={"id": claim.id, "doc_no": claim.doc_no, "state": claim.state.value,
                       "oa_request_id": claim.oa_request_id, "oa_status": claim.oa_status},
                notes=[{"at": n.at.isoformat(), "actor": n.actor, "detail": n.detail} for n in notes])
    if payload:
        data["payload"] = message.payload
    return data


def _requeue_one(session: Session, message: OutboxMessage, actor: str, now: datetime) -> None:
    if message.status not in (OutboxStatus.DEAD, OutboxStatus.PENDING):
        raise Conflict(f"outbox message {message.id} is {message.status}; only dead or pending messages can be "
                       "requeued")
    claim = session.get(Claim, message.claim_id)
    if claim.state != ClaimState.PENDING_APPROVAL:
        raise Conflict(f"claim {claim.doc_no} is already {claim.state.value}; its message is not sent again")
    was = message.status
    message.status, message.next_attempt_at = OutboxStatus.PENDING, now
    message.attempts = REQUEUE_ATTEMPTS
    session.exec(update(Claim).where(col(Claim.id) == claim.id, col(Claim.oa_status) == "delivery_failed")
                 .values(oa_status=None))
    session.add(AuditLog(claim_id=claim.id, from_state=claim.state, to_state=claim.state, actor="operator",
                         detail=f"outbox message {message.id} ({was}) requeued by {actor}"
                                + (f"; last error: {message.last_error[:300]}" if message.last_error else "")))


def requeue(session: Session, message_id: int | None = None, *, all_dead: bool = False, actor: str = "operator",
            now: datetime | None = None) -> list[int]:
    if (message_id is None) == (not all_dead):
        raise InvalidRequest("name one message id, or all_dead")
    now = now or utcnow()
    if all_dead:
        messages = session.exec(
            select(OutboxMessage).join(Claim, col(Claim.id) == OutboxMessage.claim_id)
            .where(OutboxMessage.status == OutboxStatus.DEAD, Claim.state == ClaimState.PENDING_APPROVAL)
            .order_by(col(OutboxMessage.id))).all()
    else:
        message = session.get(OutboxMessage, message_id)
        if message is None:
            raise NotFound(f"no outbox message {message_id}")
        messages = [message]
    for message in messages:
        _requeue_one(session, message, actor, now)
    session.commit()
    return [m.id for m in messages]


__all__ = ["REQUEUE_ATTEMPTS", "OutboxRow", "list_messages", "requeue", "show_message"]
