"""Adapter-level load check: N claims through one adapter against its emulator with random faults.

    python -m oa_emulators.loadcheck weaver --claims 300 --error 0.3 --timeout 0.05

Serves the emulator with uvicorn on loopback, then submits each claim the way the relay does (attempt 1, 2, …,
retrying retryable ``DeliveryError``s at once, up to ``--max-attempts``), with ``--error`` of the create calls
failing (HTTP 503) and ``--timeout`` of them answering after the client gave up, half of both after the OA did the
work. Prints claims/s and whether every claim exists exactly once at the OA. No database, no backoff: it measures
the adapter and its dedupe, not the relay (that benchmark is ``benchmarks/``' job).
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime


from api import loopback
from oa_emulators.harness import ADAPTERS, build_harness, sample_document
from pipeline.sync import DeliveryError, OutboundMessage




def run(name: str, claims: int, error: float, timeout: float, max_attempts: int, client_timeout: float,
        seed: int) -> dict:
    files: dict[str, bytes] = {}
    documents = []
    for i in range(claims):
        document, by_hash = sample_document(f"BX20260305{i:07d}", {f"inv{i}.pdf": b"%PDF-1.7 " + str(i).encode()})
        files.update(by_hash)
        documents.append(document)
    harness = build_harness(name, files)
    harness.emulator.faults.set_rates(error=error, timeout=timeout, timeout_delay=client_timeout * 1.5, seed=seed)
    server = loopback.start(harness.emulator.app, log_level="error")
    url = server.url
    adapter = harness.adapter(url, timeout=client_timeout)
    failed, attempts_total = 0, 0
    started = time.perf_counter()
    try:
        for document in documents:
            created = datetime.now(UTC)
            for attempt in range(1, max_attempts + 1):
                attempts_total += 1
                message = OutboundMessage(f"msg_{document['doc_no']}", document["doc_no"], "claim.submitted",
                                          document, created, attempt)
                try:
                    adapter.submit(message)
                    break
                except DeliveryError as exc:
                    if not exc.retryable:
                        failed += 1
                        break
            else:
                failed += 1
    finally:
        elapsed = time.perf_counter() - started
        adapter.close()
        server.stop(10)
    counts = [harness.emulator.store.count(d["doc_no"]) for d in documents]
    return {"adapter": name, "claims": claims, "seconds": round(elapsed, 2),
            "claims_per_s": round(claims / elapsed, 1), "attempts": attempts_total, "gave_up": failed,
            "missing": counts.count(0), "duplicated": sum(1 for c in counts if c > 1),
            "faults": dict(harness.emulator.faults.injected)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=ADAPTERS)
    parser.add_argument("--claims", type=int, default=200)
    parser.add_argument("--error", type=float, default=0.3)
    parser.add_argument("--timeout", type=float, default=0.05)
    parser.add_argument("--max-attempts", type=int, default=12)
    parser.add_argument("--client-timeout", type=float, default=0.5)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(run(args.name, args.claims, args.error, args.timeout, args.max_attempts, args.client_timeout, args.seed))


if __name__ == "__main__":
    main()
