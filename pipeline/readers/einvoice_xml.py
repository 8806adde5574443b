"""Reader for invoice XML files: 数电 ``EInvoice``, legacy e-invoice XML (``fp:`` namespace), rail XBRL.

Contract: ``read_xml(doc, settings) -> ReadResult`` parses ``doc.data`` with ``pipeline.readers.safexml`` (so
hostile XML is refused with ``CorruptDocument``) and fills ``ReadResult.structured`` with flat canonical keys,
values as printed (normalised text: full-width → half-width, runs of spaces collapsed), never converted:

* ``structured_format``: which dialect was read, one of ``FORMATS`` (the key ``pipeline.extract.structured``
  looks for; without it the dict holds no invoice);
* ``invoice_code invoice_number issue_date check_code machine_no title buyer_name buyer_tax_id buyer_addr_tel
  buyer_bank seller_name seller_tax_id seller_addr_tel seller_bank amount_excl_tax tax_amount total_incl_tax
  total_upper remark drawer payee reviewer qr_text`` when present; 数电 also ``vat_label`` (增值税专用发票 / 普通发票
  from ``GeneralOrSpecialVAT``), ``red_letter`` (``"true"`` for 红字); rail XBRL also ``from_station to_station
  train_no depart_datetime seat_class seat_no passenger_name e_ticket_no business_type``;
* line items as ``items.<i>.<field>`` (i from 0; fields ``name spec unit quantity price amount tax_rate
  tax_amount``).

Dialects, recognised by local names (namespaces and prefixes ignored, DOMAIN §5.3, §1.4 A):
``xml.digital``  root ``EInvoice`` or any root with ``EInvoiceData`` (Header/EIid, Seller/BuyerInformation,
                 BasicInformation, IssuItemInformation…, TaxSupervisionInfo); the header total
                 ``TotalTax-includedAmount`` is kept apart from the line ``TotaltaxIncludedAmount``;
``xml.legacy``   the 税控 e-invoice ``eInvoice`` (InvoiceCode, InvoiceNo, …, GoodsInfos/GoodsInfo; ``GraphCode`` is
                 the QR text); ``legacy_fields`` also reads OFD CustomTag files, whose elements carry the same
                 names but point at page text objects;
``xml.xbrl_rail`` an XBRL instance with the 铁路电子客票 facts (ElectronicInvoiceRailwayETicketNumber, Fare, …);
``xml.labels``   any other XML whose leaf elements are named by the printed labels (发票号码, 价税合计 …) or by the
                 GB/T pinyin abbreviations (FPHM, JSHJ … [U: abbreviations from common vendor APIs, no sample]).
An XML file in none of these gets no ``structured`` data, a warning, and one ``PageContent`` (source ``XML``, no
boxes) with a ``name: text`` line per leaf element, so the text extractor can still try it.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from lxml import etree

from pipeline.config import PipelineSettings
from pipeline.readers.safexml import child, child_text, iter_local, local_name, parse_xml, text_of
from pipeline.text import normalize
from pipeline.types import FieldSource, PageContent, QrCode, ReadResult, SourceDocument, TextLine

STRUCTURED_FORMAT_KEY = "structured_format"
FORMATS = frozenset({"ofd", "xml.digital", "xml.legacy", "xml.xbrl_rail", "xml.labels"})
MAX_FALLBACK_LINES = 2000
_Element = etree._Element
ValueOf = Callable[[_Element], "str | None"]

# Legacy 税控 e-invoice XML and OFD CustomTag element names (DOMAIN §1.4 A, §5.2).
LEGACY_FIELDS = {
    "InvoiceCode": "invoice_code", "InvoiceNo": "invoice_number", "IssueDate": "issue_date",
    "InvoiceCheckCode": "check_code", "MachineNo": "machine_no",
    "BuyerName": "buyer_name", "BuyerTaxID": "buyer_tax_id", "BuyerAddrTel": "buyer_addr_tel",
    "BuyerFinancialAccount": "buyer_bank",
    "SellerName": "seller_name", "SellerTaxID": "seller_tax_id", "SellerAddrTel": "seller_addr_tel",
    "SellerFinancialAccount": "seller_bank",
    "TaxExclusiveTotalAmount": "amount_excl_tax", "TaxTotalAmount": "tax_amount",
    "TaxInclusiveTotalAmount": "total_incl_tax", "Note": "remark", "InvoiceClerk": "drawer", "Payee": "payee",
    "Checker": "reviewer", "GraphCode": "qr_text",
}
LEGACY_ITEM_FIELDS = {
    "Item": "name", "Specification": "spec", "MeasurementDimension": "unit", "Price": "price",
    "Quantity": "quantity", "Amount": "amount", "TaxScheme": "tax_rate", "TaxAmount": "tax_amount",
}

_DIGITAL_FIELDS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("Header", "EIid"), "invoice_number"),
    (("TaxSupervisionInfo", "InvoiceNumber"), "invoice_number"),
    (("TaxSupervisionInfo", "IssueTime"), "issue_date"),
    (("EInvoiceData", "BasicInformation", "RequestTime"), "issue_date"),
    (("EInvoiceData", "SellerInformation", "SellerIdNum"), "seller_tax_id"),
    (("EInvoiceData", "SellerInformation", "SellerName"), "seller_name"),
    (("EInvoiceData", "BuyerInformation", "BuyerIdNum"), "buyer_tax_id"),
    (("EInvoiceData", "BuyerInformation", "BuyerName"), "buyer_name"),
    (("EInvoiceData", "BasicInformation", "TotalAmWithoutTax"), "amount_excl_tax"),
    (("EInvoiceData", "BasicInformation", "TotalTaxAm"), "tax_amount"),
    (("EInvoiceData", "BasicInformation", "TotalTax-includedAmount"), "total_incl_tax"),
    (("EInvoiceData", "BasicInformation", "TotalTax-includedAmountInChinese"), "total_upper"),
    (("EInvoiceData", "BasicInformation", "Drawer"), "drawer"),
    (("EInvoiceData", "AdditionalInformation", "Remark"), "remark"),
    (("Header", "InherentLabel", "GeneralOrSpecialVAT", "LabelName"), "vat_label"),
)
_DIGITAL_JOINED = (  # two elements printed together as one field
    ("SellerInformation", ("SellerAddr", "SellerTelNum"), "seller_addr_tel"),
    ("SellerInformation", ("SellerBankName", "SellerBankAccNum"), "seller_bank"),
    ("BuyerInformation", ("BuyerAddr", "BuyerTelNum"), "buyer_addr_tel"),
    ("BuyerInformation", ("BuyerBankName", "BuyerBankAccNum"), "buyer_bank"),
)
_DIGITAL_ITEM_FIELDS = {
    "ItemName": "name", "SpecMod": "spec", "MeaUnits": "unit", "Quantity": "quantity", "UnPrice": "price",
    "Amount": "amount", "TaxRate": "tax_rate", "ComTaxAm": "tax_amount",
}

_RAIL_FIELDS = {
    "ElectronicInvoiceRailwayETicketNumber": "invoice_number", "DateOfIssue": "issue_date",
    "DepartureStation": "from_station", "DestinationStation": "to_station", "TrainNumber": "train_no",
    "SeatLevel": "seat_class", "Fare": "total_incl_tax", "ElectronicTicketNum": "e_ticket_no",
    "Name": "passenger_name", "TotalAmountExcludingTax": "amount_excl_tax", "TaxAmount": "tax_amount",
    "NameOfPurchaser": "buyer_name", "UnifiedSocialCreditCodeOfPurchaser": "buyer_tax_id",
    "TypeOfBusiness": "business_type",
}
_RAIL_MARKERS = ("ElectronicInvoiceRailwayETicketNumber", "DepartureStation", "TrainNumber")

# Printed labels (also the OFD CustomData names) and pinyin abbreviations → canonical keys.
LABEL_FIELDS = {
    "发票代码": "invoice_code", "发票号码": "invoice_number", "开票日期": "issue_date", "校验码": "check_code",
    "机器编号": "machine_no", "合计金额": "amount_excl_tax", "合计税额": "tax_amount", "价税合计": "total_incl_tax",
    "购买方名称": "buyer_name", "购买方纳税人识别号": "buyer_tax_id", "销售方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id", "备注": "remark", "开票人": "drawer",
}
_PINYIN_FIELDS = {
    "FPDM": "invoice_code", "FPHM": "invoice_number", "KPRQ": "issue_date", "JYM": "check_code", "JQBH": "machine_no",
    "GMFMC": "buyer_name", "GMFNSRSBH": "buyer_tax_id", "XSFMC": "seller_name", "XSFNSRSBH": "seller_tax_id",
    "HJJE": "amount_excl_tax", "HJSE": "tax_amount", "JSHJ": "total_incl_tax", "BZ": "remark", "KPR": "drawer",
}
_LABEL_ITEM_FIELDS = {
    "项目名称": "name", "货物或应税劳务、服务名称": "name", "规格型号": "spec", "单位": "unit", "数量": "quantity",
    "单价": "price", "金额": "amount", "税率": "tax_rate", "税额": "tax_amount",
    "XMMC": "name", "GGXH": "spec", "DW": "unit", "XMSL": "quantity", "XMDJ": "price", "XMJE": "amount",
    "SL": "tax_rate", "SE": "tax_amount",
}
_SPACES = re.compile(r"\s+")
_NORMALIZED_CHARS = re.compile("[\uff01-\uff5e\u3000\uffe5\u00a0]")  # what pipeline.text.normalize maps


def read_xml(doc: SourceDocument, settings: PipelineSettings | None = None) -> ReadResult:
    """Read one invoice XML file (see the module docstring)."""
    started = time.perf_counter()
    result = ReadResult(document=doc)
    root = parse_xml(doc.data, "XML file", result.warnings)
    fmt, fields = structured_from_xml(root)
    if fmt is not None:
        result.structured = {STRUCTURED_FORMAT_KEY: fmt, **fields}
        if fields.get("qr_text"):
            result.qr_codes.append(QrCode(text=fields["qr_text"], page=0))
    else:
        result.warnings.append("the XML file is not an invoice format we know (数电 EInvoice, legacy e-invoice "
                               "XML, rail XBRL); its elements are passed on as text")
        result.pages.append(PageContent(page_no=0, width=0.0, height=0.0, lines=_leaf_lines(root),
                                        source=FieldSource.XML))
    result.timings["parse"] = time.perf_counter() - started
    return result


def structured_from_xml(root: _Element) -> tuple[str | None, dict[str, str]]:
    """``(format, canonical fields)`` of a parsed invoice XML; ``(None, {})`` when no dialect matches."""
    name = local_name(root)
    if name == "EInvoice" or child(root, "EInvoiceData") is not None:
        return "xml.digital", digital_fields(root)
    if name == "xbrl":
        if any(next(iter_local(root, marker), None) is not None for marker in _RAIL_MARKERS):
            return "xml.xbrl_rail", rail_fields(root)
        return None, {}
    fields = legacy_fields(root, leaf_text)
    if _identifies(fields):
        return "xml.legacy", fields
    fields = label_fields(root)
    if _identifies(fields):
        return "xml.labels", fields
    return None, {}


def _identifies(fields: dict[str, str]) -> bool:
    return any(fields.get(k) for k in ("invoice_number", "total_incl_tax", "amount_excl_tax"))


def clean(value: str | None) -> str:
    """A value as stored in ``structured``: normalised, runs of whitespace (newlines too) collapsed."""
    if not value or value.isspace():
        return ""
    if _NORMALIZED_CHARS.search(value) is None:  # nothing for normalize() to map: collapsing is all it would do
        return " ".join(value.split())
    return _SPACES.sub(" ", normalize(value)).strip()


def leaf_text(el: _Element) -> str | None:
    """Text of a leaf element; ``None`` for elements with child elements (containers)."""
    if len(el) == 0:
        return (el.text or "").strip()
    if any(isinstance(c.tag, str) for c in el):
        return None
    return text_of(el)


def put_items(out: dict[str, str], items: list[dict[str, str]]) -> None:
    index = 0
    for item in items:
        if not any(item.values()):
            continue
        for key, value in item.items():
            if value:
                out[f"items.{index}.{key}"] = value
        index += 1


# ---------------------------------------------------------------- legacy 税控 XML / OFD tags

def legacy_fields(root: _Element, value_of: ValueOf) -> dict[str, str]:
    """Canonical fields from legacy-named elements; ``value_of`` gives an element's value (``None`` = container).

    Header fields: the first non-empty occurrence wins. Items: one per ``GoodsInfo``; item fields found outside
    any ``GoodsInfo`` (the flat layout of 数电 OFD tags) are paired by their order of appearance.
    """
    out: dict[str, str] = {}
    items: list[dict[str, str]] = []
    flat: dict[str, list[str]] = {}

    def walk(el: _Element) -> None:
        for c in el:
            name = local_name(c)
            if name == "GoodsInfo":
                items.append(_goods_info(c, value_of))
            elif name in LEGACY_FIELDS:
                value = clean(value_of(c))
                if value and LEGACY_FIELDS[name] not in out:
                    out[LEGACY_FIELDS[name]] = value
            elif name in LEGACY_ITEM_FIELDS:
                flat.setdefault(LEGACY_ITEM_FIELDS[name], []).append(clean(value_of(c)))
            elif name:
                walk(c)

    walk(root)
    if not items and flat:
        count = max(len(values) for values in flat.values())
        items = [{key: values[i] for key, values in flat.items() if i < len(values)} for i in range(count)]
    put_items(out, items)
    return out


def _goods_info(el: _Element, value_of: ValueOf) -> dict[str, str]:
    item: dict[str, str] = {}
    for node in el:
        key = LEGACY_ITEM_FIELDS.get(local_name(node))
        if key and not item.get(key):
            item[key] = clean(value_of(node))
    return item


# ---------------------------------------------------------------- 数电 EInvoice

def digital_fields(root: _Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for path, key in _DIGITAL_FIELDS:
        value = clean(child_text(root, *path))
        if value and key not in out:
            out[key] = value
    data = child(root, "EInvoiceData")
    for section, parts, key in _DIGITAL_JOINED:
        joined = " ".join(clean(child_text(data, section, part)) for part in parts).strip()
        if joined:
            out[key] = joined
    if out.get("vat_label"):
        kind_label = clean(child_text(root, "Header", "InherentLabel", "EInvoiceType", "LabelName")) or "电子发票"
        out["title"] = f"{kind_label}({out['vat_label']})"
    blue = clean(child_text(root, "Header", "InherentLabel", "InIssuType", "LabelCode"))
    if blue.upper() == "N" or (data is not None and child(data, "SpecificInformation", "RedEInvoice") is not None):
        out["red_letter"] = "true"
    items = []
    for line in iter_local(root, "IssuItemInformation"):
        items.append({key: clean(child_text(line, name)) for name, key in _DIGITAL_ITEM_FIELDS.items()})
    put_items(out, items)
    return out


# ---------------------------------------------------------------- rail XBRL

def rail_fields(root: _Element) -> dict[str, str]:
    out: dict[str, str] = {"title": "电子发票(铁路电子客票)"}
    facts: dict[str, str] = {}
    for el in root.iter():
        name = local_name(el)
        if name and name not in facts:
            value = leaf_text(el)
            if value:
                facts[name] = clean(value)
    for name, key in _RAIL_FIELDS.items():
        if facts.get(name):
            out[key] = facts[name]
    for key in ("from_station", "to_station"):
        if out.get(key, "").endswith("站") and len(out[key]) > 1:
            out[key] = out[key][:-1]
    if facts.get("TravelDate"):
        out["depart_datetime"] = f"{facts['TravelDate']} {facts.get('DepartureTime', '')}".strip()
    carriage, seat = facts.get("Carriage", ""), facts.get("Seat", "")
    if carriage or seat:
        out["seat_no"] = seat if "车" in seat else f"{carriage}车{seat}号" if carriage and seat else carriage or seat
    return out


# ---------------------------------------------------------------- label / pinyin dialects

def label_fields(root: _Element) -> dict[str, str]:
    out: dict[str, str] = {}
    items: dict[int, dict[str, str]] = {}
    order: list[int] = []
    for el in root.iter():
        name = local_name(el)
        value = leaf_text(el) if name else None
        if not value:
            continue
        key_name = name.upper().replace("_", "") if name.isascii() else name
        header_key = LABEL_FIELDS.get(key_name) or _PINYIN_FIELDS.get(key_name)
        item_key = _LABEL_ITEM_FIELDS.get(key_name)
        if header_key and header_key not in out:
            out[header_key] = clean(value)
        elif item_key:
            parent = el.getparent()
            slot = id(parent)
            if slot not in items:
                items[slot] = {}
                order.append(slot)
            items[slot].setdefault(item_key, clean(value))
    put_items(out, [items[slot] for slot in order if "name" in items[slot]])
    return out


def _leaf_lines(root: _Element) -> list[TextLine]:
    lines: list[TextLine] = []
    for el in root.iter():
        name = local_name(el)
        value = leaf_text(el) if name else None
        if value:
            lines.append(TextLine(text=f"{name}: {clean(value)}", page=0))
            if len(lines) >= MAX_FALLBACK_LINES:
                break
    return lines


__all__ = [
    "FORMATS", "LABEL_FIELDS", "LEGACY_FIELDS", "LEGACY_ITEM_FIELDS", "STRUCTURED_FORMAT_KEY", "clean",
    "digital_fields", "label_fields", "leaf_text", "legacy_fields", "put_items", "rail_fields", "read_xml",
    "structured_from_xml",
]
