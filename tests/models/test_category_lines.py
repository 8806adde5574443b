"""Line-level attribution: one category per item line, and the trip context."""

from decimal import Decimal

import pytest

from models.category import load_model
from pipeline.types import LineItem


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_a_hotel_bill_with_a_breakfast_line_has_two_categories(model):
    items = [LineItem("*住宿服务*住宿费", Decimal("377.36"), "0.06", Decimal("22.64")),
             LineItem("*餐饮服务*早餐", Decimal("47.17"), "0.06", Decimal("2.83"))]
    whole = model.classify("上海某某酒店管理有限公司", [i.name for i in items], kind="digital_normal",
                           amount=Decimal("450.00"))
    lines = model.classify_lines("上海某某酒店管理有限公司", items, kind="digital_normal", amount=Decimal("450.00"))
    assert whole.category == "travel.lodging"  # the invoice as a whole: 住宿 beats 餐饮
    assert [c.category for c in lines] == ["travel.lodging", "entertainment"]
    assert all(c.model_version == model.model_version for c in lines)


def test_one_line_or_none_gives_the_invoice_result(model):
    for items in (["*信息技术服务*技术服务费"], []):
        whole = model.classify("北京某某科技有限公司", items, kind="digital_special", amount="3000.00")
        assert model.classify_lines("北京某某科技有限公司", items, kind="digital_special", amount="3000.00") == [whole]


def test_a_line_that_says_nothing_takes_the_invoice_result(model):
    items = ["*文具*签字笔", "(详见销货清单)"]
    whole = model.classify("得力集团有限公司", items, amount="86.00")
    pen, listing = model.classify_lines("得力集团有限公司", items, amount="86.00")
    assert pen.category == "office" and listing == whole


def test_line_amount_is_used_per_line(model):
    """Each line is judged with its own amount (amount + tax) when the line shows one."""
    big, small = LineItem("x", Decimal(9000), None, Decimal(1000)), {"name": "x", "amount": "12.00"}
    rows = model.classify_lines_batch([{"seller_name": "某某公司", "items": [big, small], "kind": None}])[0]
    assert rows[0] == model.classify("某某公司", ["x"], amount=Decimal(10000))
    assert rows[1] == model.classify("某某公司", ["x"], amount=Decimal("12.00"))


def test_ride_lines_follow_the_trip(model):
    items = ["*运输服务*客运服务费", "*运输服务*客运服务费"]
    assert {c.category for c in model.classify_lines("滴滴出行科技有限公司", items)} == {"local_transport"}
    assert {c.category for c in model.classify_lines("滴滴出行科技有限公司", items, in_trip=True)} == \
        {"travel.transport"}
