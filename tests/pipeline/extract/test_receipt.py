"""English receipts (InvoiceKind.RECEIPT): company, address, date, total and currency from OCR-like boxes.

Layouts are written here in the shape the OCR reader hands over (one box per printed phrase, pixel boxes).
The last test reads the public SROIE receipts in ../shared/data/real/sroie (OCR: slow) against their truth.
"""

from __future__ import annotations

import json
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.extract import extract_invoices
from pipeline.extract.layout import Layout
from pipeline.extract.receipt import extract_receipt, looks_like_receipt
from pipeline.types import FieldSource, Invoice, InvoiceKind, TextLine

from .layouts import read_result

SROIE = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real" / "sroie"
H = 22  # text height in pixels


def boxes(*rows: str | tuple[str, ...], x: float = 40, right: float = 420) -> tuple:
    """One row per argument, top to bottom; a tuple row puts its last text right-aligned (a label and its amount)."""
    out = []
    for k, row in enumerate(rows):
        y = 30 + 30 * k
        texts = (row,) if isinstance(row, str) else row
        for j, text in enumerate(texts):
            if j == len(texts) - 1 and j > 0:
                out.append((text, (right, y, right + 12 * len(text), y + H), 0.98))
            else:
                x0 = x + 160 * j
                out.append((text, (x0, y, x0 + 11 * len(text), y + H), 0.98))
    return tuple(out)


def receipt(*rows) -> Invoice:
    layout = Layout([TextLine(t, b, c) for t, b, c in boxes(*rows)], 600, 40 + 30 * len(rows))
    inv = Invoice(InvoiceKind.RECEIPT)
    extract_receipt(layout, inv, FieldSource.OCR)
    return inv


SHOP = (
    "tan woon yann",  # annotator's handwriting above the print
    "YONGFATT ENTERPRISE",
    "(JM0517726)",
    "NO.122,124. JALAN DEDAP 13",
    "81100 JOHOR BAHRU",
    "TEL 07-3523888",
    "GST ID:000849813504",
    "SIMPLIFIED TAX INVOICE",
    ("Doc No", "CS00031663"),
    ("Date", "25/12/2018"),
    ("ELEGANT SCH TR BAG", "80.91"),
    ("Total Sales (Excluding GST)", "80.91"),
    ("Total GST", "0.00"),
    ("Rounding", "-0.01"),
    ("Total Sales (Inclusive of GST) :", "80.91"),
    ("Total After Rounding", "80.90"),
    ("CASH:", "100.00"),
    ("CHANGE", "19.10"),
)


def test_company_address_date_total_of_a_typical_receipt():
    inv = receipt(*SHOP)
    assert inv.get("seller_name") == "YONGFATT ENTERPRISE"
    assert inv.get("seller_address") == "NO.122,124. JALAN DEDAP 13 81100 JOHOR BAHRU"
    assert inv.get("issue_date") == date(2018, 12, 25)
    assert inv.get("total_incl_tax") == Decimal("80.90")
    assert inv.fields["total_incl_tax"].source == FieldSource.OCR and inv.fields["total_incl_tax"].confidence == 0.98


def test_a_receipt_is_told_apart_from_a_chinese_invoice():
    assert looks_like_receipt(Layout([TextLine(t, b) for t, b, _ in boxes(*SHOP)]))
    chinese = boxes("电子发票（普通发票）", "发票号码：25322000000041736529", "购买方信息 名称：武汉市车城物流有限公司",
                    ("*餐饮服务*餐费", "452.83"), ("合计", "¥452.83"), "Total 480.00")
    assert not looks_like_receipt(Layout([TextLine(t, b) for t, b, _ in chinese]))


@pytest.mark.parametrize("header, expected", [
    (("BREWERY TAP", "Owner by Castle Blue S/B", "(1035693-T)"), "Owner by Castle Blue S/B"),
    (("KIKU JAPANESE RESTAURANT", "TK DIVISION KITCHEN SDN BHD", "1202152-P"), "TK DIVISION KITCHEN SDN BHD"),
    (("POPULAR BOOK", "CO. (M) SDN BHD", "(Co. No. 113825-W)"), "POPULAR BOOK CO. (M) SDN BHD"),
    (("SWC", "ENTERPRISE", "SDN", "BHD", "(1125830-V)"), "SWC ENTERPRISE SDN BHD"),
    (("GARDENIA BAKERIES (KL) SDN BHD (139386 X)",), "GARDENIA BAKERIES (KL) SDN BHD"),
    (("99 SPEED MART 5/B (519537-X)",), "99 SPEED MART S/B"),
    (("MR.D.I.Y. (M) SDN BHD",), "MR. D.I.Y. (M) SDN BHD"),
    (("BOOK TA _K (TAMAN DAYA) SDN BHD",), "BOOK TA .K (TAMAN DAYA) SDN BHD"),
    (("31803057", "RESTORAN WAN SHENG", "002043319-W"), "RESTORAN WAN SHENG"),
])
def test_company_line(header, expected):
    inv = receipt(*header, "TEL: 03-1234 5678", ("Date:", "01/02/2018"), ("TOTAL", "9.00"))
    assert inv.get("seller_name") == expected


def test_an_owner_line_introduced_by_owned_by_is_not_the_shop_and_glued_words_are_split_again():
    inv = receipt("SANYUSTATIONERYSHOP", "NO. 31G&33G, JALAN SETIA INDAH X", "40170 SETIA ALAM",
                  "GST ID No: 001531760640", "Owned By :", "SANYU SUPPLY SDN BHD (1135772-K)",
                  ("Final Total", "8.70"), "Follow us in Facebook: Sanyu.Stationery")
    assert inv.get("seller_name") == "SANYU STATIONERY SHOP"
    assert receipt("QWERTYUIOPASDF", ("TOTAL", "1.00")).get("seller_name") == "QWERTYUIOPASDF"  # no known words


@pytest.mark.parametrize("printed, expected", [
    ("25/12/2018 8:13:39 PM", date(2018, 12, 25)),
    (":20-06-2018 13:11:45", date(2018, 6, 20)),
    ("18-10-17", date(2017, 10, 18)),
    ("10 Mar 2018 18:24", date(2018, 3, 10)),
    ("Oct 3, 2016 12:16:25 PM", date(2016, 10, 3)),
    ("2018-03-10", date(2018, 3, 10)),
    ("12/25/2018", date(2018, 12, 25)),  # month first when the day cannot be a month
])
def test_date_formats(printed, expected):
    assert receipt("ACME TRADING SDN BHD", ("Date", printed), ("TOTAL", "1.00")).get("issue_date") == expected


def test_the_date_after_a_date_label_beats_an_earlier_number():
    inv = receipt("ACME TRADING SDN BHD", "INV 01/02/2019", ("Date:", "05/06/2018"), ("TOTAL", "1.00"))
    assert inv.get("issue_date") == date(2018, 6, 5)


@pytest.mark.parametrize("rows, expected", [
    ((("Total", "9.00"), ("Rounding Adjustment", "0.00"), ("Round d Total (RM):", "9.00")), "9.00"),
    ((("Total Sales (Inclusive GST) RM", "22.91"), ("Rounding Adjustment RM", "-.01"), ("Rounding RM", "22.90"),
      ("CASH RM", "50.00"), ("CHANGE RM", "27.10")), "22.90"),
    ((("SubTotal", "30.02"), ("Total Incl. GST@6%", "31.82"), ("CASH", "50.00")), "31.82"),
    ((("Total Amount: $8.20",), ("GST @6%: $0.46",), ("Nett Total: $8.20",)), "8.20"),
    ((("Total 6% supplies (Inc. GST):", "38.05"), ("Total 0% supplies:", "2.13"), ("Total Payable:", "40.18")),
     "40.18"),
    ((("TOTAL QTY: 8",), ("Total (Excluding GST):", "9.60"), ("TOTAL:", "9.60"), ("CASH:", "10.00")), "9.60"),
])
def test_total_label_priority(rows, expected):
    assert receipt("ACME TRADING SDN BHD", ("Date", "01/02/2018"), *rows).get("total_incl_tax") == Decimal(expected)


def test_no_total_label_no_total_and_currency_only_when_unambiguous():
    inv = receipt("ACME TRADING SDN BHD", ("CASH", "10.00"), ("CHANGE", "1.00"), "THANK YOU")
    assert "total_incl_tax" not in inv.fields and "currency" not in inv.fields
    assert receipt("ACME TRADING SDN BHD", ("Total (RM)", "9.00")).get("currency") == "MYR"
    assert receipt("ACME TRADING SDN BHD", ("Total", "$9.00")).get("currency") is None


def test_receipt_through_extract_invoices():
    [inv] = extract_invoices(read_result((boxes(*SHOP), 600, 600)))
    assert inv.kind == InvoiceKind.RECEIPT
    assert inv.get("seller_name") == "YONGFATT ENTERPRISE" and inv.get("total_incl_tax") == Decimal("80.90")
    assert inv.issues == []


_MONTHS = {m: i for i, m in enumerate(["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"], 1)}


def truth_date(text: str) -> date | None:
    """A SROIE truth date as printed (``25/12/2018``, ``18-10-17``, ``10 MAR 2018``, ``OCT 3, 2016``)."""
    s = text.strip().upper()
    if m := re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})", s):
        d, mo, y = map(int, m.groups())
        return date(y + 2000 if y < 100 else y, mo, d)
    if m := re.fullmatch(r"(\d{1,2})\s+([A-Z]{3})[A-Z]*\s+(\d{4})", s):
        return date(int(m[3]), _MONTHS[m[2]], int(m[1]))
    if m := re.fullmatch(r"([A-Z]{3})[A-Z]*\s+(\d{1,2}),?\s+(\d{4})", s):
        return date(int(m[3]), _MONTHS[m[1]], int(m[2]))
    return None


def test_truth_date_formats():
    assert truth_date("25/12/2018") == date(2018, 12, 25) and truth_date("18-10-17") == date(2017, 10, 18)
    assert truth_date("10 MAR 2018") == date(2018, 3, 10) and truth_date("OCT 3, 2016") == date(2016, 10, 3)


@pytest.mark.slow
@pytest.mark.real_data
@pytest.mark.skipif(not SROIE.is_dir(), reason="../shared/data/real/sroie is not available")
def test_sroie_receipts_company_date_total_at_least_90_percent():
    from pipeline.runner import extract_file

    hits = {"company": [], "date": [], "total": []}
    for image in sorted(SROIE.glob("*.jpg")):
        truth = json.loads(image.with_suffix(".truth.json").read_text(encoding="utf-8"))
        result = extract_file(image)
        inv = result.invoices[0] if result.invoices else Invoice(InvoiceKind.UNKNOWN)
        hits["company"].append((inv.get("seller_name") or "").upper() == " ".join(truth["company"].split()))
        hits["date"].append(inv.get("issue_date") == truth_date(truth["date"]))
        total = re.sub(r"[^\d.]", "", truth["total"])
        if total:
            hits["total"].append(inv.get("total_incl_tax") == Decimal(total))
    for key, marks in hits.items():
        assert sum(marks) >= 0.9 * len(marks), f"{key}: {sum(marks)}/{len(marks)}"
