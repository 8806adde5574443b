"""OA delivery benchmark: N claims through an OA emulator that fails 30% of calls and times out 5%, exactly once.

    .venv/bin/python -m benchmarks.oa_delivery_bench --claims 10000 --database sqlite
    .venv/bin/python -m benchmarks.oa_delivery_bench --claims 10000 --database postgresql

What runs, all in this process over loopback HTTP:
1. A fresh database (a SQLite file in a temporary folder, or a new PostgreSQL database created on the server of
   ``REIMBURSE_BENCH_PG_URL`` / ``REIMBURSE_TEST_PG_URL`` and dropped afterwards; or ``--database URL`` of an empty
   one) gets N claims waiting for approval, each with its outbox message carrying its 报销单 and an invoice file in
   the file store (so attachments travel).
2. The OA emulator (``--adapter``, default weaver: no idempotency key, so every retry after a failure looks the
   document up before creating it) fails ``--error`` of its create / look-up / status calls with HTTP 503 and lets
   ``--timeout`` of them time out (the answer comes after the client gave up), half of both *after* the OA did the
   work, the case that duplicates documents when a client simply retries.
3. The API app (``api.app.create_app`` with the adapter configured through settings, ``api.oa_config``) runs
   ``--relays`` relay threads; ``--extra-relays`` more run beside it with their own engine and adapter, like relays
   in other processes (PostgreSQL: ``FOR UPDATE SKIP LOCKED``). They run until every message is delivered.
4. The OA decides every document (approved / rejected / withdrawn as the adapter's statuses allow) and calls the
   app back; ``--lost-callbacks`` of the callbacks are never sent, ``--duplicate-callbacks`` are sent twice and
   ``--stale-callbacks`` are followed by an older "still pending" one (out of order).
5. Reconciliation (``api.reconcile``, ``--reconcile-workers`` threads) polls the OA's status for what the callbacks
   missed, pass after pass, while the status calls keep failing at the same rates.
6. Checks: every claim created exactly once at the OA (no document missing, none twice, none unknown), every
   outbox message delivered (none dead), every claim in the state the OA decided with the OA's id and status.

Prints the phases' times, claims/s, the faults injected and the relay's counters (``--json``: one JSON object);
exits 1 when an invariant is violated. ``run(BenchConfig(...)) -> BenchResult`` is what the test calls.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import Engine, func, insert
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from api import loopback
from api.app import create_app
from api.columns import utcnow
from api.db import init_db, make_engine, session_factory
from api.document import DOC_TOPIC
from api.oa_config import build_adapter
from api.reconcile import Reconciler, ReconcileReport
from api.relay import RetryPolicy, run_relay_forever
from api.tables import Claim, Company, Employee, OutboxMessage, OutboxStatus
from oa_emulators.core import Record
from oa_emulators.harness import build_harness, sample_document
from oa_emulators.settings import api_settings
from pipeline.claim import ClaimState
from pipeline.sync.base import CLAIM_DECISION

PG_ADMIN_URL = os.environ.get("REIMBURSE_BENCH_PG_URL") or os.environ.get(
    "REIMBURSE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
FINAL_WEIGHTS = {"approved": 0.7, "rejected": 0.2, "withdrawn": 0.1}
CLAIM_STATE = {"approved": ClaimState.APPROVED, "rejected": ClaimState.REJECTED, "withdrawn": ClaimState.WITHDRAWN}
log = logging.getLogger("benchmarks.oa_delivery")


@dataclass(frozen=True)
class BenchConfig:
    claims: int = 10_000
    database: str = "sqlite"  # sqlite | postgresql | a database URL (must be empty)
    adapter: str = "weaver"
    error: float = 0.30
    timeout: float = 0.05
    client_timeout: float = 0.3  # the adapter's HTTP timeout; a timeout fault answers after twice that
    relays: int = 4
    extra_relays: int = 2
    reconcile_workers: int = 4
    callback_workers: int = 4
    lost_callbacks: float = 0.10
    duplicate_callbacks: float = 0.10
    stale_callbacks: float = 0.05
    max_attempts: int = 40
    max_reconcile_passes: int = 40
    deadline_seconds: float = 4 * 3600
    seed: int = 7
    progress: bool = False


@dataclass
class BenchResult:
    config: BenchConfig
    database: str
    seconds: dict[str, float] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    oa_calls: dict[str, int] = field(default_factory=dict)
    relay: dict[str, float] = field(default_factory=dict)
    attempts: int = 0
    callbacks: dict[str, int] = field(default_factory=dict)
    reconcile: dict[str, Any] = field(default_factory=dict)
    violations: dict[str, list[str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not any(self.violations.values())

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["ok"] = self.ok
        data["violations"] = {k: {"count": len(v), "examples": v[:5]} for k, v in self.violations.items()}
        n = self.config.claims
        data["claims_per_s"] = {phase: round(n / s, 1) for phase, s in self.seconds.items()
                                if phase in ("delivery", "status_back", "total") and s > 0}
        return data


# ---------------------------------------------------------------- infrastructure

def serving(app: Any) -> AbstractContextManager[str]:
    return loopback.serving(app, log_level="error")


def _psycopg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextmanager
def database(spec: str, folder: Path) -> Iterator[str]:
    if spec == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
    elif spec in ("postgresql", "postgres"):
        name = f"reimburse_bench_{secrets.token_hex(4)}"
        admin = psycopg.connect(_psycopg_dsn(PG_ADMIN_URL), autocommit=True, connect_timeout=5)
        with admin:
            admin.execute(f'CREATE DATABASE "{name}"')
            try:
                yield make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
            finally:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield spec


# ---------------------------------------------------------------- phases

def seed(engine: Engine, n: int, storage_dir: Path) -> list[tuple[int, str]]:
    """N claims in pending_approval with their outbox messages and invoice files; returns (claim id, doc_no)."""
    init_db(engine)
    now = utcnow()
    with Session(engine) as session:
        company = Company(name="武汉市车城物流有限公司（基准）", tax_id="914201007483062457")
        session.add(company)
        session.flush()
        employee = Employee(emp_no="E001", name="张三", department="D01", department_name="运输部",
                            cost_center="CC1001", company_id=company.id)
        session.add(employee)
        session.flush()
        employee_id = employee.id
        session.commit()
    doc_nos = [f"BX20260305{i:07d}" for i in range(n)]
    documents = []
    for doc_no in doc_nos:
        data = f"%PDF-1.7 invoice of {doc_no}".encode()
        sha = hashlib.sha256(data).hexdigest()
        path = storage_dir / sha[:2] / sha
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        document, _ = sample_document(doc_no, {f"{doc_no}.pdf": data})
        documents.append(document)
    chunk = 1000
    with Session(engine) as session:
        for start in range(0, n, chunk):
            session.execute(insert(Claim), [
                {"doc_no": d["doc_no"], "employee_id": employee_id, "state": ClaimState.PENDING_APPROVAL,
                 "reason": d["reason"], "total": Decimal(d["amount_claimed"]), "total_upper": d["amount_upper"],
                 "created_at": now, "updated_at": now, "version": 1} for d in documents[start:start + chunk]])
        session.commit()
        ids = dict(session.exec(select(Claim.doc_no, Claim.id)).all())
        for start in range(0, n, chunk):
            rows = []
            for document in documents[start:start + chunk]:
                claim_id = ids[document["doc_no"]]
                document["claim_id"] = claim_id
                rows.append({"message_id": f"msg_{secrets.token_hex(16)}", "claim_id": claim_id, "topic": DOC_TOPIC,
                             "payload": document, "idempotency_key": str(claim_id),
                             "status": OutboxStatus.PENDING, "attempts": 0, "next_attempt_at": now,
                             "created_at": now})
            session.execute(insert(OutboxMessage), rows)
        session.commit()
    return [(ids[d], d) for d in doc_nos]


def outbox_open(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(OutboxMessage).where(
            col(OutboxMessage.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))).one()


def wait_for_delivery(engine: Engine, deadline: float, progress: bool) -> None:
    last = time.monotonic()
    while (left := outbox_open(engine)) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} messages still undelivered at the deadline")
        if progress and time.monotonic() - last > 10:
            print(f"  delivery: {left} messages to go", file=sys.stderr, flush=True)
            last = time.monotonic()
        time.sleep(0.25)


@dataclass(frozen=True)
class Plan:
    record: Record
    raw: str
    expected: str  # the normalised OA status
    lost: bool
    duplicate: bool
    stale: bool


def plan_decisions(harness: Any, records: dict[str, Record], doc_nos: list[str], config: BenchConfig,
                   rng: random.Random) -> list[Plan]:
    finals = {normal: raw for raw, normal in reversed(harness.statuses) if CLAIM_DECISION[normal] in CLAIM_STATE}
    outcomes = [o for o in FINAL_WEIGHTS if o in finals]
    weights = [FINAL_WEIGHTS[o] for o in outcomes]
    plans = []
    for doc_no in doc_nos:
        outcome = rng.choices(outcomes, weights)[0]
        plans.append(Plan(records[doc_no], finals[outcome], outcome, rng.random() < config.lost_callbacks,
                          rng.random() < config.duplicate_callbacks, rng.random() < config.stale_callbacks))
    return plans


def send_decisions(emulator: Any, harness: Any, plans: list[Plan], workers: int) -> Counter[str]:
    """The OA decides each document and calls back as planned, over one pooled HTTP client (the emulator's own
    ``send`` opens a client per callback, which would measure TLS-context set-up rather than the app)."""
    pending_raw = next((raw for raw, normal in harness.statuses if normal == "pending"), None)
    client = httpx.Client(timeout=30, limits=httpx.Limits(max_connections=workers))

    def send(record: Record) -> bool:
        outgoing = emulator.build_callback(record)
        response = client.request(outgoing.method, emulator.callback_url, params=outgoing.query or None,
                                  headers=outgoing.headers, content=outgoing.body)
        return emulator.callback_acknowledged(response)

    def one(plan: Plan) -> Counter[str]:
        done: Counter[str] = Counter()
        emulator.set_status(plan.record.oa_id, plan.raw)
        if plan.lost:
            done["lost"] += 1
            return done
        done["acknowledged" if send(plan.record) else "not_acknowledged"] += 1
        if plan.duplicate:
            done["duplicates_acknowledged" if send(plan.record) else "duplicates_not_acknowledged"] += 1
        if plan.stale and pending_raw is not None:
            stale = dataclasses.replace(plan.record, status=pending_raw)
            done["stale_acknowledged" if send(stale) else "stale_not_acknowledged"] += 1
        return done

    total: Counter[str] = Counter()
    with client, ThreadPoolExecutor(workers, thread_name_prefix="oa-callbacks") as pool:
        for done in pool.map(one, plans):
            total.update(done)
    return total


def reconcile_until_settled(reconciler: Reconciler, engine: Engine, passes: int, progress: bool
                            ) -> tuple[ReconcileReport, int]:
    total = ReconcileReport()
    for n in range(1, passes + 1):
        report = reconciler.run_all()
        total.add(report)
        with Session(engine) as session:
            waiting = session.exec(select(func.count()).select_from(Claim).where(
                Claim.state == ClaimState.PENDING_APPROVAL)).one()
        if progress:
            print(f"  reconciliation pass {n}: {report.as_dict()}, {waiting} claims still waiting",
                  file=sys.stderr, flush=True)
        if waiting == 0:
            return total, n
    return total, passes


def verify(engine: Engine, emulator: Any, claims: list[tuple[int, str]], plans: dict[str, Plan]
           ) -> dict[str, list[str]]:
    violations: dict[str, list[str]] = {"missing_at_oa": [], "duplicated_at_oa": [], "unknown_at_oa": [],
                                        "not_delivered": [], "wrong_state": [], "wrong_oa_id": []}
    at_oa = Counter(r.doc_no for r in emulator.store.all())
    ours = {doc_no for _, doc_no in claims}
    for doc_no in ours:
        if at_oa[doc_no] == 0:
            violations["missing_at_oa"].append(doc_no)
        elif at_oa[doc_no] > 1:
            violations["duplicated_at_oa"].append(f"{doc_no} x{at_oa[doc_no]}")
    violations["unknown_at_oa"] = sorted(str(d) for d in at_oa if d not in ours)
    with Session(engine) as session:
        for message_id, status, doc_no in session.exec(
                select(OutboxMessage.id, OutboxMessage.status, Claim.doc_no)
                .join(Claim, col(Claim.id) == OutboxMessage.claim_id)):
            if status != OutboxStatus.DELIVERED:
                violations["not_delivered"].append(f"{doc_no}: {status}")
        for doc_no, state, oa_id, oa_status in session.exec(
                select(Claim.doc_no, Claim.state, Claim.oa_request_id, Claim.oa_status)):
            plan = plans.get(doc_no)
            if plan is None:
                continue
            expected = CLAIM_STATE[CLAIM_DECISION[plan.expected]]
            if state != expected or oa_status != plan.expected:
                violations["wrong_state"].append(f"{doc_no}: {state.value}/{oa_status}, OA said {plan.expected}")
            if oa_id != plan.record.oa_id:
                violations["wrong_oa_id"].append(f"{doc_no}: {oa_id} != {plan.record.oa_id}")
    return violations


def run(config: BenchConfig) -> BenchResult:
    rng = random.Random(config.seed)
    started = time.perf_counter()
    deadline = time.monotonic() + config.deadline_seconds
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="oa-bench-")))
        url = stack.enter_context(database(config.database, folder))
        result = BenchResult(config, make_url(url).get_backend_name())
        storage = folder / "files"
        seed_engine = make_engine(url)
        claims = seed(seed_engine, config.claims, storage)
        seed_engine.dispose()
        result.seconds["seed"] = round(time.perf_counter() - started, 2)

        harness = build_harness(config.adapter)
        emulator = harness.emulator
        emulator.faults.set_rates(ops=("create", "lookup", "status"), error=config.error, timeout=config.timeout,
                                  timeout_delay=config.client_timeout * 2, seed=config.seed)
        oa_url = stack.enter_context(serving(emulator.app))
        settings = api_settings(
            config.adapter, emulator, oa_url, database_url=url, storage_dir=storage, org_file=None,
            oa_timeout_seconds=config.client_timeout, relay_enabled=True, relay_workers=config.relays,
            relay_poll_seconds=0.05, relay_batch_size=10, relay_max_attempts=config.max_attempts,
            relay_backoff_base_seconds=0.05, relay_backoff_max_seconds=2.0, relay_lease_seconds=60)
        app = create_app(settings)
        metrics = app.state.metrics
        t0 = time.perf_counter()
        app_url = stack.enter_context(serving(app))  # its lifespan starts the relay threads
        emulator.callback_url = app_url + "/api/oa/callback"
        stop = threading.Event()
        extra = []
        for i in range(config.extra_relays):
            engine = make_engine(url)
            adapter = build_adapter(settings)
            thread = threading.Thread(target=run_relay_forever, name=f"extra-relay-{i}", daemon=True,
                                      args=(session_factory(engine), adapter, stop),
                                      kwargs={"poll_seconds": 0.05, "retry": RetryPolicy.from_settings(settings),
                                              "batch_size": 10, "metrics": metrics})
            thread.start()
            extra.append((thread, engine, adapter))

        def stop_extra() -> None:
            stop.set()
            for thread, engine, adapter in extra:
                thread.join(30)
                adapter.close()
                engine.dispose()

        stack.callback(stop_extra)
        wait_for_delivery(app.state.engine, deadline, config.progress)
        result.seconds["delivery"] = round(time.perf_counter() - t0, 2)

        t1 = time.perf_counter()
        records = {r.doc_no: r for r in emulator.store.all()}
        doc_nos = [doc_no for _, doc_no in claims]
        missing = [d for d in doc_nos if d not in records]
        plans = plan_decisions(harness, records, [d for d in doc_nos if d in records], config, rng)
        result.callbacks = dict(send_decisions(emulator, harness, plans, config.callback_workers))
        result.seconds["callbacks"] = round(time.perf_counter() - t1, 2)

        t2 = time.perf_counter()
        reconciler = Reconciler(session_factory(app.state.engine), app.state.adapter, after=timedelta(0),
                                batch_size=500, workers=config.reconcile_workers, metrics=metrics)
        report, passes = reconcile_until_settled(reconciler, app.state.engine, config.max_reconcile_passes,
                                                 config.progress)
        result.reconcile = {**report.as_dict(), "passes": passes}
        result.seconds["reconciliation"] = round(time.perf_counter() - t2, 2)
        result.seconds["status_back"] = round(time.perf_counter() - t1, 2)
        result.seconds["total"] = round(time.perf_counter() - t0, 2)

        by_doc = {p.record.doc_no: p for p in plans}
        result.violations = verify(app.state.engine, emulator, claims, by_doc)
        result.violations["missing_at_oa"] = sorted(set(result.violations["missing_at_oa"]) | set(missing))
        result.faults = dict(sorted(emulator.faults.injected.items()))
        result.oa_calls = dict(sorted(emulator.calls.items()))
        result.relay = metrics.counters()
        with Session(app.state.engine) as session:
            result.attempts = int(session.exec(select(func.sum(OutboxMessage.attempts))).one() or 0)
    return result


# ---------------------------------------------------------------- command line

def summary(result: BenchResult) -> str:
    data = result.as_dict()
    c = result.config
    lines = [
        (f"OA delivery benchmark: {c.claims} claims, adapter {c.adapter}, database {result.database}, "
         f"{c.relays} app relay threads + {c.extra_relays} independent relays"),
        (f"faults asked: {c.error:.0%} errors, {c.timeout:.0%} timeouts (client timeout {c.client_timeout}s) on "
         f"create / look-up / status; callbacks lost {c.lost_callbacks:.0%}, duplicated "
         f"{c.duplicate_callbacks:.0%}, stale {c.stale_callbacks:.0%}"),
        f"seconds: {result.seconds}",
        f"claims/s: {data['claims_per_s']}",
        f"faults injected: {result.faults}",
        f"OA calls: {result.oa_calls}",
        f"relay: {result.relay}; delivery attempts in total {result.attempts}",
        f"callbacks: {result.callbacks}",
        f"reconciliation: {result.reconcile}",
        "invariants: " + (("all hold (every claim created exactly once at the OA, delivered, its decision "
                           "written back)") if result.ok else json.dumps(data["violations"], ensure_ascii=False)),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = BenchConfig()
    parser.add_argument("--claims", type=int, default=defaults.claims)
    parser.add_argument("--database", default=defaults.database,
                        help="sqlite, postgresql (a new database on REIMBURSE_BENCH_PG_URL's server) or a URL")
    parser.add_argument("--adapter", default=defaults.adapter,
                        choices=["weaver", "landray", "dingtalk", "wecom", "feishu"],
                        help="the OA emulated (those with a status API, so lost callbacks can be made up)")
    parser.add_argument("--error", type=float, default=defaults.error)
    parser.add_argument("--timeout", type=float, default=defaults.timeout)
    parser.add_argument("--client-timeout", type=float, default=defaults.client_timeout)
    parser.add_argument("--relays", type=int, default=defaults.relays)
    parser.add_argument("--extra-relays", type=int, default=defaults.extra_relays)
    parser.add_argument("--reconcile-workers", type=int, default=defaults.reconcile_workers)
    parser.add_argument("--lost-callbacks", type=float, default=defaults.lost_callbacks)
    parser.add_argument("--duplicate-callbacks", type=float, default=defaults.duplicate_callbacks)
    parser.add_argument("--stale-callbacks", type=float, default=defaults.stale_callbacks)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    args = parser.parse_args(argv)
    for noisy in ("api.relay", "api.reconcile", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
    config = BenchConfig(claims=args.claims, database=args.database, adapter=args.adapter, error=args.error,
                         timeout=args.timeout, client_timeout=args.client_timeout, relays=args.relays,
                         extra_relays=args.extra_relays, reconcile_workers=args.reconcile_workers,
                         lost_callbacks=args.lost_callbacks, duplicate_callbacks=args.duplicate_callbacks,
                         stale_callbacks=args.stale_callbacks, seed=args.seed, progress=not args.json)
    result = run(config)
    print(json.dumps(result.as_dict(), ensure_ascii=False, default=str) if args.json else summary(result))
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
