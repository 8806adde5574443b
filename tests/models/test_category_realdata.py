"""Spot check on the real public invoices in ../shared/data/real (skipped when the folder is absent)."""

from pathlib import Path

import pytest

from models.category import load_model
from models.spotcheck import CASES, load_spotcheck

SHARED = Path(__file__).resolve().parents[3] / "shared"
pytestmark = pytest.mark.real_data


@pytest.fixture(scope="module")
def cases():
    found = load_spotcheck(SHARED)
    if not found:
        pytest.skip("../shared/data/real is absent")
    return found


def test_real_invoices(cases):
    model = load_model()
    results = model.classify_batch([{"seller_name": c.seller_name, "items": list(c.items), "kind": c.kind,
                                     "amount": c.amount} for c in cases])
    assert len(cases) == len(CASES)
    ruled = [(c, r) for c, r in zip(cases, results) if r.source == "rule"]
    assert ruled and all(r.category == c.label for c, r in ruled)
    correct = sum(r.category == c.label for c, r in zip(cases, results))
    assert correct >= 0.85 * len(cases), [(c.file, c.label, r.category) for c, r in zip(cases, results)
                                         if r.category != c.label]
