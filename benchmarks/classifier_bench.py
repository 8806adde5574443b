"""Benchmark of the expense-category model: held-out quality, batch throughput and single-line latency on one core.

Usage: ``python -m benchmarks.classifier_bench [--model PATH] [--no-shared] [--json]``. Loads the model in use
(``load_model()``: the runtime store's ``CURRENT`` when it has one, else ``models/artefacts/CURRENT``) unless
``--model`` is given, rebuilds the dataset the same way ``make train`` does (the held-out split is recomputed, and
the data hash is compared with the artefact's base data hash, corrections aside), pins the process to one CPU
and prints a markdown table: macro-F1 and per-class F1 on the held-out split, accuracy among answered lines and
abstention rate at the configured threshold, lines/s for ``classify_batch`` and for line-level
``classify_lines_batch`` (item lines per second), ``classify`` latency, plus a spot check on the real invoices in
``../shared/data/real`` when present. ``benchmarks/correction_bench.py`` measures learning from corrections.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

from models.category import load_model
from models.dataset import build_dataset
from models.evaluation import evaluate
from models.sources import DEFAULT_SHARED, load_sources
from models.spotcheck import load_spotcheck

TARGETS = {"macro_f1": 0.95, "answered_accuracy": 0.98, "abstention_rate": 0.10, "lines_per_s": 5000}
BATCH_LINES = 20000
LATENCY_CALLS = 500


def _pin_one_cpu() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    return "not pinned (no sched_setaffinity)"


def _as_dicts(rows) -> list[dict]:
    return [{"seller_name": r.seller_name, "items": list(r.items), "kind": r.kind, "amount": r.amount} for r in rows]


def throughput(model, rows: list[dict]) -> float:
    batch = (rows * (BATCH_LINES // max(1, len(rows)) + 1))[:BATCH_LINES]
    model.classify_batch(batch[:1000])  # warm-up
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        model.classify_batch(batch)
        rates.append(len(batch) / (time.perf_counter() - t))
    return statistics.median(rates)


def line_throughput(model, rows: list[dict]) -> float:
    """Item lines per second through ``classify_lines_batch`` (each invoice's lines, one result per line)."""
    batch = (rows * (BATCH_LINES // max(1, len(rows)) + 1))[:BATCH_LINES]
    n_lines = sum(max(1, len(r["items"])) for r in batch)
    model.classify_lines_batch(batch[:1000])  # warm-up
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        model.classify_lines_batch(batch)
        rates.append(n_lines / (time.perf_counter() - t))
    return statistics.median(rates)


def latency_ms(model, rows: list[dict]) -> tuple[float, float]:
    rows = rows[:LATENCY_CALLS]
    times = []
    for r in rows:
        t = time.perf_counter()
        model.classify(r["seller_name"], r["items"], kind=r["kind"], amount=r["amount"])
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[int(0.95 * (len(times) - 1))]


def spot_check(model, shared: Path | None) -> dict | None:
    cases = load_spotcheck(shared) if shared is not None else []
    if not cases:
        return None
    results = model.classify_batch([{"seller_name": c.seller_name, "items": list(c.items), "kind": c.kind,
                                     "amount": c.amount} for c in cases])
    by_model = [(c, r) for c, r in zip(cases, results, strict=True) if r.source == "model"]
    return {
        "n": len(cases), "correct": sum(r.category == c.label for c, r in zip(cases, results, strict=True)),
        "by_model": len(by_model), "by_model_correct": sum(r.category == c.label for c, r in by_model),
        "abstained": sum(r.abstained for r in results),
        "misses": [{"file": c.file, "expected": c.label, "got": r.category, "confidence": round(r.confidence, 3)}
                   for c, r in zip(cases, results, strict=True) if r.category != c.label],
    }


def _mark(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(report: dict) -> str:
    s, m = report["system"], report["model_alone"]
    lines = [
        f"## Expense-category model `{report['model_version']}` ({report['cpu']})",
        "",
        (f"Held-out split: {s['n']} invoices (seller- and item-disjoint from training); data hash "
         f"`{report['data_hash'][:12]}` {'matches' if report['hash_matches'] else '**differs from**'} the artefact's."),
        "",
        "| metric | rules + model | model alone | target | met |",
        "|---|---|---|---|---|",
        (f"| macro-F1 | {s['macro_f1']:.4f} | {m['macro_f1']:.4f} | >= {TARGETS['macro_f1']} | "
         f"{_mark(s['macro_f1'] >= TARGETS['macro_f1'])} |"),
        (f"| accuracy among answered (threshold {s['threshold']}) | {s['answered_accuracy']:.4f} | "
         f"{m['answered_accuracy']:.4f} | >= {TARGETS['answered_accuracy']} | "
         f"{_mark(s['answered_accuracy'] >= TARGETS['answered_accuracy'])} |"),
        (f"| abstention rate | {s['abstention_rate']:.4f} | {m['abstention_rate']:.4f} | "
         f"<= {TARGETS['abstention_rate']} | {_mark(s['abstention_rate'] <= TARGETS['abstention_rate'])} |"),
        f"| decided by rules | {s['rule_rate']:.4f} | 0 | | |",
        f"| calibration error (ECE) | {s['ece']:.4f} | {m['ece']:.4f} | | |",
        (f"| batch throughput, lines/s (1 core) | {report['lines_per_s']:,.0f} | | >= {TARGETS['lines_per_s']:,} | "
         f"{_mark(report['lines_per_s'] >= TARGETS['lines_per_s'])} |"),
        f"| line-level throughput, item lines/s (1 core) | {report['item_lines_per_s']:,.0f} | | | |",
        (f"| single-line latency, ms (median / p95) | {report['latency_ms'][0]:.2f} / "
         f"{report['latency_ms'][1]:.2f} | | | |"),
        "",
        "| category | F1 (rules + model) | F1 (model alone) |",
        "|---|---|---|",
        *(f"| `{c}` | {f:.3f} | {m['per_class_f1'][c]:.3f} |" for c, f in s["per_class_f1"].items()),
    ]
    spot = report.get("spot_check")
    if spot:
        lines += ["", (f"Real-invoice spot check (`../shared/data/real`, our labels): {spot['correct']}/{spot['n']} "
                       f"correct; {spot['by_model_correct']}/{spot['by_model']} of those left to the model; "
                       f"{spot['abstained']} abstained.")]
        lines += [f"- miss: {x['file']}: expected `{x['expected']}`, got `{x['got']}` ({x['confidence']})"
                  for x in spot["misses"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=None, help="artefact path (default: models/artefacts/CURRENT)")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    p.add_argument("--no-shared", action="store_true")
    p.add_argument("--json", action="store_true", help="print the raw report as JSON")
    args = p.parse_args(argv)

    cpu = _pin_one_cpu()
    shared = None if args.no_shared or not args.shared.is_dir() else args.shared
    model = load_model(args.model)
    dataset = build_dataset(load_sources(shared))
    held_out = dataset.split("eval")
    rows = _as_dicts(held_out)
    report = {
        "model_version": model.model_version, "cpu": cpu, "data_hash": dataset.data_hash,
        "hash_matches": dataset.data_hash == model.meta.get("base_data_hash", model.meta.get("data_hash")),
        "system": evaluate(model, held_out), "model_alone": evaluate(model, held_out, rules=False),
        "lines_per_s": throughput(model, rows), "item_lines_per_s": line_throughput(model, rows),
        "latency_ms": latency_ms(model, rows),
        "spot_check": spot_check(model, shared),
    }
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
