import pytest

from pipeline.text import fix_numeric, normalize, split_item_name


@pytest.mark.parametrize(("raw", "expected"), [
    ("发票号码：１２３４５６７８", "发票号码:12345678"),
    ("￥１，２３４．５０", "¥1,234.50"),
    ("电子发票（普通发票）", "电子发票(普通发票)"),
    ("ＡＢＣ　ｘｙｚ", "ABC xyz"),
    ("  价税合计   (小写)\t¥106.00  ", "价税合计 (小写) ¥106.00"),
    ("第一行  a\r\n  第二行\t\tb ", "第一行 a\n第二行 b"),
    ("ⓧ伍佰圆整", "ⓧ伍佰圆整"),  # symbols and Chinese are kept
    ("①", "①"),  # unlike NFKC, circled digits are left alone
    ("", ""),
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


@pytest.mark.parametrize(("raw", "expected"), [
    ("16197 83356 74145 07415", "16197833567414507415"),  # OFD prints 校验码 in groups of 5
    ("O11OO19OO311", "011001900311"),
    ("l2345678", "12345678"),
    ("I2o4", "1204"),
    ("８３０８９６４７", "83089647"),
    ("  ", ""),
])
def test_fix_numeric(raw, expected):
    assert fix_numeric(raw) == expected


def test_normalize_leaves_letters_outside_numeric_fields():
    assert normalize("O/o I/l") == "O/o I/l"


@pytest.mark.parametrize(("name", "expected"), [
    ("*餐饮服务*餐费", ("餐饮服务", "餐费")),
    ("*运输服务*客运服务费", ("运输服务", "客运服务费")),
    ("*经营租赁*通行费", ("经营租赁", "通行费")),
    ("＊住宿服务＊住宿费", ("住宿服务", "住宿费")),
    (" *信息技术服务* 技术服务费 ", ("信息技术服务", "技术服务费")),
    ("*预付卡销售和充值*", ("预付卡销售和充值", "")),
    ("预付卡销售和充值", (None, "预付卡销售和充值")),
    ("(详见销货清单)", (None, "(详见销货清单)")),
    ("**餐费", (None, "**餐费")),
    ("", (None, "")),
])
def test_split_item_name(name, expected):
    assert split_item_name(name) == expected
