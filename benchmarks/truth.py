"""The real documents in ../shared/data/real and what their truth files say we must read.

``load_cases()`` lists each document with the expected value of each key field it shows (strings, in the CLI's
format). Legacy QR amounts are pre-tax and 数电 QR amounts are tax-inclusive (shared/README.md), so a truth
file that only has a QR amount yields ``amount_excl_tax`` or ``total_incl_tax`` accordingly.
``score(case, invoices)`` compares one file's ``reimburse extract --json`` invoices with the truth.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
REAL = REPO.parent / "shared" / "data" / "real"
KEY_FIELDS = ("invoice_number", "issue_date", "total_incl_tax", "amount_excl_tax", "invoice_code", "seller_tax_id")
TAX_INCLUSIVE_QR_TYPES = {"31", "32", "51", "61"}
FOLDERS = ("cn_pdf", "cn_xml_ofd", "cn_img", "cn_img_batch")


@dataclass(frozen=True)
class Case:
    path: Path
    folder: str
    expected: dict[str, str]


def expected_fields(truth: dict[str, Any]) -> dict[str, str]:
    fields = truth.get("fields") or {}
    qr = truth.get("qr") or {}
    out = {k: str(fields[k]) for k in KEY_FIELDS if fields.get(k)}
    qr_amount = fields.get("qr_amount") or qr.get("qr_amount")
    if qr_amount and qr.get("qr_type_code"):
        key = "total_incl_tax" if qr["qr_type_code"] in TAX_INCLUSIVE_QR_TYPES else "amount_excl_tax"
        out.setdefault(key, str(qr_amount))
    return out


def load_cases(folders: tuple[str, ...] = FOLDERS, root: Path = REAL) -> list[Case]:
    cases = []
    for folder in folders:
        for truth_path in sorted((root / folder).glob("*.truth.json")):
            doc = truth_path.with_name(truth_path.name.removesuffix(".truth.json"))
            matches = [p for p in doc.parent.glob(doc.name + ".*") if not p.name.endswith(".json")]
            if not matches:
                continue
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            cases.append(Case(matches[0], folder, expected_fields(truth)))
    return cases


def _norm(key: str, value: Any) -> str:
    text = str(value).strip()
    if key in {"total_incl_tax", "amount_excl_tax"}:
        try:
            return str(Decimal(text.replace("¥", "").replace(",", "")).quantize(Decimal("0.01")))
        except InvalidOperation:
            return text
    return text.upper()


def score(case: Case, invoices: list[dict[str, Any]]) -> dict[str, bool]:
    """Per expected field: did the best-matching extracted invoice get it exactly right?"""
    if not invoices:
        return {k: False for k in case.expected}
    number = case.expected.get("invoice_number")
    best = next((i for i in invoices if number and i["fields"].get("invoice_number") == number), invoices[0])
    got = best["fields"]
    return {k: k in got and _norm(k, got[k]) == _norm(k, v) for k, v in case.expected.items()}
