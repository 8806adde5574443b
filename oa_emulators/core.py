"""What every OA emulator shares: switchable faults, the in-memory store and callback delivery.

Contract:
* ``Fault(kind, after_commit=False, delay=1.0, status=503)``: ``error`` answers HTTP ``status``; ``timeout`` sleeps
  ``delay`` seconds (longer than the client waits) and then answers; ``slow`` sleeps ``delay`` and answers
  normally; ``malformed`` answers an HTML error page with HTTP 200; ``reject`` answers the OA's own business
  refusal; ``drop`` (for the ``callback`` operation) loses the callback. With ``after_commit=True`` the OA first does
  the work (the document exists) and then misbehaves: the case that duplicates documents when a client simply
  retries.
* ``FaultPlan``: ``push(op, fault, times=1)`` queues faults for the next calls of an operation (``token``,
  ``create``, ``lookup``, ``status``, ``upload``, ``callback``); ``set_rates(error=, timeout=, ...)`` adds random
  faults (seeded) for load tests; ``take(op)`` is what a route calls.
* ``Store``: ``Record``s by OA id; ``count(doc_no)`` is how many documents the OA holds for one of our document
  numbers (the contract suite's "created exactly once").
* ``OaEmulator``: base of the per-OA emulators. ``guarded(op, work)`` runs a route's work under the fault plan;
  ``decide(oa_id, raw_status)`` changes a document's status the way an approver would and sends the OA's callback
  to ``callback_url`` (unless dropped), recording each answer in ``callbacks``.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from pipeline.sync import webhook

FaultKind = Literal["error", "timeout", "slow", "malformed", "reject", "drop"]
MALFORMED = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    after_commit: bool = False
    delay: float = 1.0
    status: int = 503


class FaultPlan:
    def __init__(self, seed: int = 0):
        self._queues: dict[str, deque[Fault]] = defaultdict(deque)
        self._rates: dict[str, list[tuple[float, Fault]]] = {}
        self._rng = random.Random(seed)
        self._after_share = 0.5
        self._lock = threading.Lock()
        self.injected: dict[str, int] = defaultdict(int)

    def push(self, op: str, fault: Fault, times: int = 1) -> None:
        with self._lock:
            self._queues[op].extend([fault] * times)

    def set_rates(self, *, ops: tuple[str, ...] = ("create",), error: float = 0.0, timeout: float = 0.0,
                  timeout_delay: float = 1.0, after_commit_share: float = 0.5, seed: int | None = None) -> None:
        """Random faults: ``error`` and ``timeout`` are probabilities per call; ``after_commit_share`` of them hit
        after the work is done."""
        with self._lock:
            if seed is not None:
                self._rng = random.Random(seed)
            for op in ops:
                self._rates[op] = [(error, Fault("error")), (timeout, Fault("timeout", delay=timeout_delay))]
            self._after_share = after_commit_share

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
            self._rates.clear()

    def take(self, op: str) -> Fault | None:
        with self._lock:
            if self._queues[op]:
                fault = self._queues[op].popleft()
            else:
                fault = None
                roll = self._rng.random()
                for rate, candidate in self._rates.get(op, []):
                    if roll < rate:
                        fault = Fault(candidate.kind, self._rng.random() < self._after_share, candidate.delay)
                        break
                    roll -= rate
            if fault is not None:
                self.injected[f"{op}:{fault.kind}"] += 1
            return fault


@dataclass
class Record:
    oa_id: str
    doc_no: str | None
    payload: Any
    status: str
    creator: str | None = None
    attachments: list[tuple[str, bytes]] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    extra: dict[str, Any] = field(default_factory=dict)


class Store:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.lock = threading.RLock()

    def add(self, record: Record) -> Record:
        with self.lock:
            self.records[record.oa_id] = record
            return record

    def get(self, oa_id: str) -> Record | None:
        with self.lock:
            return self.records.get(str(oa_id))

    def by_doc_no(self, doc_no: str) -> list[Record]:
        with self.lock:
            return [r for r in self.records.values() if r.doc_no == doc_no]

    def count(self, doc_no: str) -> int:
        return len(self.by_doc_no(doc_no))

    def all(self) -> list[Record]:
        with self.lock:
            return list(self.records.values())


@dataclass(frozen=True)
class OutgoingCallback:
    method: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


class OaEmulator:
    name = "emulator"
    callback_path_hint = "/callback"

    def __init__(self, *, callback_url: str | None = None, seed: int = 0):
        self.faults = FaultPlan(seed)
        self.store = Store()
        self.callback_url = callback_url
        self.callbacks: list[tuple[int, bytes]] = []  # (HTTP status, body) of every callback answer
        self.calls: dict[str, int] = defaultdict(int)
        self._ids = 0
        self._id_lock = threading.Lock()
        self.app = FastAPI(title=f"{self.name} emulator")
        self.routes(self.app)

    # ------------------------------------------------------------ for subclasses

    def routes(self, app: FastAPI) -> None:
        raise NotImplementedError

    def reject_response(self, op: str) -> Response:
        return JSONResponse({"error": "refused"}, status_code=400)

    def build_callback(self, record: Record) -> OutgoingCallback | None:
        return None

    def hook_callback(self, secret: str | None, body: dict[str, Any]) -> OutgoingCallback | None:
        """The signed Standard Webhooks request an in-OA hook (E9 Action, Seeyon listener, EKP robot) would send."""
        if not secret:
            return None
        raw = json.dumps(body, ensure_ascii=False).encode()
        headers = webhook.signed_headers(secret, f"cb_{body.get('oa_request_id')}_{self.next_id()}", raw)
        headers["Content-Type"] = "application/json"
        return OutgoingCallback("POST", {}, headers, raw)

    def callback_acknowledged(self, response: httpx.Response) -> bool:
        return 200 <= response.status_code < 300

    def next_id(self) -> int:
        with self._id_lock:
            self._ids += 1
            return self._ids

    # ------------------------------------------------------------ faults

    async def guarded(self, op: str, work: Callable[[], Response],
                      reject: Callable[[], Response] | None = None) -> Response:
        """``reject`` overrides ``reject_response(op)`` for routes that refuse in another dialect (SOAP)."""
        self.calls[op] += 1
        fault = self.faults.take(op)
        if fault and not fault.after_commit:
            if fault.kind in ("timeout", "slow"):
                await asyncio.sleep(fault.delay)
                if fault.kind == "timeout":
                    return JSONResponse({"error": "gateway timeout"}, status_code=504)
            elif fault.kind == "error":
                return JSONResponse({"error": "emulated failure"}, status_code=fault.status)
            elif fault.kind == "malformed":
                return Response(MALFORMED, media_type="text/html")
            elif fault.kind == "reject":
                return reject() if reject is not None else self.reject_response(op)
        response = work()
        if fault and fault.after_commit:
            if fault.kind in ("timeout", "slow"):
                await asyncio.sleep(fault.delay)
            elif fault.kind == "error":
                return JSONResponse({"error": "emulated failure after commit"}, status_code=fault.status)
            elif fault.kind == "malformed":
                return Response(MALFORMED, media_type="text/html")
        return response

    # ------------------------------------------------------------ approvals and callbacks

    def set_status(self, oa_id: str, raw_status: str) -> Record:
        record = self.store.get(oa_id)
        if record is None:
            raise KeyError(f"{self.name}: no document {oa_id}")
        with self.store.lock:
            record.status = raw_status
        return record

    def decide(self, oa_id: str, raw_status: str, *, callback: bool = True) -> bool:
        """Set the status; send the callback. Returns whether a callback was delivered and acknowledged."""
        record = self.set_status(oa_id, raw_status)
        if not callback or not self.callback_url:
            return False
        outgoing = self.build_callback(record)
        if outgoing is None:
            return False
        fault = self.faults.take("callback")
        if fault and fault.kind == "drop":
            return False
        return self.send(outgoing)

    def send(self, outgoing: OutgoingCallback) -> bool:
        response = httpx.request(outgoing.method, self.callback_url, params=outgoing.query or None,
                                 headers=outgoing.headers, content=outgoing.body, timeout=10)
        self.callbacks.append((response.status_code, response.content))
        return self.callback_acknowledged(response)


__all__ = ["Fault", "FaultKind", "FaultPlan", "MALFORMED", "OaEmulator", "OutgoingCallback", "Record", "Store"]
