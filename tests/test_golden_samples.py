"""Every golden sample in samples/golden runs through ``pipeline.runner.extract_file`` and must give what its
``<name>.expected.json`` says: the invoices in order, each with its kind, the listed key fields exactly (as the
``reimburse extract --json`` contract prints them), the listed items, and exactly the listed validation issues
(when the expectation lists them).
Documents read by OCR (``"slow": true``) run only with ``-m slow``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.runner import extract_file
from pipeline.serialize import invoice_to_json

GOLDEN = Path(__file__).resolve().parent.parent / "samples" / "golden"
CASES = sorted(GOLDEN.glob("*.expected.json"))


def _expected(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def differences(expected: list[dict], got: list[dict]) -> list[str]:
    """What differs between the expected invoices and ``invoice_to_json`` output (empty when they agree)."""
    out = []
    if len(got) != len(expected):
        out.append(f"{len(got)} invoices, expected {len(expected)}: kinds {[g['kind'] for g in got]}")
    for n, (exp, inv) in enumerate(zip(expected, got, strict=False)):
        fields = inv["fields"]
        if inv["kind"] != exp["kind"]:
            out.append(f"#{n} kind {inv['kind']!r}, expected {exp['kind']!r}")
        for key, value in exp["fields"].items():
            if fields.get(key) != value:
                out.append(f"#{n} {key}: {fields.get(key)!r}, expected {value!r}")
        if "items" in exp:
            items = [{k: i.get(k) for k in ("name", "amount", "tax_rate", "tax_amount")} for i in fields.get("items", [])]
            if items != exp["items"]:
                out.append(f"#{n} items {items}, expected {exp['items']}")
        issues = sorted(i["code"] for i in inv["issues"])
        if "issues" in exp and issues != sorted(exp["issues"]):
            out.append(f"#{n} issues {issues}, expected {sorted(exp['issues'])}")
    return out


def _case(path: Path):
    slow = _expected(path).get("slow", False)
    return pytest.param(path, id=path.name.removesuffix(".expected.json"), marks=[pytest.mark.slow] if slow else [])


def test_there_is_a_golden_sample_per_kind_and_format():
    kinds = {inv["kind"] for p in CASES for inv in _expected(p)["invoices"]}
    formats = {_expected(p)["format"] for p in CASES}
    assert formats >= {"pdf", "ofd", "xml", "zip", "image"}
    assert kinds >= {"vat_special", "vat_normal", "vat_roll", "vat_e_normal", "vat_e_special", "vat_e_toll", "digital_special",
                     "digital_normal", "rail_e_ticket", "rail_paper_ticket", "air_e_itinerary",
                     "air_paper_itinerary", "taxi", "quota", "receipt", "trip_table"}
    for path in CASES:
        assert (GOLDEN / _expected(path)["document"]).is_file(), path.name


@pytest.mark.parametrize("path", [_case(p) for p in CASES])
def test_golden_sample(path: Path):
    expected = _expected(path)
    result = extract_file(GOLDEN / expected["document"])
    assert result.error is None, result.error
    got = [invoice_to_json(inv) for inv in result.invoices]
    assert differences(expected["invoices"], got) == []


def test_differences_reports_every_kind_of_mismatch():
    exp = [{"kind": "quota", "fields": {"total_incl_tax": "10.00"}, "items": [], "issues": ["red_letter"]}]
    got = [{"kind": "taxi", "fields": {"total_incl_tax": "20.00"}, "issues": []}]
    found = differences(exp, got)
    assert len(found) == 3 and any("kind" in f for f in found) and any("issues" in f for f in found)
    assert differences(exp, []) == ["0 invoices, expected 1: kinds []"]
