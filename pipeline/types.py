"""Typed data passed between the pipeline's stages.

Contract: every stage is a plain function from one of these types to the next
(``SourceDocument -> ReadResult -> list[Invoice] -> ... -> Finding``). Nothing here
touches the network, the database or the file system. Money is always ``Decimal``
(fen-exact, two decimal places); dates are ``datetime.date``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any


class DocType(str, enum.Enum):
    IMAGE = "image"
    PDF = "pdf"
    OFD = "ofd"
    XML = "xml"
    ZIP = "zip"


class FieldSource(str, enum.Enum):
    """Where a field value came from, in decreasing order of trust."""

    XML = "xml"
    OFD = "ofd"
    QR = "qr"
    TEXT_LAYER = "text_layer"
    OCR = "ocr"
    COMPUTED = "computed"
    MANUAL = "manual"


class InvoiceKind(str, enum.Enum):
    """Stable identifiers of the invoice kinds we recognise (DOMAIN §1.1)."""

    VAT_SPECIAL = "vat_special"  # 增值税专用发票 (paper)
    VAT_NORMAL = "vat_normal"  # 增值税普通发票 (paper)
    VAT_ROLL = "vat_roll"  # 增值税普通发票(卷式)
    VAT_E_NORMAL = "vat_e_normal"  # 增值税电子普通发票
    VAT_E_SPECIAL = "vat_e_special"  # 增值税电子专用发票
    VAT_E_TOLL = "vat_e_toll"  # 增值税电子普通发票(通行费)
    DIGITAL_SPECIAL = "digital_special"  # 数电 电子发票（增值税专用发票）
    DIGITAL_NORMAL = "digital_normal"  # 数电 电子发票（普通发票）
    RAIL_E_TICKET = "rail_e_ticket"  # 电子发票（铁路电子客票）
    RAIL_PAPER_TICKET = "rail_paper_ticket"  # 火车票 / 报销凭证
    AIR_E_ITINERARY = "air_e_itinerary"  # 电子发票（航空运输电子客票行程单）
    AIR_PAPER_ITINERARY = "air_paper_itinerary"
    TAXI = "taxi"
    QUOTA = "quota"  # 通用定额发票
    RECEIPT = "receipt"  # foreign / English receipt
    TRIP_TABLE = "trip_table"  # ride-hailing 行程单: evidence, never counted
    UNKNOWN = "unknown"


class Severity(str, enum.Enum):
    BLOCK = "block"
    REDUCE = "reduce"
    WARN = "warn"
    INFO = "info"


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in page pixels / points


@dataclass(frozen=True)
class SourceDocument:
    """Bytes of one uploaded file, sniffed and size-checked by ``pipeline.ingest``."""

    name: str
    data: bytes
    sha256: str
    doc_type: DocType
    media_type: str


@dataclass(frozen=True)
class TextLine:
    text: str
    box: Box | None = None
    confidence: float = 1.0
    page: int = 0


@dataclass(frozen=True)
class QrCode:
    text: str
    page: int = 0
    box: Box | None = None


@dataclass
class PageContent:
    """The text of one page (or image), from a text layer or from OCR."""

    page_no: int
    width: float
    height: float
    lines: list[TextLine]
    source: FieldSource  # TEXT_LAYER or OCR (or XML/OFD for structured readers)

    @property
    def text(self) -> str:
        return "\n".join(line.text for line in self.lines)


@dataclass
class ReadResult:
    """What a reader got out of a document, before any interpretation."""

    document: SourceDocument
    pages: list[PageContent] = field(default_factory=list)
    qr_codes: list[QrCode] = field(default_factory=list)
    # Structured key/value data found in the file itself (OFD CustomData, XML elements, PDF keys).
    structured: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # stage -> seconds
    warnings: list[str] = field(default_factory=list)
    quality_problems: list[str] = field(default_factory=list)  # the photo quality gate's complaints (also warnings)


@dataclass(frozen=True)
class FieldValue:
    value: Any  # str, Decimal, date or datetime
    confidence: float
    source: FieldSource
    box: Box | None = None
    page: int | None = None


@dataclass(frozen=True)
class LineItem:
    name: str
    amount: Decimal | None = None
    tax_rate: str | None = None  # decimal fraction "0.13", or "免税" / "不征税"
    tax_amount: Decimal | None = None
    category: str | None = None


@dataclass(frozen=True)
class ValidationIssue:
    """A field-level problem found while validating one invoice (feeds rule R1/R4)."""

    code: str  # e.g. "amount_identity", "upper_mismatch", "qr_mismatch.invoice_number"
    message: str
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass
class Invoice:
    kind: InvoiceKind
    fields: dict[str, FieldValue] = field(default_factory=dict)
    items: list[LineItem] = field(default_factory=list)
    issues: list[ValidationIssue] = field(default_factory=list)
    page: int = 0
    qr_text: str | None = None

    def get(self, key: str, default: Any = None) -> Any:
        fv = self.fields.get(key)
        return default if fv is None else fv.value

    def set(self, key: str, value: Any, confidence: float, source: FieldSource, box: Box | None = None,
            page: int | None = None) -> None:
        if value is None or value == "":
            return
        self.fields[key] = FieldValue(value, confidence, source, box, page)

    @property
    def business_key(self) -> str | None:
        """(invoice code, invoice number) for legacy invoices, the 20-digit number for 数电."""
        number = self.get("invoice_number")
        if not number:
            return None
        code = self.get("invoice_code")
        return f"{code}:{number}" if code else str(number)

    @property
    def total(self) -> Decimal | None:
        return self.get("total_incl_tax")


@dataclass(frozen=True)
class Classification:
    category: str
    confidence: float
    abstained: bool
    model_version: str
    source: str = "model"  # "rule" when a deterministic fact decided it


@dataclass(frozen=True)
class Finding:
    rule_id: str
    severity: Severity
    message_zh: str
    message_en: str
    evidence: dict[str, str] = field(default_factory=dict)
    invoice_key: str | None = None
    suggested_amount: Decimal | None = None


@dataclass
class Extraction:
    """One file's result: the invoices found in it, or the reason there are none."""

    document_name: str
    sha256: str | None
    invoices: list[Invoice] = field(default_factory=list)
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)


__all__ = [
    "Box", "Classification", "DocType", "Extraction", "FieldSource", "FieldValue", "Finding", "Invoice",
    "InvoiceKind", "LineItem", "PageContent", "QrCode", "ReadResult", "Severity", "SourceDocument", "TextLine",
    "ValidationIssue", "date", "datetime",
]
