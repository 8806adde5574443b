import json
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.money import fmt_amount, from_upper, parse_amount, parse_rate, tax_from_inclusive, to_upper

D = Decimal

# ---------------------------------------------------------------- 小写

@pytest.mark.parametrize(("text", "expected"), [
    ("¥1,234.50", D("1234.50")),
    ("￥ 46.62", D("46.62")),
    ("-30.99", D("-30.99")),
    ("¥-30.99", D("-30.99")),
    ("300", D("300.00")),
    ("(小写)¥52.70", D("52.70")),
    ("（小写）￥５２．７０", D("52.70")),
    ("12,345,678.9", D("12345678.90")),
    ("510.679612", D("510.68")),  # quantized half-up to fen
    ("0.005", D("0.01")),
    ("300元", D("300.00")),
])
def test_parse_amount(text, expected):
    value = parse_amount(text)
    assert value == expected
    assert value.as_tuple().exponent == -2


@pytest.mark.parametrize("text", [
    None, "", "   ", "nan", "NaN", "inf", "-Infinity", "1e5", "1E5", "1.2e-3", "abc", "12a", "1,23", "1.2.3",
    "--5", "¥", "伍佰圆整",
])
def test_parse_amount_rejects(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize(("value", "expected"), [
    (D("106"), "106.00"), (D("0"), "0.00"), (D("-0"), "0.00"), (D("1234.5"), "1234.50"),
    (D("-30.99"), "-30.99"), (D("0.125"), "0.13"), (D("1E+3"), "1000.00"),
])
def test_fmt_amount(value, expected):
    assert fmt_amount(value) == expected


# ---------------------------------------------------------------- 大写: generated text (DOMAIN §4.2, §4.3)

# (amount, digital 数电 style, legacy 税控 style)
STYLE_VECTORS = [
    ("3550.70", "叁仟伍佰伍拾圆柒角整", "叁仟伍佰伍拾圆零柒角整"),
    ("4510.80", "肆仟伍佰壹拾圆捌角整", "肆仟伍佰壹拾圆零捌角整"),
    ("960.50", "玖佰陆拾圆伍角整", "玖佰陆拾圆零伍角整"),
    ("60.53", "陆拾圆伍角叁分", "陆拾圆零伍角叁分"),
    ("10.70", "壹拾圆柒角整", "壹拾圆零柒角整"),
    # printed identically by both
    ("101.73", "壹佰零壹圆柒角叁分", "壹佰零壹圆柒角叁分"),
    ("226548.43", "贰拾贰万陆仟伍佰肆拾捌圆肆角叁分", "贰拾贰万陆仟伍佰肆拾捌圆肆角叁分"),
    ("100000", "壹拾万圆整", "壹拾万圆整"),
    ("17657.07", "壹万柒仟陆佰伍拾柒圆零柒分", "壹万柒仟陆佰伍拾柒圆零柒分"),
    # PBOC rule examples, written with 圆 and 整 after 角 as invoices do
    ("1409.50", "壹仟肆佰零玖圆伍角整", "壹仟肆佰零玖圆伍角整"),
    ("6007.14", "陆仟零柒圆壹角肆分", "陆仟零柒圆壹角肆分"),
    ("1680.32", "壹仟陆佰捌拾圆叁角贰分", "壹仟陆佰捌拾圆零叁角贰分"),
    ("107000.53", "壹拾万柒仟圆伍角叁分", "壹拾万柒仟圆零伍角叁分"),
    ("16409.02", "壹万陆仟肆佰零玖圆零贰分", "壹万陆仟肆佰零玖圆零贰分"),
    ("325.04", "叁佰贰拾伍圆零肆分", "叁佰贰拾伍圆零肆分"),
    # §4.3 algorithm vectors
    ("0.5", "伍角整", "伍角整"),
    ("0.05", "伍分", "伍分"),
    ("0", "零圆整", "零圆整"),
    ("10", "壹拾圆整", "壹拾圆整"),
    ("100001", "壹拾万零壹圆整", "壹拾万零壹圆整"),
    ("100010000", "壹亿零壹万圆整", "壹亿零壹万圆整"),
    ("1000100", "壹佰万零壹佰圆整", "壹佰万零壹佰圆整"),
    ("100000001", "壹亿零壹圆整", "壹亿零壹圆整"),
    ("100001000", "壹亿零壹仟圆整", "壹亿零壹仟圆整"),
    ("10010010.01", "壹仟零壹万零壹拾圆零壹分", "壹仟零壹万零壹拾圆零壹分"),
    ("1000100000.01", "壹拾亿零壹拾万圆零壹分", "壹拾亿零壹拾万圆零壹分"),
    ("123456789012.34", "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰圆叁角肆分",
     "壹仟贰佰叁拾肆亿伍仟陆佰柒拾捌万玖仟零壹拾贰圆叁角肆分"),
    ("543200010001.01", "伍仟肆佰叁拾贰亿零壹万零壹圆零壹分", "伍仟肆佰叁拾贰亿零壹万零壹圆零壹分"),
    ("1000000000000", "壹万亿圆整", "壹万亿圆整"),
    ("1234500000000", "壹万贰仟叁佰肆拾伍亿圆整", "壹万贰仟叁佰肆拾伍亿圆整"),
    ("-500", "（负数）伍佰圆整", "（负数）伍佰圆整"),
    ("-60.53", "（负数）陆拾圆伍角叁分", "（负数）陆拾圆零伍角叁分"),
]


@pytest.mark.parametrize(("amount", "digital", "legacy"), STYLE_VECTORS)
def test_to_upper_styles(amount, digital, legacy):
    assert to_upper(D(amount)) == digital
    assert to_upper(D(amount), style="digital") == digital
    assert to_upper(D(amount), style="legacy") == legacy


@pytest.mark.parametrize(("amount", "digital", "legacy"), STYLE_VECTORS)
def test_from_upper_reads_both_styles(amount, digital, legacy):
    assert from_upper(digital) == D(amount)
    assert from_upper(legacy) == D(amount)


def test_to_upper_rejects_unknown_style_and_float():
    with pytest.raises(ValueError):
        to_upper(D("1"), style="pboc")
    with pytest.raises(TypeError):
        to_upper(1.5)


def test_to_upper_round_trips_over_a_range():
    for fen in list(range(0, 20001, 7)) + [10**10 + 1, 10**12 + 5, 99999999999999]:
        amount = D(fen) / 100
        for style in ("digital", "legacy"):
            assert from_upper(to_upper(amount, style)) == amount, (amount, style)


# ---------------------------------------------------------------- 大写: tolerant reading

@pytest.mark.parametrize(("text", "expected"), [
    # PBOC examples, including both permitted alternatives of rule (三)
    ("壹仟肆佰零玖元伍角", "1409.50"),
    ("陆仟零柒元壹角肆分", "6007.14"),
    ("壹仟陆佰捌拾元零叁角贰分", "1680.32"),
    ("壹仟陆佰捌拾元叁角贰分", "1680.32"),
    ("壹拾万柒仟元零伍角叁分", "107000.53"),
    ("壹拾万零柒仟元伍角叁分", "107000.53"),
    ("壹万陆仟肆佰零玖元零贰分", "16409.02"),
    ("叁佰贰拾伍元零肆分", "325.04"),
    # the disputed 零 before 壹仟万 reads the same either way
    ("壹仟亿零壹仟万壹仟圆整", "100010001000"),
    ("壹仟亿壹仟万壹仟圆整", "100010001000"),
    ("壹万亿元整", "1000000000000.00"),
    # 定额 forms: bare 拾, no 整
    ("拾元整", "10.00"),
    ("伍元", "5.00"),
    ("拾伍元整", "15.00"),
    # decorations, traditional forms, 正
    ("ⓧ伍佰圆整", "500"),
    ("⊗叁仟伍佰伍拾圆零柒角整", "3550.70"),
    ("×壹佰零壹圆柒角叁分", "101.73"),
    ("人民币壹拾万圆整", "100000"),
    ("¥壹拾圆正", "10"),
    ("（负数）伍佰圆整", "-500"),
    ("(负数)伍佰圆整", "-500"),
    ("貳萬陸仟圓整", "26000"),
    ("壹億圓整", "100000000"),
    ("叁仟 伍佰 伍拾 圆 零柒角 整", "3550.70"),
    ("价税合计(大写) ⓧ伍佰圆整 (小写)¥500.00", "500"),
    ("零圆整", "0"),
])
def test_from_upper(text, expected):
    assert from_upper(text) == D(expected)


@pytest.mark.parametrize("text", [
    None, "", "   ", "整", "圆整", "garbage", "一百元", "壹百元", "两佰圆", "伍伍圆", "壹拾佰圆", "伍圆伍",
    "壹圆贰圆", "伍角伍角", "伍毛", "nan", "1e5", "500.00",
])
def test_from_upper_rejects(text):
    assert from_upper(text) is None


# ---------------------------------------------------------------- tax split (DOMAIN §1.5, §8.1)

@pytest.mark.parametrize(("total", "rate", "ex_tax", "tax"), [
    ("41.00", "0.09", "37.61", "3.39"),
    ("272.50", "0.09", "250.00", "22.50"),
    ("31605.00", "0.13", "27969.03", "3635.97"),
    ("130.00", "0.09", "119.27", "10.73"),
    ("526.00", "0.03", "510.68", "15.32"),
    ("4449.00", "0.06", "4197.17", "251.83"),
    ("10600.00", "0.06", "10000.00", "600.00"),
    ("100.00", "0", "100.00", "0.00"),
    ("-31.92", "0.03", "-30.99", "-0.93"),
])
def test_tax_from_inclusive(total, rate, ex_tax, tax):
    for args in ((D(total), D(rate)), (total, rate)):
        got = tax_from_inclusive(*args)
        assert got == (D(ex_tax), D(tax))
        assert got[0] + got[1] == D(total)


def test_tax_from_inclusive_rejects_bad_rate():
    with pytest.raises(ValueError):
        tax_from_inclusive(D("10"), D("-0.1"))
    with pytest.raises(TypeError):
        tax_from_inclusive(41.0, D("0.09"))


# ---------------------------------------------------------------- rates

@pytest.mark.parametrize(("text", "expected"), [
    ("13%", "0.13"), ("0.13", "0.13"), ("0.130000", "0.13"), ("9%", "0.09"), ("６％", "0.06"),
    (" 3 % ", "0.03"), ("1%", "0.01"), ("5%", "0.05"), ("0%", "0.00"), ("0", "0.00"), ("1.5%", "0.015"),
    ("免税", "免税"), ("不征税", "不征税"), ("***", "不征税"), ("*", "不征税"),
])
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", [None, "", "abc", "nan", "1e-1", "100%", "-3%", "13%%"])
def test_parse_rate_rejects(text):
    assert parse_rate(text) is None


# ---------------------------------------------------------------- real public documents (skipped when absent)
REAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "real"
REAL_UPPER = sorted(
    (p.name, f["total_incl_tax_words"], f["total_incl_tax"])
    for p in (REAL.glob("**/*.truth.json") if REAL.is_dir() else [])
    for f in [json.loads(p.read_text(encoding="utf-8")).get("fields", {})]
    if f.get("total_incl_tax_words") and f.get("total_incl_tax")
)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_UPPER, reason="../shared/data/real is absent")
@pytest.mark.parametrize(("name", "words", "total"), REAL_UPPER, ids=[r[0] for r in REAL_UPPER])
def test_real_upper_amounts(name, words, total):
    assert from_upper(words) == parse_amount(total)
