"""Benchmark of learning from finance corrections: how many corrections change the model for a seller, and at what
cost to everyone else.

Usage: ``python -m benchmarks.correction_bench [--scale 1.0] [--sellers 40] [--k 1,2,3,5] [--no-shared] [--json]``.

Scenario: a company books everything from some sellers differently from the generic taxonomy (the staff canteen's
meals are 福利费, not 业务招待费). From the held-out split (sellers the model never saw) it takes ``--sellers``
sellers whose lines all carry one category and have at least ``max(k) + 2`` lines, and relabels each seller's lines
to the category the baseline finds second most likely for them (a plausible confusion, decided before any
correction). For each ``k`` it retrains (``models.train.build``, the production recipe) on the base data plus the
first ``k`` relabelled lines of every such seller, weighted ``ModelSettings.correction_weight``, and reports, on
that seller's other lines, the share now given the company's category (and not abstained), and, on the held-out
lines of all other sellers, the macro-F1 before and after. Prints a markdown table (or JSON).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from models.corrections import LabelledExample
from models.dataset import Row
from models.evaluation import evaluate
from models.features import Line, normalize
from models.settings import get_model_settings
from models.sources import DEFAULT_SHARED
from models.train import build


def _pick_sellers(model, held_out: list[Row], n: int, min_lines: int) -> dict[str, tuple[list[Row], str]]:
    by_seller: dict[str, list[Row]] = defaultdict(list)
    for r in held_out:
        if r.seller_name:
            by_seller[normalize(r.seller_name)].append(r)
    eligible = sorted((s for s, rows in by_seller.items() if len(rows) >= min_lines and len({r.label for r in rows}) == 1),
                      key=lambda s: hashlib.sha256(s.encode()).hexdigest())[:n]
    classes = model.classes
    picked = {}
    for seller in eligible:
        rows = by_seller[seller]
        proba = model.predict_proba([Line(r.seller_name, r.items, r.kind, r.amount) for r in rows]).mean(axis=0)
        ranked = [classes[i] for i in np.argsort(-proba) if classes[i] != rows[0].label]
        picked[seller] = (rows, ranked[0])
    return picked


def _share_right(model, rows: list[Row], target: str) -> float:
    results = model.classify_batch(rows)
    return sum(c.category == target and not c.abstained for c in results) / max(1, len(results))


def run(shared: Path | None, scale: float, n_sellers: int, ks: list[int]) -> dict:
    t = time.perf_counter()
    base = build(shared, scale)
    base_seconds = time.perf_counter() - t
    picked = _pick_sellers(base.model, base.held_out, n_sellers, max(ks) + 2)
    chosen = set(picked)
    others = [r for r in base.held_out if normalize(r.seller_name) not in chosen]
    probes = {s: (rows[max(ks):], target) for s, (rows, target) in picked.items()}
    probe_rows = [r for rows, _ in probes.values() for r in rows]

    def seller_accuracy(model) -> float:
        return sum(_share_right(model, rows, target) * len(rows) for rows, target in probes.values()) / len(probe_rows)

    report = {
        "scale": scale, "sellers": len(picked), "probe_lines": len(probe_rows), "other_lines": len(others),
        "correction_weight": get_model_settings().correction_weight, "base_train_seconds": round(base_seconds, 1),
        "before": {"seller_accuracy": round(seller_accuracy(base.model), 4),
                   "others_macro_f1": evaluate(base.model, others)["macro_f1"]},
        "after": [],
    }
    for k in ks:
        examples = [LabelledExample(r.seller_name, r.items, r.kind, r.amount, target, ref=f"{s}:{i}")
                    for s, (rows, target) in picked.items() for i, r in enumerate(rows[:k])]
        t = time.perf_counter()
        trained = build(shared, scale, examples)
        seconds = time.perf_counter() - t
        report["after"].append({"k": k, "corrections": len(examples), "retrain_seconds": round(seconds, 1),
                                "seller_accuracy": round(seller_accuracy(trained.model), 4),
                                "others_macro_f1": evaluate(trained.model, others)["macro_f1"],
                                "held_out_macro_f1": trained.report["eval"]["system"]["macro_f1"]})
    return report


def render(report: dict) -> str:
    lines = [
        f"## Learning from corrections (scale {report['scale']}, weight {report['correction_weight']:g})",
        "",
        (f"{report['sellers']} held-out sellers relabelled to a company-specific category; "
         f"{report['probe_lines']} of their other lines probed; {report['other_lines']} lines of other sellers."),
        "",
        "| corrections per seller | corrections | seller lines now right | other sellers' macro-F1 | retrain s |",
        "|---|---|---|---|---|",
        (f"| 0 (baseline) | 0 | {report['before']['seller_accuracy']:.3f} | "
         f"{report['before']['others_macro_f1']:.4f} | {report['base_train_seconds']:.1f} |"),
    ]
    lines += [f"| {a['k']} | {a['corrections']} | {a['seller_accuracy']:.3f} | {a['others_macro_f1']:.4f} | "
              f"{a['retrain_seconds']:.1f} |" for a in report["after"]]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--sellers", type=int, default=40)
    p.add_argument("--k", default="1,2,3,5", help="corrections per seller, comma-separated")
    p.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    p.add_argument("--no-shared", action="store_true")
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    shared = None if args.no_shared or not args.shared.is_dir() else args.shared
    report = run(shared, args.scale, args.sellers, [int(k) for k in args.k.split(",")])
    print(json.dumps(report, ensure_ascii=False, indent=1) if args.json else render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
