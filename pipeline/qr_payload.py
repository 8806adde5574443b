"""The comma-separated payload of the QR code on VAT / 数电 invoices (DOMAIN §2).

Legacy: ``01,类型,发票代码,发票号码,金额(不含税),YYYYMMDD,校验码,校验位[,]``;
数电:   ``01,类型,,发票号码(20),价税合计,YYYYMMDD,,校验位``.

Contract: ``parse_invoice_qr(text)`` returns a ``QrPayload`` only when field 1 is ``01``, field 2 is two digits, the
code/number pair is (10 or 12 digits, 8 digits not all zero) or (empty, 20 digits), the amount is a plain finite
decimal with at most 2 decimal places (no ``nan``/``inf``/exponent) and the date is a real calendar date
(``YYYYMMDD``, or ``YYYY-MM-DD`` as printed by some 数电 issuers). Otherwise —
URL-style QRs, garbage, ``None`` — it returns ``None``; it never raises. It tolerates a BOM, surrounding whitespace,
spaces around fields, full-width characters and a trailing comma. The 校验位 (field 8) is kept but not validated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from pipeline.codes import kind_from_qr_type
from pipeline.money import FEN
from pipeline.text import normalize
from pipeline.types import InvoiceKind

TAX_INCLUSIVE_TYPES = frozenset({"31", "32", "51", "61"})
_AMOUNT = re.compile(r"-?\d+(?:\.\d+)?", re.ASCII)
_ALNUM = re.compile(r"[0-9A-Za-z]*", re.ASCII)


@dataclass(frozen=True)
class QrPayload:
    raw: str
    version: str
    type_code: str
    invoice_code: str | None
    invoice_number: str
    amount: Decimal  # 不含税 合计金额 on legacy invoices, 价税合计 on 数电 (see ``amount_is_tax_inclusive``)
    issue_date: date
    check_code: str | None
    checksum: str | None

    @property
    def amount_is_tax_inclusive(self) -> bool:
        return self.type_code in TAX_INCLUSIVE_TYPES or (self.invoice_code is None and len(self.invoice_number) == 20)

    @property
    def kind(self) -> InvoiceKind | None:
        return kind_from_qr_type(self.type_code)

    @property
    def check_code_last6(self) -> str | None:
        """What 查验 asks for on 普票/电子普票/卷票/通行费."""
        return self.check_code[-6:] if self.check_code and len(self.check_code) >= 6 else None


def _parse_date(s: str) -> date | None:
    m = re.fullmatch(r"(\d{4})(-?)(\d{2})\2(\d{2})", s, re.ASCII)
    if m is None:
        return None
    try:
        return date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
    except ValueError:
        return None


def _parse_amount(s: str) -> Decimal | None:
    if not _AMOUNT.fullmatch(s):
        return None
    try:
        value = Decimal(s)
    except InvalidOperation:
        return None
    return value.quantize(FEN) if value == value.quantize(FEN) else None


def _valid_pair(code: str, number: str) -> bool:
    if code == "":
        return re.fullmatch(r"\d{20}", number, re.ASCII) is not None
    return (re.fullmatch(r"\d{10}|\d{12}", code, re.ASCII) is not None
            and re.fullmatch(r"\d{8}", number, re.ASCII) is not None and number != "00000000")


def parse_invoice_qr(text: str) -> QrPayload | None:
    """Parse and validate an invoice QR payload; ``None`` when ``text`` is not one."""
    if not isinstance(text, str):
        return None
    fields = [f.strip() for f in normalize(text.replace("\ufeff", "")).split(",")]
    while len(fields) > 8 and fields[-1] == "":
        fields.pop()
    if len(fields) == 7:
        fields.append("")  # 校验位 missing altogether
    if len(fields) != 8:
        return None
    version, type_code, code, number, amount_text, date_text, check_code, checksum = fields
    if version != "01" or not re.fullmatch(r"\d{2}", type_code, re.ASCII) or not _valid_pair(code, number):
        return None
    if not _ALNUM.fullmatch(check_code) or not _ALNUM.fullmatch(checksum):
        return None
    amount, issue_date = _parse_amount(amount_text), _parse_date(date_text)
    if amount is None or issue_date is None:
        return None
    return QrPayload(raw=text, version=version, type_code=type_code, invoice_code=code or None,
                     invoice_number=number, amount=amount, issue_date=issue_date,
                     check_code=check_code or None, checksum=checksum or None)


__all__ = ["QrPayload", "TAX_INCLUSIVE_TYPES", "parse_invoice_qr"]
