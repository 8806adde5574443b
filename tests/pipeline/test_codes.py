import json
from pathlib import Path

import pytest

from pipeline.codes import (
    code_in_region, invoice_type_from_code, is_digital_number, kind_from_code, kind_from_qr_type, kind_from_title,
    region_of_code, region_of_digital_number, region_of_title, split_digital_number,
)
from pipeline.types import InvoiceKind as K


@pytest.mark.parametrize(("code", "fplx"), [
    ("011001900311", "10"), ("044001800111", "10"), ("032002100204", "04"), ("3200192130", "01"),
    ("4403042140", "01"), ("1100062620", "04"), ("1100063720", "02"), ("011002000413", "08"),
    ("011002000412", "14"), ("011002000406", "11"), ("011002000417", "15"), ("132001920000", "03"),
    ("144002288010", "99"),
    # the JS's hard-coded specials, other branches
    ("144031539110", "10"), ("131001570151", "10"), ("133011501118", "10"), ("111001571071", "10"),
    ("011002000405", "04"), ("011002000407", "11"), ("011002000499", "99"), ("3200192530", "01"),
    ("3200192330", "04"), ("3200192230", "02"), ("3200192930", "99"),
])
def test_invoice_type_from_code(code, fplx):
    assert invoice_type_from_code(code) == fplx


@pytest.mark.parametrize("code", ["", None, "01100190031", "0110019003111", "01100190031A", "15100187Z005",
                                  "０１１００１９００３１１", "abcdefghij"])
def test_invoice_type_from_code_malformed(code):
    assert invoice_type_from_code(code) == "99"


@pytest.mark.parametrize(("code", "kind"), [
    ("032002100204", K.VAT_NORMAL), ("044001800105", K.VAT_NORMAL), ("044001800106", K.VAT_ROLL),
    ("044001800107", K.VAT_ROLL), ("011001900311", K.VAT_E_NORMAL), ("011002000412", K.VAT_E_TOLL),
    ("011002000413", K.VAT_E_SPECIAL), ("033002000211", K.VAT_E_NORMAL),
    ("3200192130", K.VAT_SPECIAL), ("4403042140", K.VAT_SPECIAL), ("3200192530", K.VAT_SPECIAL),
    ("1100062620", K.VAT_NORMAL), ("3200192330", K.VAT_NORMAL), ("3200192930", None),
    (" 050001700111 ", K.VAT_E_NORMAL),
    # not decided by the code
    ("011002000417", None),  # 二手车
    ("1100063720", None),  # 货运专票
    ("150001583910", None), ("153001864058", None), ("144002288010", None),  # taxi / 定额 / local
    ("144031539110", None),  # a JS special, but a local code
    ("132001920000", None),  # 机动车
    ("", None), (None, None), ("15100187Z005", None), ("0110019603", K.VAT_NORMAL),
])
def test_kind_from_code(code, kind):
    assert kind_from_code(code) == kind


@pytest.mark.parametrize(("type_code", "kind"), [
    ("01", K.VAT_SPECIAL), ("04", K.VAT_NORMAL), ("08", K.VAT_E_SPECIAL), ("10", K.VAT_E_NORMAL),
    ("11", K.VAT_ROLL), ("14", K.VAT_E_TOLL), ("31", K.DIGITAL_SPECIAL), ("32", K.DIGITAL_NORMAL),
    ("51", K.RAIL_E_TICKET), ("61", K.AIR_E_ITINERARY), ("20", K.VAT_E_SPECIAL),
    ("02", None), ("03", None), ("15", None), ("83", None), ("99", None), ("1", None), ("", None), (None, None),
])
def test_kind_from_qr_type(type_code, kind):
    assert kind_from_qr_type(type_code) == kind


TITLES = [
    ("增值税专用发票", K.VAT_SPECIAL),
    ("增值税普通发票", K.VAT_NORMAL),
    ("增值税普通发票(卷式)", K.VAT_ROLL),
    ("增值税普通发票（卷票）", K.VAT_ROLL),
    ("增值税电子普通发票", K.VAT_E_NORMAL),
    ("增值税电子普通发票(通行费)", K.VAT_E_TOLL),
    ("增值税电子专用发票", K.VAT_E_SPECIAL),
    ("电子发票（增值税专用发票）", K.DIGITAL_SPECIAL),
    ("电子发票(增值税专用发票)", K.DIGITAL_SPECIAL),
    ("电子发票（普通发票）", K.DIGITAL_NORMAL),
    ("电子发票（铁路电子客票）", K.RAIL_E_TICKET),
    ("电子发票（航空运输电子客票行程单）", K.AIR_E_ITINERARY),
    ("航空运输电子客票行程单", K.AIR_PAPER_ITINERARY),
    ("云南通用定额发票", K.QUOTA),
    ("定额发票", K.QUOTA),
    ("出租汽车发票", K.TAXI),
    ("北京市出租汽车专用发票", K.TAXI),
]


@pytest.mark.parametrize(("title", "kind"), TITLES)
def test_kind_from_title(title, kind):
    assert kind_from_title(title) == kind


@pytest.mark.parametrize(("title", "kind"), TITLES)
@pytest.mark.parametrize("prefix", ["", "天津", "北京市", "广东"])
@pytest.mark.parametrize("suffix", ["", "发票联", "抵扣联", " 记账联", " No 12345678"])
def test_kind_from_title_with_province_and_copy_marks(title, kind, prefix, suffix):
    assert kind_from_title(prefix + title + suffix) == kind


@pytest.mark.parametrize(("title", "kind"), [
    ("天津增值税电子普通发票", K.VAT_E_NORMAL),
    ("增 值 税 专 用 发 票", K.VAT_SPECIAL),
    ("増値稅专用發票", K.VAT_SPECIAL),  # Japanese / traditional look-alikes
    ("增值税电子普通发栗", K.VAT_E_NORMAL),  # one misread char
    ("增值税用发票", K.VAT_SPECIAL),  # one dropped char
    ("子发票(增值税专用发票)", K.DIGITAL_SPECIAL),  # a dropped char must not demote 数电 to legacy
    ("电子发票(普通发栗)", K.DIGITAL_NORMAL),
    ("ⓧ电子发票《铁路电子客票》", K.RAIL_E_TICKET),
    ("增值税普通发票 发票联", K.VAT_NORMAL),  # 发票联 is not 卷票
    ("增值税普通发票(卷式) 发票联", K.VAT_ROLL),
])
def test_kind_from_title_ocr_noise(title, kind):
    assert kind_from_title(title) == kind


@pytest.mark.parametrize("title", ["", None, "发票", "普通发票", "收据", "Invoice", "行程单", "购物小票"])
def test_kind_from_title_unknown(title):
    assert kind_from_title(title) is None


def test_digital_number():
    n = "25442000000012341234"
    assert is_digital_number(n)
    assert region_of_digital_number(n) == "44"
    parts = split_digital_number(n)
    assert (parts.year, parts.region, parts.channel, parts.sequence) == (2025, "44", "2", "000000012341234")
    assert region_of_digital_number("26329116804002389322") == "32"


@pytest.mark.parametrize("n", ["", None, "12345678", "2544200000001234123", "254420000000123412345",
                               "2544200000001234123X", "２５４４２０００００００１２３４１２３４"])
def test_not_digital_number(n):
    assert not is_digital_number(n)
    with pytest.raises(ValueError):
        region_of_digital_number(n)


# ---------------------------------------------------------------- real public documents (skipped when absent)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
REAL_CODES = sorted(
    (p.name, f["invoice_code"], qr_type)
    for p in (REAL.glob("**/*.truth.json") if REAL.is_dir() else [])
    for t in [json.loads(p.read_text(encoding="utf-8"))]
    for f in [t.get("fields", {})]
    for qr_type in [(t.get("qr") or {}).get("qr_type_code")]
    if f.get("invoice_code") and qr_type
)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_CODES, reason="../shared/data/real is absent")
@pytest.mark.parametrize(("name", "code", "qr_type"), REAL_CODES, ids=[r[0] for r in REAL_CODES])
def test_real_code_agrees_with_qr_type(name, code, qr_type):
    by_code, by_qr = kind_from_code(code), kind_from_qr_type(qr_type)
    assert by_code is not None and by_qr is not None
    # The QR type of a toll invoice is the generic 电子普票 one; the code is more specific.
    assert by_code == by_qr or (by_code, by_qr) == (K.VAT_E_TOLL, K.VAT_E_NORMAL)


REAL_TITLES = sorted(
    (p.name, title, f.get("invoice_code"))
    for p in (REAL.glob("**/*.truth.json") if REAL.is_dir() else [])
    for f in [json.loads(p.read_text(encoding="utf-8")).get("fields", {})]
    for title in [f.get("invoice_title") or f.get("invoice_type")]
    if title
)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_TITLES, reason="../shared/data/real is absent")
@pytest.mark.parametrize(("name", "title", "code"), REAL_TITLES, ids=[r[0] for r in REAL_TITLES])
def test_real_titles(name, title, code):
    by_title = kind_from_title(title)
    assert by_title is not None
    by_code = kind_from_code(code) if code else None
    if by_code is not None:
        assert by_title == by_code or (by_code, by_title) == (K.VAT_E_TOLL, K.VAT_E_NORMAL)


def test_province_of_a_vat_code_and_of_a_printed_title():
    assert region_of_code("032002069111") == "32" and region_of_code("4400191130") == "44"
    assert region_of_code("111025345075") is None and region_of_code("") is None  # a local code, nothing
    assert region_of_title("江苏增值税电子普通发票") == "32" and region_of_title("深圳增值税电子普通发票") == "44"
    assert region_of_title("增值税电子普通发票") is None


@pytest.mark.parametrize(("code", "region", "fixed"), [
    ("052002069111", "32", "032002069111"),  # a blurred 3 read 5 (seed-123 photo no. 024)
    ("3500191130", "33", "3300191130"),  # 10 digits: the region comes first
    ("032002069111", "32", None),  # already the title's province
    ("054002069111", "32", None),  # two digits off: not a misread the title can settle
    ("111025345075", "11", None),  # a local code has no province digits
    ("05200206911", "32", None),  # not a code at all
])
def test_a_code_one_province_digit_off_the_title_is_set_to_the_title(code, region, fixed):
    assert code_in_region(code, region) == fixed
