"""The kind-specific checks of ``pipeline.validate``: rate vs 简称, 发票代码 vs kind, ticket tax, air fare sum,
red-letter invoices. (The general identities are tested in tests/pipeline/test_validate.py.)"""

from __future__ import annotations

from decimal import Decimal

import pytest

from pipeline.types import FieldSource, Invoice, InvoiceKind, LineItem
from pipeline.validate import validate_invoice

D = Decimal


def invoice(kind: InvoiceKind, items=(), source=FieldSource.TEXT_LAYER, **fields) -> Invoice:
    inv = Invoice(kind=kind, items=list(items))
    for key, value in fields.items():
        inv.set(key, value, 1.0, source)
    return inv


def codes(inv: Invoice) -> list[str]:
    return [i.code for i in validate_invoice(inv)]


@pytest.mark.parametrize("name, rate, flagged", [
    ("*餐饮服务*餐费", "0.06", False),
    ("*餐饮服务*餐费", "0.03", False),  # small-scale 征收率
    ("*餐饮服务*餐费", "0.01", False),
    ("*餐饮服务*餐费", "免税", False),
    ("*餐饮服务*餐费", "0.13", True),
    ("*住宿服务*住宿费", "0.09", True),
    ("*经营租赁*通行费", "不征税", False),
    ("*经营租赁*通行费", "0.05", False),
    ("*汽油*92号车用汽油", "0.06", True),
    ("*预付卡销售和充值*充值卡", "0.13", True),
    ("*木制品*复合地板", "0.06", False),  # a 简称 without known rates is not judged
    ("办公用品", "0.06", False),  # no 简称
])
def test_rate_against_the_short_name(name, rate, flagged):
    inv = invoice(InvoiceKind.DIGITAL_NORMAL, items=[LineItem(name, D("100.00"), rate, None)])
    assert ("item_rate_unusual" in codes(inv)) == flagged


def test_unusual_rates_name_every_line():
    items = [LineItem("*餐饮服务*餐费", D("10.00"), "0.06", D("0.60")),
             LineItem("*餐饮服务*酒水", D("10.00"), "0.13", D("1.30")),
             LineItem("*住宿服务*住宿费", D("10.00"), "0.13", D("1.30"))]
    [issue] = validate_invoice(invoice(InvoiceKind.DIGITAL_NORMAL, items=items))
    assert issue.code == "item_rate_unusual" and issue.evidence["lines"] == "2,3" and issue.evidence["line"] == "2"


@pytest.mark.parametrize("kind, code, flagged", [
    (InvoiceKind.VAT_E_NORMAL, "012001900111", False),
    (InvoiceKind.VAT_E_NORMAL, "042001900112", False),  # 通行费 refines 电子普通发票
    (InvoiceKind.VAT_E_TOLL, "042001900111", False),
    (InvoiceKind.VAT_ROLL, "033001900104", False),  # 卷式 refines 普通发票
    (InvoiceKind.VAT_SPECIAL, "012001900111", True),
    (InvoiceKind.VAT_E_SPECIAL, "4200191130", True),
    (InvoiceKind.DIGITAL_NORMAL, "012001900111", True),  # 数电 invoices print no 发票代码
    (InvoiceKind.TAXI, "142001851021", False),  # local codes decide nothing
    (InvoiceKind.UNKNOWN, "012001900111", False),
])
def test_code_against_kind(kind, code, flagged):
    assert ("code_kind_mismatch" in codes(invoice(kind, invoice_code=code))) == flagged


def test_rail_ticket_tax_is_nine_percent_of_the_fare():
    ok = invoice(InvoiceKind.RAIL_E_TICKET, total_incl_tax=D("130.00"), tax_amount=D("10.73"),
                 amount_excl_tax=D("119.27"))
    assert codes(ok) == []
    bad = invoice(InvoiceKind.RAIL_E_TICKET, total_incl_tax=D("41.00"), tax_amount=D("3.69"),  # 9% × fare
                  amount_excl_tax=D("37.31"))
    assert codes(bad) == ["ticket_tax"]
    computed = invoice(InvoiceKind.RAIL_PAPER_TICKET, total_incl_tax=D("41.00"))
    computed.set("tax_amount", D("1.00"), 0.8, FieldSource.COMPUTED)  # our own figure is not "printed"
    assert "ticket_tax" not in codes(computed)


def test_air_tax_is_on_fare_and_fuel_and_the_total_adds_up():
    fields = {"fare": D("1230.00"), "fuel_surcharge": D("60.00"), "caac_fund": D("50.00"), "other_taxes": D("0.00"),
              "total_incl_tax": D("1340.00"), "tax_amount": D("106.51"), "amount_excl_tax": D("1233.49")}
    assert codes(invoice(InvoiceKind.AIR_E_ITINERARY, **fields)) == []
    assert codes(invoice(InvoiceKind.AIR_E_ITINERARY, **{**fields, "tax_amount": D("110.64"),
                                                          "amount_excl_tax": D("1229.36")})) == ["ticket_tax"]
    assert codes(invoice(InvoiceKind.AIR_PAPER_ITINERARY, **{**fields, "total_incl_tax": D("1290.00"),
                                                              "amount_excl_tax": D("1183.49")})) == ["fare_sum"]


@pytest.mark.parametrize("fields, red", [
    ({"total_incl_tax": D("-480.00"), "amount_excl_tax": D("-452.83"), "tax_amount": D("-27.17")}, True),
    ({"total_upper": "(负数)肆佰捌拾圆整", "total_incl_tax": D("-480.00")}, True),
    ({"total_incl_tax": D("480.00"), "total_upper": "肆佰捌拾圆整"}, False),
])
def test_red_letter_invoices_are_flagged(fields, red):
    assert ("red_letter" in codes(invoice(InvoiceKind.DIGITAL_NORMAL, **fields))) == red
