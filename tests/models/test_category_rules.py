"""Deterministic facts: invoice kinds, exact 简称 and (简称, 名称) pairs, multi-line invoices, trip context."""

from decimal import Decimal

import pytest

from models.features import amount_bucket, normalize, parse_item
from models.rules import RuleSet, apply_trip


@pytest.fixture(scope="module")
def rules():
    return RuleSet.from_yaml()


@pytest.mark.parametrize("kind,expected", [
    ("rail_e_ticket", "travel.transport"), ("rail_paper_ticket", "travel.transport"),
    ("air_e_itinerary", "travel.transport"), ("vat_e_toll", "vehicle.toll"), ("taxi", "local_transport"),
])
def test_invoice_kind_decides_whatever_the_lines_say(rules, kind, expected):
    assert rules.decide(["*餐饮服务*餐费"], kind) == expected
    assert rules.decide([], kind) == expected


@pytest.mark.parametrize("item,expected", [
    ("*餐饮服务*餐费", "entertainment"),
    ("＊餐饮服务＊餐费", "entertainment"),  # full-width asterisks
    ("*住宿服务*住宿费", "travel.lodging"),
    ("*汽油*92号车用汽油(VIB)", "vehicle.fuel"),
    ("*信息技术服务*技术服务 费", "software_it"),
    ("*经营租赁*通行费", "vehicle.toll"),
    ("*经营租赁*停车费", "vehicle.parking"),
    ("*运输服务*客运服务费", "local_transport"),
    ("*生产生活服务*住宿服务", "travel.lodging"),
])
def test_jiancheng_and_pairs(rules, item, expected):
    assert rules.decide([item], "digital_normal") == expected


@pytest.mark.parametrize("items", [
    ["*经营租赁*房租"],  # 经营租赁 alone is ambiguous
    ["*生产生活服务*技术服务费"],  # 2026 wording: the name must decide, and this pair is not listed
    ["餐费"],  # no 简称 printed
    ["*餐饮服务*餐费", "*其他食品*月饼"],  # one line without a rule
    ["*经营租赁*通行费", "*经营租赁*停车费"],  # two categories, no priority between them
    [],
])
def test_left_to_the_model(rules, items):
    assert rules.decide(items, "digital_normal") is None


def test_hotel_bill_with_a_meal_is_lodging_and_filler_lines_are_ignored(rules):
    assert rules.decide(["*住宿服务*住宿费", "*餐饮服务*早餐"], None) == "travel.lodging"
    assert rules.decide(["*餐饮服务*餐费", "(详见销货清单)"], None) == "entertainment"


def test_trip_context():
    assert apply_trip("local_transport", True) == "travel.transport"
    assert apply_trip("local_transport", False) == "local_transport"
    assert apply_trip("local_transport", None) == "local_transport"
    assert apply_trip("entertainment", True) == "entertainment"


def test_text_helpers():
    assert normalize(" ＡＢ　c ") == "abc"
    assert parse_item("*餐饮服务*餐费") == ("餐饮服务", "餐费")
    assert parse_item("餐饮服务餐费") == ("", "餐饮服务餐费")
    assert amount_bucket(None) == "none"
    assert amount_bucket(Decimal(0)) == "le0"
    assert amount_bucket(Decimal(10)) == "3"
    assert amount_bucket(Decimal("215.40")) == "6"
    assert amount_bucket(Decimal(250)) == "7"
