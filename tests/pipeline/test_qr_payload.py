import dataclasses
import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.qr_payload import QrPayload, parse_invoice_qr
from pipeline.types import InvoiceKind as K

D = Decimal

# (text, type, code, number, amount, date, check code, checksum, kind, tax-inclusive)
EXAMPLES = [
    ("01,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",
     "10", "033002000211", "83089647", "510.68", date(2020, 7, 23), "16197833567414507415", "0941",
     K.VAT_E_NORMAL, False),
    ("01,10,050001700111,12235358,10000.00,20200805,16630282980991510014,7257",
     "10", "050001700111", "12235358", "10000.00", date(2020, 8, 5), "16630282980991510014", "7257",
     K.VAT_E_NORMAL, False),
    ("01,10,011001600211,25236205,33.96,20170701,70438474151372413936,AD3C,",
     "10", "011001600211", "25236205", "33.96", date(2017, 7, 1), "70438474151372413936", "AD3C",
     K.VAT_E_NORMAL, False),
    ("01,31,,26442000005310626521,31605.00,20260514,,",
     "31", None, "26442000005310626521", "31605.00", date(2026, 5, 14), None, None, K.DIGITAL_SPECIAL, True),
    ("01,32,,26427000000316294884,100.76,20260330,,5F98",
     "32", None, "26427000000316294884", "100.76", date(2026, 3, 30), None, "5F98", K.DIGITAL_NORMAL, True),
    ("01,32,,24312000000136634917,0.01,20240514,,1DD6",
     "32", None, "24312000000136634917", "0.01", date(2024, 5, 14), None, "1DD6", K.DIGITAL_NORMAL, True),
    ("01,31,,24312000000358032546,633.00,20241118,,16C0",
     "31", None, "24312000000358032546", "633.00", date(2024, 11, 18), None, "16C0", K.DIGITAL_SPECIAL, True),
    ("01,51,,26339132621000219582,56.00,20260423,,219a",
     "51", None, "26339132621000219582", "56.00", date(2026, 4, 23), None, "219a", K.RAIL_E_TICKET, True),
    # legacy 专票 (10-digit code, empty 校验码) with an amount lacking decimals
    ("01,01,3200192130,01234567,300,20190101,,ABCD,",
     "01", "3200192130", "01234567", "300.00", date(2019, 1, 1), None, "ABCD", K.VAT_SPECIAL, False),
]


@pytest.mark.parametrize(("text", "type_code", "code", "number", "amount", "issued", "check", "checksum", "kind",
                          "inclusive"), EXAMPLES)
def test_parse_examples(text, type_code, code, number, amount, issued, check, checksum, kind, inclusive):
    q = parse_invoice_qr(text)
    assert q is not None
    assert (q.raw, q.version, q.type_code, q.invoice_code, q.invoice_number) == (text, "01", type_code, code, number)
    assert q.amount == D(amount) and q.amount.as_tuple().exponent == -2
    assert (q.issue_date, q.check_code, q.checksum) == (issued, check, checksum)
    assert q.kind == kind
    assert q.amount_is_tax_inclusive is inclusive
    assert q.check_code_last6 == (check[-6:] if check else None)


def test_check_code_last6():
    q = parse_invoice_qr(EXAMPLES[0][0])
    assert q.check_code_last6 == "507415"


def test_payload_is_frozen():
    q = parse_invoice_qr(EXAMPLES[0][0])
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.amount = D("1")  # type: ignore[misc]
    assert isinstance(q, QrPayload)


def test_unknown_type_with_20_digit_number_is_tax_inclusive():
    q = parse_invoice_qr("01,33,,26442000005310626521,31605.00,20260514,,")
    assert q is not None and q.kind is None and q.amount_is_tax_inclusive


@pytest.mark.parametrize("text", [
    "\ufeff01,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",
    "  01,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,\n",
    "01，10，033002000211，83089647，510.68，20200723，16197833567414507415，0941，",
    "01, 10, 033002000211, 83089647, 510.68, 20200723, 16197833567414507415, 0941",
    "０１,１０,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",
    "01,10,033002000211,83089647,510.68,20200723,16197833567414507415",  # 校验位 missing
])
def test_tolerated_variants(text):
    q = parse_invoice_qr(text)
    assert q is not None
    assert (q.invoice_code, q.invoice_number, q.amount, q.issue_date) == (
        "033002000211", "83089647", D("510.68"), date(2020, 7, 23))


def test_dashed_date_seen_on_a_real_digital_invoice():
    q = parse_invoice_qr("01,32,,25127000000442340624,19.04,2025-11-05,,")
    assert q is not None and q.issue_date == date(2025, 11, 5) and q.kind == K.DIGITAL_NORMAL


def test_type_20_seen_on_a_real_e_special_invoice():
    q = parse_invoice_qr("01,20,052002100113,00008006,24519.05,20220505,18001801513030862041,88CD,")
    assert q is not None and q.kind == K.VAT_E_SPECIAL and not q.amount_is_tax_inclusive


def test_negative_amount_for_red_invoices():
    q = parse_invoice_qr("01,32,,26427000000316294884,-100.76,20260330,,")
    assert q is not None and q.amount == D("-100.76")


@pytest.mark.parametrize("text", [
    None, "", "   ", "garbage", "01", ",,,,,,,",
    "https://bcfp.shenzhen.chinatax.gov.cn/verify/scan?hash=00&bill_num=12345678&total_amount=100",
    "http://example.com/a,b,c,d,e,f,g,h",
    "02,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",  # version
    "01,1,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",  # type not 2 digits
    "01,AB,033002000211,83089647,510.68,20200723,16197833567414507415,0941,",
    "01,10,03300200021,83089647,510.68,20200723,16197833567414507415,0941,",  # 11-digit code
    "01,10,033002000211,8308964,510.68,20200723,16197833567414507415,0941,",  # 7-digit number
    "01,10,033002000211,00000000,510.68,20200723,16197833567414507415,0941,",  # all-zero number
    "01,10,033002000211,26427000000316294884,510.68,20200723,,0941,",  # code with 20-digit number
    "01,32,,83089647,100.76,20260330,,5F98",  # no code with 8-digit number
    "01,32,,2642700000031629488X,100.76,20260330,,5F98",
    "01,32,,26427000000316294884,nan,20260330,,5F98",
    "01,32,,26427000000316294884,NaN,20260330,,5F98",
    "01,32,,26427000000316294884,inf,20260330,,5F98",
    "01,32,,26427000000316294884,-Infinity,20260330,,5F98",
    "01,32,,26427000000316294884,1e5,20260330,,5F98",
    "01,32,,26427000000316294884,1E+2,20260330,,5F98",
    "01,32,,26427000000316294884,100.765,20260330,,5F98",
    "01,32,,26427000000316294884,,20260330,,5F98",
    "01,32,,26427000000316294884,1 00.76,20260330,,5F98",
    "01,32,,26427000000316294884,100.76,20260230,,5F98",  # 30 February
    "01,32,,26427000000316294884,100.76,2026033,,5F98",
    "01,32,,26427000000316294884,100.76,2026-0330,,5F98",
    "01,32,,26427000000316294884,100.76,2026/03/30,,5F98",
    "01,32,,26427000000316294884,100.76,20261301,,5F98",
    "01,32,,26427000000316294884,100.76,20260330,,5F98,extra",
    "01,32,,26427000000316294884,100.76,20260330,,5F-98",
    "01,32,,26427000000316294884,100.76",
])
def test_rejects(text):
    assert parse_invoice_qr(text) is None


# ---------------------------------------------------------------- real public documents (skipped when absent)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
REAL_QRS = sorted(
    (p.name, t["qr"], t.get("fields", {}))
    for p in (REAL.glob("**/*.truth.json") if REAL.is_dir() else [])
    for t in [json.loads(p.read_text(encoding="utf-8"))]
    if (t.get("qr") or {}).get("qr_raw")
)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_QRS, reason="../shared/data/real is absent")
@pytest.mark.parametrize(("name", "qr", "fields"), REAL_QRS, ids=[r[0] for r in REAL_QRS])
def test_real_qr_payloads(name, qr, fields):
    q = parse_invoice_qr(qr["qr_raw"])
    assert q is not None
    assert q.invoice_number == qr["invoice_number"] == fields.get("invoice_number", q.invoice_number)
    assert q.invoice_code == (qr.get("invoice_code") or None)
    assert q.amount == D(qr["qr_amount"])
    assert q.issue_date.isoformat() == qr["issue_date"]
    assert q.check_code == (qr.get("check_code") or None)
    assert q.kind is not None
    assert q.amount_is_tax_inclusive is (len(q.invoice_number) == 20)
