"""Runs the registered rules over a claim's invoices in a fixed order."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pipeline.policy.company import CompanyInfo
from pipeline.policy.rules import Rule, RuleContext, r1_qr_agreement, r3_duplicate, r4_amounts, r5_buyer
from pipeline.types import Finding, Invoice, InvoiceKind

RULES: dict[str, Rule] = {"R1": r1_qr_agreement, "R3": r3_duplicate, "R4": r4_amounts, "R5": r5_buyer}


def _no_history(_key: str) -> str | None:
    return None


def check_invoices(invoices: Iterable[Invoice], company: CompanyInfo,
                   is_duplicate: Callable[[str], str | None] = _no_history) -> list[Finding]:
    ctx = RuleContext(company=company, is_duplicate=is_duplicate)
    findings: list[Finding] = []
    for inv in invoices:
        if inv.kind is InvoiceKind.TRIP_TABLE:  # evidence only: nothing to reimburse, nothing to check
            continue
        for rule in RULES.values():
            findings.extend(rule(inv, ctx))
    return findings
