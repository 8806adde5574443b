"""Validate one extracted invoice: arithmetic identities, 大写 vs 小写, QR agreement, tax-ID checksums.

Contract: ``validate_invoice(inv) -> list[ValidationIssue]`` appends the issues it finds to ``inv.issues`` and
returns the new ones. It is idempotent (an issue already present with the same code is not added again) and never
raises on missing fields: a check runs only when every value it needs is present. Money is compared fen-exact.

Issue codes:
* ``amount_identity``: 金额 + 税额 ≠ 价税合计 (DOMAIN §1.5 identity 2).
* ``items_amount_sum`` / ``items_tax_sum``: Σ line amounts (taxes) ≠ the 合计 amount (tax), checked only when every
  line has the value (identity 1).
* ``item_tax_rate``: a line whose |金额 × 税率 − 税额| exceeds 0.01 (identity 3).
* ``upper_mismatch``: the 大写 total read as a number ≠ 价税合计 (identity 4); ``upper_unreadable`` when the
  printed 大写 text cannot be read as an amount.
* ``qr_mismatch.<field>``: the QR payload (``inv.qr_text``) disagrees with invoice_number / invoice_code /
  issue_date, or with the amount it carries: 不含税 合计金额 for legacy types (01/04/08/10/11/14 …), 价税合计 for
  数电 types (31/32/51/61) (DOMAIN §2.4).
* ``tax_id_checksum.<field>``: an 18-char USCC-shaped buyer/seller tax ID whose check characters fail (a warning:
  real invoices carry such IDs, DOMAIN §3.1); ``tax_id_format.<field>``: not a recognised taxpayer-ID form.
* ``item_rate_unusual`` (warning): a line whose ``*简称*`` has known rates (DOMAIN §1.5–§1.6) carries another
  one; the small-scale 征收率 (1%, 3%), 0% and 免税 are accepted for every 简称.
* ``code_kind_mismatch``: the 发票代码 says another kind than the one extracted (通行费 / 卷式 refine 普通发票
  and are not a mismatch), or a 数电 kind (which has no 发票代码) carries one.
* ``code_region_mismatch``: a VAT 发票代码 that names another province than the printed title
  (``pipeline.codes.region_of_code`` / ``region_of_title``): a misread code, or not a genuine invoice.
* ``ticket_tax``: a printed ticket tax that is not the passenger-transport tax (DOMAIN §1.5): rail 9% of the
  fare, air 9% of fare + fuel surcharge (tolerance 0.01); ``fare_sum``: an air itinerary whose 合计 is not
  票价 + 燃油附加费 + 民航发展基金 + 其他税费 (+ 保险费).
* ``red_letter``: a 红字 (credit) invoice: negative total or amount, or a 大写 marked 负数. It cancels an invoice
  and is not reimbursable.
"""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal

from pipeline.codes import kind_from_code, region_of_code, region_of_title
from pipeline.money import from_upper, tax_from_inclusive
from pipeline.qr_payload import QrPayload, parse_invoice_qr
from pipeline.taxid import classify_tax_id
from pipeline.text import split_item_name
from pipeline.types import FieldSource, Invoice, InvoiceKind, ValidationIssue

LINE_TAX_TOLERANCE = Decimal("0.01")
TICKET_TAX_TOLERANCE = Decimal("0.01")
PASSENGER_VAT_RATE = Decimal("0.09")  # rail and air tickets (DOMAIN §1.5)
# General rates by 简称 (DOMAIN §1.5, §1.6); the small-scale 征收率 and exemptions are always accepted.
SIMPLE_RATES = frozenset({"0.01", "0.03", "0.00", "免税"})
GENERAL_RATES: dict[str, frozenset[str]] = {
    name: frozenset(rates) for names, rates in (
        (("餐饮服务", "住宿服务", "经纪代理服务", "信息技术服务", "物流辅助服务", "咨询服务", "现代服务", "生活服务",
          "保险服务", "会议服务", "培训服务", "广告服务"), ("0.06",)),
        (("运输服务", "交通运输服务", "货物运输服务", "建筑服务"), ("0.09",)),
        (("电信服务",), ("0.09", "0.06")),
        (("经营租赁",), ("0.13", "0.09", "0.05", "不征税")),
        (("办公耗材", "文具", "纸制品", "计算机配套产品", "日用杂品", "汽油", "柴油"), ("0.13",)),
        (("预付卡销售和充值",), ("不征税",)),
    ) for name in names
}
DIGITAL_KINDS = frozenset({
    InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.DIGITAL_NORMAL, InvoiceKind.RAIL_E_TICKET, InvoiceKind.AIR_E_ITINERARY,
})
_NARROWER = {InvoiceKind.VAT_E_NORMAL: InvoiceKind.VAT_E_TOLL, InvoiceKind.VAT_NORMAL: InvoiceKind.VAT_ROLL}
_RAIL = (InvoiceKind.RAIL_E_TICKET, InvoiceKind.RAIL_PAPER_TICKET)
_AIR = (InvoiceKind.AIR_E_ITINERARY, InvoiceKind.AIR_PAPER_ITINERARY)
AIR_TOTAL_PARTS = ("fare", "fuel_surcharge", "caac_fund", "other_taxes", "insurance")
_DASHED_DATE = re.compile(r",(\d{4})-(\d{2})-(\d{2}),")


def parse_qr(text: str | None) -> QrPayload | None:
    """``parse_invoice_qr``, also accepting a date printed ``YYYY-MM-DD`` inside the payload (seen on real 数电
    QR codes: ``01,32,,25127000000442340624,19.04,2025-11-05,,``)."""
    payload = parse_invoice_qr(text) if isinstance(text, str) else None
    if payload is None and isinstance(text, str) and _DASHED_DATE.search(text):
        payload = parse_invoice_qr(_DASHED_DATE.sub(r",\1\2\3,", text, count=1))
        if payload is not None:
            payload = replace(payload, raw=text)
    return payload


def qr_amount_field(payload: QrPayload) -> str:
    """The field the QR amount stands for: 价税合计 on 数电 types, 不含税 合计金额 on legacy ones."""
    return "total_incl_tax" if payload.amount_is_tax_inclusive else "amount_excl_tax"


def qr_mismatch(key: str, qr_value: object, printed: object, source: FieldSource) -> ValidationIssue:
    return ValidationIssue(
        code=f"qr_mismatch.{key}",
        message=f"{key}: the QR code says {qr_value}, the {source.value.replace('_', ' ')} says {printed}",
        evidence={"field": key, "qr": str(qr_value), "printed": str(printed), "printed_source": source.value},
    )


def _issue(code: str, message: str, **evidence: object) -> ValidationIssue:
    return ValidationIssue(code, message, {k: str(v) for k, v in evidence.items()})


def _identities(inv: Invoice) -> list[ValidationIssue]:
    out = []
    amount, tax, total = inv.get("amount_excl_tax"), inv.get("tax_amount"), inv.get("total_incl_tax")
    if amount is not None and tax is not None and total is not None and amount + tax != total:
        out.append(_issue("amount_identity", f"amount {amount} + tax {tax} = {amount + tax}, but the total is {total}",
                          amount_excl_tax=amount, tax_amount=tax, total_incl_tax=total))
    items = inv.items
    if items and amount is not None and all(i.amount is not None for i in items):
        s = sum((i.amount for i in items), Decimal("0.00"))
        if s != amount:
            out.append(_issue("items_amount_sum", f"the lines add up to {s}, the 合计 amount is {amount}",
                              items_sum=s, amount_excl_tax=amount, lines=len(items)))
    if items and tax is not None and all(i.tax_amount is not None for i in items):
        s = sum((i.tax_amount for i in items), Decimal("0.00"))
        if s != tax:
            out.append(_issue("items_tax_sum", f"the line taxes add up to {s}, the 合计 tax is {tax}",
                              items_sum=s, tax_amount=tax, lines=len(items)))
    for n, item in enumerate(items, 1):
        if item.amount is None or item.tax_amount is None or item.tax_rate is None or "清单" in item.name:
            continue  # a 详见销货清单 line sums many lines, each rounded on its own
        try:
            rate = Decimal(item.tax_rate)
        except ArithmeticError:
            continue  # 免税 / 不征税
        expected = item.amount * rate
        if abs(expected - item.tax_amount) > LINE_TAX_TOLERANCE:
            out.append(_issue("item_tax_rate", f"line {n}: {item.amount} × {item.tax_rate} is {expected:.2f}, "
                                               f"the printed tax is {item.tax_amount}",
                              line=n, amount=item.amount, tax_rate=item.tax_rate, tax_amount=item.tax_amount))
    return out


def _upper(inv: Invoice) -> list[ValidationIssue]:
    text, total = inv.get("total_upper"), inv.get("total_incl_tax")
    if not text:
        return []
    value = from_upper(text)
    if value is None:
        return [_issue("upper_unreadable", f"the 大写 total {text!r} cannot be read as an amount", total_upper=text)]
    if total is not None and value != total:
        return [_issue("upper_mismatch", f"the 大写 total reads {value}, the 小写 total is {total}",
                       total_upper=text, upper_value=value, total_incl_tax=total)]
    return []


def _qr(inv: Invoice) -> list[ValidationIssue]:
    payload = parse_qr(inv.qr_text)
    if payload is None:
        return []
    out = []
    values = {"invoice_number": payload.invoice_number, "invoice_code": payload.invoice_code,
              "issue_date": payload.issue_date, qr_amount_field(payload): payload.amount}
    for key, qr_value in values.items():
        fv = inv.fields.get(key)
        if qr_value is None or fv is None or fv.source == FieldSource.QR:
            continue
        if fv.value != qr_value:
            out.append(qr_mismatch(key, qr_value, fv.value, fv.source))
    return out


def _tax_ids(inv: Invoice) -> list[ValidationIssue]:
    out = []
    for key in ("buyer_tax_id", "seller_tax_id"):
        value = inv.get(key)
        if not value:
            continue
        kind = classify_tax_id(value)
        if kind == "uscc_bad_checksum":
            out.append(_issue(f"tax_id_checksum.{key}", f"{key} {value} fails the USCC check characters "
                                                        "(misread, or printed wrong)", **{key: value}))
        elif kind == "unknown":
            out.append(_issue(f"tax_id_format.{key}", f"{key} {value} is not a recognised taxpayer ID form",
                              **{key: value}))
    return out


def _item_rates(inv: Invoice) -> list[ValidationIssue]:
    odd = []
    for n, item in enumerate(inv.items, 1):
        short, _ = split_item_name(item.name)
        allowed = GENERAL_RATES.get(short or "")
        if allowed is not None and item.tax_rate is not None and item.tax_rate not in allowed | SIMPLE_RATES:
            odd.append((n, short, item.tax_rate, allowed))
    if not odd:
        return []
    n, short, rate, allowed = odd[0]
    return [_issue("item_rate_unusual", f"line {n}: *{short}* is normally taxed at {', '.join(sorted(allowed))} "
                                        f"(or a small-scale rate), not {rate}",
                   line=n, short_name=short, tax_rate=rate, lines=",".join(str(o[0]) for o in odd))]


def _kind_consistency(inv: Invoice) -> list[ValidationIssue]:
    out = []
    code = inv.get("invoice_code")
    if not isinstance(code, str) or not code or inv.kind == InvoiceKind.UNKNOWN:
        return out
    code_kind = kind_from_code(code)
    if inv.kind in DIGITAL_KINDS or (code_kind is not None and code_kind != inv.kind
                                     and _NARROWER.get(inv.kind) != code_kind and _NARROWER.get(code_kind) != inv.kind):
        what = f"belongs to a {code_kind.value} invoice" if code_kind else "is not printed on 数电 invoices"
        out.append(_issue("code_kind_mismatch", f"the 发票代码 {code} {what}, but this reads as {inv.kind.value}",
                          invoice_code=code, code_kind=code_kind.value if code_kind else "", kind=inv.kind.value))
    return out


def _code_region(inv: Invoice) -> list[ValidationIssue]:
    code, title = inv.get("invoice_code"), inv.get("title")
    region = region_of_code(code) if isinstance(code, str) else None
    printed = region_of_title(title) if isinstance(title, str) else None
    if region is None or printed is None or region == printed:
        return []
    return [_issue("code_region_mismatch", f"the 发票代码 {code} is from region {region}, but the title "
                                           f"{title} is from region {printed}",
                   invoice_code=code, code_region=region, title=title, title_region=printed)]


def _printed_tax(inv: Invoice) -> Decimal | None:
    fv = inv.fields.get("tax_amount")
    return fv.value if fv is not None and fv.source != FieldSource.COMPUTED else None


def _tickets(inv: Invoice) -> list[ValidationIssue]:
    out = []
    tax = _printed_tax(inv)
    base = None
    if inv.kind in _RAIL:
        base = inv.get("fare") if inv.get("fare") is not None else inv.get("total_incl_tax")
    elif inv.kind in _AIR and inv.get("fare") is not None:
        base = inv.get("fare") + (inv.get("fuel_surcharge") or Decimal("0.00"))
    if tax is not None and base is not None:
        expected = tax_from_inclusive(base, PASSENGER_VAT_RATE)[1]
        if abs(expected - tax) > TICKET_TAX_TOLERANCE:
            out.append(_issue("ticket_tax", f"the printed tax {tax} is not 9% of {base} ({expected})",
                              tax_amount=tax, taxable=base, expected=expected))
    total = inv.get("total_incl_tax")
    if inv.kind in _AIR and total is not None and inv.get("fare") is not None:
        parts = sum((inv.get(k) for k in AIR_TOTAL_PARTS if inv.get(k) is not None), Decimal("0.00"))
        if parts != total:
            out.append(_issue("fare_sum", f"fare and charges add up to {parts}, the 合计 is {total}",
                              parts_sum=parts, total_incl_tax=total))
    return out


def _red_letter(inv: Invoice) -> list[ValidationIssue]:
    negative = [k for k in ("total_incl_tax", "amount_excl_tax") if isinstance(inv.get(k), Decimal) and inv.get(k) < 0]
    upper = inv.get("total_upper")
    if not negative and not (isinstance(upper, str) and "负数" in upper):
        return []
    return [_issue("red_letter", "红字发票 (red-letter credit invoice, negative amounts): it cancels an invoice and "
                                 "is not reimbursable", invoice_number=inv.get("invoice_number") or "",
                   total_incl_tax=inv.get("total_incl_tax") if inv.get("total_incl_tax") is not None else "")]


def validate_invoice(inv: Invoice) -> list[ValidationIssue]:
    found = (_identities(inv) + _upper(inv) + _qr(inv) + _tax_ids(inv) + _item_rates(inv) + _kind_consistency(inv)
             + _code_region(inv) + _tickets(inv) + _red_letter(inv))
    existing = {i.code for i in inv.issues}
    new = []
    for issue in found:
        if issue.code not in existing:
            existing.add(issue.code)
            new.append(issue)
    inv.issues.extend(new)
    return new


__all__ = [
    "AIR_TOTAL_PARTS", "GENERAL_RATES", "LINE_TAX_TOLERANCE", "PASSENGER_VAT_RATE", "SIMPLE_RATES",
    "TICKET_TAX_TOLERANCE", "parse_qr", "qr_amount_field", "qr_mismatch", "validate_invoice",
]
