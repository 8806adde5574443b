"""The rules of the first policy (DOMAIN §6.3): R1 QR agreement, R3 duplicates, R4 amounts, R5 buyer title.

Each rule has the signature ``rule(invoice, ctx) -> list[Finding]``; ``ctx`` carries the company, the
duplicate lookup and the keys already seen on this claim.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pipeline.policy.company import CompanyInfo
from pipeline.types import Finding, Invoice, InvoiceKind, Severity

# Kinds that are tax vouchers issued to a buyer, so R5 applies.
BUYER_TITLED_KINDS = frozenset({
    InvoiceKind.VAT_SPECIAL, InvoiceKind.VAT_NORMAL, InvoiceKind.VAT_E_NORMAL, InvoiceKind.VAT_E_SPECIAL,
    InvoiceKind.VAT_E_TOLL, InvoiceKind.VAT_ROLL, InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.DIGITAL_NORMAL,
})


@dataclass
class RuleContext:
    company: CompanyInfo
    is_duplicate: Callable[[str], str | None]
    seen_keys: dict[str, int] = field(default_factory=dict)  # business key -> index on this claim


Rule = Callable[[Invoice, RuleContext], list[Finding]]


def r1_qr_agreement(inv: Invoice, ctx: RuleContext) -> list[Finding]:
    findings = []
    for issue in inv.issues:
        if issue.code.startswith("qr_mismatch"):
            field_name = issue.code.partition(".")[2] or "?"
            findings.append(Finding(
                "R1", Severity.BLOCK,
                f"二维码与票面不一致（{field_name}）：以二维码为准，请核实发票真伪",
                f"The QR code and the printed invoice disagree on {field_name}; the QR value was used. "
                "Check that the invoice is genuine.",
                evidence=dict(issue.evidence), invoice_key=inv.business_key))
    return findings


def r3_duplicate(inv: Invoice, ctx: RuleContext) -> list[Finding]:
    key = inv.business_key
    if key is None:
        return [Finding("R3", Severity.WARN, "无法识别发票号码，无法进行重复报销检查",
                        "The invoice number could not be read, so the duplicate check could not run.",
                        invoice_key=None)]
    if key in ctx.seen_keys:
        return [Finding("R3", Severity.BLOCK, f"同一张发票（{key}）在本报销单中出现了两次",
                        f"The same invoice ({key}) appears twice on this claim.",
                        evidence={"invoice_key": key}, invoice_key=key)]
    ctx.seen_keys[key] = len(ctx.seen_keys)
    other = ctx.is_duplicate(key)
    if other:
        return [Finding("R3", Severity.BLOCK, f"该发票（{key}）已在报销单 {other} 中报销或占用，不能重复报销",
                        f"This invoice ({key}) is already on claim {other}; it cannot be reimbursed twice.",
                        evidence={"invoice_key": key, "other_claim": other}, invoice_key=key)]
    return []


_AMOUNT_CODES = {"amount_identity", "upper_mismatch", "items_sum"}


def r4_amounts(inv: Invoice, ctx: RuleContext) -> list[Finding]:
    findings = []
    for issue in inv.issues:
        if issue.code.split(".")[0] in _AMOUNT_CODES:
            findings.append(Finding(
                "R4", Severity.BLOCK, f"金额校验不通过：{issue.message}",
                f"Amounts do not add up: {issue.message}", evidence=dict(issue.evidence),
                invoice_key=inv.business_key))
    if inv.total is None and inv.kind is not InvoiceKind.TRIP_TABLE:
        findings.append(Finding("R4", Severity.BLOCK, "未能识别价税合计金额，请人工核对",
                                "The invoice total could not be read; a person must check it.",
                                invoice_key=inv.business_key))
    return findings


def r5_buyer(inv: Invoice, ctx: RuleContext) -> list[Finding]:
    if inv.kind not in BUYER_TITLED_KINDS:
        return []
    name, tax_id = inv.get("buyer_name"), inv.get("buyer_tax_id")
    findings = []
    if not ctx.company.is_our_name(name):
        findings.append(Finding(
            "R5", Severity.BLOCK,
            f"发票抬头“{name or '（空）'}”与公司名称“{ctx.company.legal_name}”不一致",
            f"The invoice is made out to '{name or '(blank)'}', not to '{ctx.company.legal_name}'.",
            evidence={"buyer_name": name or "", "expected": ctx.company.legal_name}, invoice_key=inv.business_key))
    if not ctx.company.is_our_tax_id(tax_id):
        findings.append(Finding(
            "R5", Severity.BLOCK,
            f"购买方纳税人识别号“{tax_id or '（空）'}”与公司税号 {ctx.company.tax_id} 不一致",
            f"The buyer tax ID '{tax_id or '(blank)'}' is not the company's ({ctx.company.tax_id}).",
            evidence={"buyer_tax_id": tax_id or "", "expected": ctx.company.tax_id}, invoice_key=inv.business_key))
    return findings
