"""Invoice-integrity rules (DOMAIN §6.3): R1 QR agreement, R3 duplicates, R4 amounts, R5 buyer title.

These need no policy file, only the company and the history, so ``check_invoices`` runs them on their own.

* R1: a ``qr_mismatch.<field>`` or ``code_region_mismatch`` validation issue -> block; a 发票代码 whose province
  digits OCR read one digit off the title's and the extractor repaired (``code_region_repaired``) -> warn.
* R3: any of the invoice's duplicate keys (``facts.duplicate_keys``: business key, 电子客票号, train seat, flight
  passenger) already on this claim or held by another live claim -> block; no key at all -> warn. The claim rule
  ``r3_agency_double`` blocks an agency (OTA) ``*经纪代理服务*代订机票/代订住宿`` invoice whose amount equals the
  ticket / hotel invoices on the same claim (the fare claimed twice), and warns when it is at least half of one.
* R4: amount identities broken (``amount_identity``, ``upper_mismatch``, ``items_amount_sum``, ``items_tax_sum``)
  or no total -> block; a line whose tax does not fit its rate (``item_tax_rate``) or an unreadable 大写 -> warn.
* R5: a tax-voucher kind not made out to the company's legal name and USCC -> block. When OCR could not read the
  buyer's tax ID reliably (missing, failing its check characters, or below the routing confidence) the finding asks
  finance to check the image instead of telling the employee to have the invoice reissued.
"""

from __future__ import annotations

from decimal import Decimal

from pipeline.policy.base import finding, money
from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.policy.schema import Routing
from pipeline.taxid import classify_tax_id
from pipeline.types import FieldSource, Finding, Invoice, InvoiceKind, Severity

# Kinds that are tax vouchers issued to a buyer, so R5 applies.
BUYER_TITLED_KINDS = frozenset({
    InvoiceKind.VAT_SPECIAL, InvoiceKind.VAT_NORMAL, InvoiceKind.VAT_E_NORMAL, InvoiceKind.VAT_E_SPECIAL,
    InvoiceKind.VAT_E_TOLL, InvoiceKind.VAT_ROLL, InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.DIGITAL_NORMAL,
})
AIR_KINDS = frozenset({InvoiceKind.AIR_E_ITINERARY, InvoiceKind.AIR_PAPER_ITINERARY})


def r1_qr_agreement(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    findings = []
    for issue in line.invoice.issues:
        said = _r1_wording(issue.code, issue.evidence)
        if said is not None:
            findings.append(finding("R1", *said, line, **issue.evidence))
    return findings


def _r1_wording(code: str, evidence: dict[str, str]) -> tuple[Severity, str, str] | None:
    """Severity, Chinese and English text of the R1 finding for validation issue ``code``; ``None``: not R1's."""
    get = evidence.get
    if code.startswith("qr_mismatch"):
        field_name = code.partition(".")[2] or "?"
        return (Severity.BLOCK, f"二维码与票面不一致（{field_name}）：以二维码为准，请核实发票真伪",
                f"The QR code and the printed invoice disagree on {field_name}; the QR value was used. "
                "Check that the invoice is genuine.")
    if code == "code_region_mismatch":
        return (Severity.BLOCK,
                f"发票代码 {get('invoice_code', '')} 的地区（{get('code_region', '')}）与发票标题“{get('title', '')}”的"
                "省份不符：可能识别错误，也可能不是真票，请对照原件核对",
                f"The invoice code {get('invoice_code', '')} belongs to region {get('code_region', '')}, not to the "
                f"province in the title '{get('title', '')}': a misread code or not a genuine invoice; check it "
                "against the original.")
    if code == "code_region_repaired":
        return (Severity.WARN,
                f"发票代码识别为 {get('invoice_code_read', '')}，其地区码与发票标题“{get('title', '')}”的省份差一位，"
                f"已按 {get('invoice_code', '')} 处理，请对照原件核对",
                f"The invoice code was read as {get('invoice_code_read', '')}, one digit off the province of the "
                f"title '{get('title', '')}'; it was taken as {get('invoice_code', '')}. Check it against the "
                "original.")
    return None


def _describe_key(key: str) -> tuple[str, str]:
    kind, _, rest = key.partition(":")
    if kind == "ticket":
        return f"电子客票号 {rest}", f"e-ticket number {rest}"
    if kind == "seat":
        train, when, seat = rest.split(":", 2)
        return f"车次 {train} {when[:8]} {seat}", f"train {train} on {when[:8]}, seat {seat}"
    if kind == "flight":
        flight, day, _passenger = rest.split(":", 2)
        return f"航班 {flight} {day} 同一乘客", f"flight {flight} on {day}, same passenger"
    return f"发票 {key}", f"invoice {key}"


def r3_duplicate(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    keys = line.duplicate_keys
    if not keys:
        return [finding("R3", Severity.WARN, "无法识别发票号码，无法进行重复报销检查",
                        "The invoice number could not be read, so the duplicate check could not run.", line)]
    for key in keys:
        if key in ctx.seen_keys:
            zh, en = _describe_key(key)
            return [finding("R3", Severity.BLOCK, f"同一笔费用（{zh}）在本报销单中出现了两次，请删除重复的一张",
                            f"The same expense ({en}) appears twice on this claim; remove the duplicate.",
                            line, invoice_key=key, first_line=ctx.seen_keys[key] + 1)]
    for key in keys:
        ctx.seen_keys[key] = len(ctx.seen_keys)
    for key in keys:
        other = ctx.history.claim_holding(key)
        if other:
            zh, en = _describe_key(key)
            return [finding("R3", Severity.BLOCK, f"该费用（{zh}）已在报销单 {other} 中报销或占用，不能重复报销",
                            f"This expense ({en}) is already on claim {other}; it cannot be reimbursed twice.",
                            line, invoice_key=key, other_claim=other)]
    return []


def _agency_items(line: ClaimLine) -> tuple[bool, bool]:
    flight = lodging = False
    for item in line.items:
        if item.jiancheng == "经纪代理服务":
            flight |= "机票" in item.text or "航空" in item.text
            lodging |= "住" in item.text or "酒店" in item.text
    return flight, lodging


def r3_agency_double(ctx: CheckContext) -> list[Finding]:
    """An OTA invoice for 代订机票/代订住宿 next to the ticket / hotel invoice it booked (DOMAIN §1.4 F, H)."""
    lines = ctx.claim.lines if ctx.claim else []
    agency = [(ln, *_agency_items(ln)) for ln in lines if ln.total is not None]
    agency = [a for a in agency if a[1] or a[2]]
    if not agency:
        return []
    lodging_categories = set(ctx.policy.lodging.categories) if ctx.policy else {"travel.lodging"}
    tickets = [ln for ln in lines if ln.kind in AIR_KINDS and ln.total is not None]
    hotels = [ln for ln in lines if ln.total is not None and (ln.category in lodging_categories or any(
        i.jiancheng == "住宿服务" for i in ln.items))]
    findings = []
    for line, flight, lodging in agency:
        for booked, others, zh_what, en_what in ((flight, tickets, "机票行程单", "flight itinerary"),
                                                 (lodging, hotels, "酒店发票", "hotel invoice")):
            others = [o for o in others if o is not line]
            if not booked or not others:
                continue
            total = sum((o.total for o in others), Decimal(0))
            same = any(o.total == line.total for o in others) or total == line.total
            if same or any(line.total * 2 >= o.total for o in others):
                severity = Severity.BLOCK if same else Severity.WARN
                findings.append(finding(
                    "R3", severity,
                    f"代订服务发票（{money(line.total)} 元）与本单的{zh_what}可能是同一笔费用，"
                    + ("不能重复报销" if same else "请确认代订发票只含服务费"),
                    f"The booking-agency invoice ({money(line.total)}) may cover the same expense as the "
                    f"{en_what} on this claim; " + ("it cannot be claimed twice." if same else
                                                   "make sure it only covers the agency's service fee."),
                    line, agency_amount=line.total, other_invoices=[o.key or "?" for o in others],
                    other_amounts=[o.total for o in others]))
    return findings


_BLOCK_CODES = {"amount_identity", "upper_mismatch", "items_amount_sum", "items_tax_sum"}
_WARN_CODES = {"item_tax_rate", "upper_unreadable"}


def r4_amounts(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    findings = []
    for issue in line.invoice.issues:
        code = issue.code.split(".")[0]
        if code in _BLOCK_CODES:
            findings.append(finding("R4", Severity.BLOCK, f"金额校验不通过：{issue.message}",
                                    f"Amounts do not add up: {issue.message}", line, **issue.evidence))
        elif code in _WARN_CODES:
            findings.append(finding("R4", Severity.WARN, f"金额需人工核对：{issue.message}",
                                    f"Please check the amounts: {issue.message}", line, **issue.evidence))
    if line.total is None:
        findings.append(finding("R4", Severity.BLOCK, "未能识别价税合计金额，请人工核对",
                                "The invoice total could not be read; a person must check it.", line))
    return findings


def r5_buyer(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    inv = line.invoice
    if inv.kind not in BUYER_TITLED_KINDS:
        return []
    name, tax_id = inv.get("buyer_name"), inv.get("buyer_tax_id")
    company = ctx.company
    findings = []
    if not company.is_our_name(name):
        findings.append(finding(
            "R5", Severity.BLOCK,
            f"发票抬头“{name or '（空）'}”与公司名称“{company.legal_name}”不一致，请让商家重开发票",
            f"The invoice is made out to '{name or '(blank)'}', not to '{company.legal_name}'; "
            "ask the seller to reissue it.",
            line, buyer_name=name or "", expected=company.legal_name))
    if company.is_our_tax_id(tax_id):
        return findings
    if _misread_tax_id(inv, ctx):
        findings.append(finding(
            "R5", Severity.BLOCK,
            f"未能可靠识别购买方纳税人识别号（读到“{tax_id or '（空）'}”），需财务对照原件核对是否为公司税号 {company.tax_id}",
            f"The buyer tax ID could not be read reliably (read '{tax_id or '(blank)'}'); finance must check the "
            f"image against the company's ({company.tax_id}).",
            line, buyer_tax_id=tax_id or "", expected=company.tax_id, reading="unreliable"))
    else:
        findings.append(finding(
            "R5", Severity.BLOCK,
            f"购买方纳税人识别号“{tax_id or '（空）'}”与公司税号 {company.tax_id} 不一致，请让商家重开发票",
            f"The buyer tax ID '{tax_id or '(blank)'}' is not the company's ({company.tax_id}); "
            "ask the seller to reissue the invoice.",
            line, buyer_tax_id=tax_id or "", expected=company.tax_id))
    return findings


_UNREADABLE_TAX_IDS = {"uscc_bad_checksum", "unknown"}  # classify_tax_id's answers for no taxpayer ID at all


def _misread_tax_id(inv: Invoice, ctx: CheckContext) -> bool:
    """Did OCR fail on the buyer's tax ID (rather than the seller print another)? Read from a photo or scan and
    missing, failing its check characters, or below the routing confidence: then asking the seller to reissue
    would be wrong advice."""
    fv = inv.fields.get("buyer_tax_id")
    if fv is None:
        return any(v.source is FieldSource.OCR for v in inv.fields.values())
    if fv.source is not FieldSource.OCR:
        return False
    routing = ctx.policy.routing if ctx.policy is not None else Routing()
    return fv.confidence < routing.min_field_confidence or classify_tax_id(str(fv.value)) in _UNREADABLE_TAX_IDS
