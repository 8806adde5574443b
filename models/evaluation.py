"""Held-out metrics of a ``CategoryModel`` (shared by ``models.train`` and ``benchmarks/classifier_bench.py``).

Contract: ``evaluate(model, rows, rules=True) -> dict`` with ``n``, ``macro_f1`` and ``per_class_f1`` (best guess,
abstentions included), ``accuracy`` (all rows), ``answered_accuracy`` and ``abstention_rate`` at the model's
threshold, ``rule_rate`` (share decided by rules), ``ece`` (expected calibration error of model-decided rows,
10 bins) and a ``thresholds`` table (coverage / accuracy at other thresholds). Numbers are rounded to 4 places.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import f1_score

from models.category import CategoryModel
from models.dataset import Row

THRESHOLDS = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _r(x: float) -> float:
    return round(float(x), 4)


def evaluate(model: CategoryModel, rows: Sequence[Row], *, rules: bool = True) -> dict:
    results = model.classify_batch(rows, rules=rules)
    y = np.array([r.label for r in rows])
    pred = np.array([c.category for c in results])
    conf = np.array([c.confidence for c in results])
    from_model = np.array([c.source == "model" for c in results])
    correct = pred == y
    labels = sorted(set(y))
    per_class = f1_score(y, pred, labels=labels, average=None, zero_division=0)

    answered = conf >= model.threshold
    table = []
    for t in THRESHOLDS:
        keep = (conf >= t) | ~from_model
        table.append({"threshold": t, "coverage": _r(keep.mean()),
                      "accuracy": _r(correct[keep].mean()) if keep.any() else None})

    ece = 0.0
    if from_model.any():
        c, ok = conf[from_model], correct[from_model]
        bins = np.minimum((c * 10).astype(int), 9)
        for b in range(10):
            sel = bins == b
            if sel.any():
                ece += sel.mean() * abs(ok[sel].mean() - c[sel].mean())

    return {
        "n": len(rows),
        "macro_f1": _r(f1_score(y, pred, labels=labels, average="macro", zero_division=0)),
        "per_class_f1": {lab: _r(f) for lab, f in zip(labels, per_class, strict=True)},
        "accuracy": _r(correct.mean()),
        "threshold": model.threshold,
        "answered_accuracy": _r(correct[answered].mean()) if answered.any() else None,
        "abstention_rate": _r(1 - answered.mean()),
        "rule_rate": _r(1 - from_model.mean()),
        "ece": _r(ece),
        "thresholds": table,
    }
