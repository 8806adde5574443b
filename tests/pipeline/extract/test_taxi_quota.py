"""Taxi invoices (machine-printed and 定额) and 通用定额发票: fields, and the amount read from the 大写 when the 小写
is unreadable or contradicts it (DOMAIN §1.4 G, I)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from pipeline.extract import extract_invoices
from pipeline.extract.quota import UPPER_FACTOR
from pipeline.types import FieldSource, InvoiceKind

from .layouts import read_result

D = Decimal


def lines(*rows: tuple[float, float, str, float]) -> tuple:
    """(x, y, text, height) → OCR-like boxes, Chinese characters one height wide, others about half."""
    return tuple((text, (x, y, x + sum(h if ord(c) > 0x2E80 else 0.55 * h for c in text), y + h), 0.97)
                 for x, y, text, h in rows)


TAXI = lines(
    (60, 16, "武汉市出租汽车专用发票", 28), (120, 60, "发票联", 20),
    (40, 110, "发票代码", 22), (150, 110, "142001851021", 22),
    (40, 150, "发票号码", 22), (150, 150, "08127745", 22),
    (40, 190, "车号", 22), (150, 190, "鄂A-T3821", 22),
    (40, 230, "日期", 22), (150, 230, "2019-06-03", 22),
    (40, 270, "上车", 22), (150, 270, "08:12", 22),
    (40, 310, "下车", 22), (150, 310, "08:41", 22),
    (40, 350, "单价", 22), (150, 350, "1.80元", 22),
    (40, 390, "里程", 22), (150, 390, "12.6km", 22),
    (40, 430, "等候", 22), (150, 430, "00:03:20", 22),
    (40, 470, "金额", 22), (150, 470, "¥32.00元", 22),
)


def test_machine_printed_taxi_invoice():
    [inv] = extract_invoices(read_result((TAXI, 600, 900)))
    assert inv.kind == InvoiceKind.TAXI
    expected = {"invoice_code": "142001851021", "invoice_number": "08127745", "plate_no": "鄂A-T3821",
                "issue_date": date(2019, 6, 3), "pickup_time": "08:12", "dropoff_time": "08:41", "unit_price": "1.80",
                "distance_km": "12.6", "total_incl_tax": D("32.00")}
    assert {k: inv.get(k) for k in expected} == expected
    assert "tax_amount" not in inv.fields and inv.issues == []


def test_a_photo_that_lost_the_title_and_the_date_label_still_reads_as_a_taxi_ride():
    # the seal's big 发 票 characters and 发票联 are the tallest texts up top; the 日期 label came out as garbage
    photo = tuple(t for t in TAXI if t[0] not in ("日期",)) + lines((200, 10, "发", 34), (240, 10, "票", 34),
                                                                   (40, 230, "转踌鹏连阵", 22))
    photo = tuple(t if t[0] != "发票联" else ("发票联", (120, 50, 200, 84), 0.97) for t in photo)
    [inv] = extract_invoices(read_result((photo, 600, 900)))
    assert inv.kind == InvoiceKind.TAXI
    assert (inv.get("issue_date"), inv.get("total_incl_tax")) == (date(2019, 6, 3), D("32.00"))
    two_dates = photo + lines((150, 520, "2019-06-04", 22))
    [inv] = extract_invoices(read_result((two_dates, 600, 900)))
    assert "issue_date" not in inv.fields  # which one is the ride's? not guessed


def quota(title: str, upper: str | None, lower: str | None) -> tuple:
    rows = [(40, 16, title, 30), (140, 60, "发票联", 20), (20, 100, "发票代码 153001864058", 20),
            (300, 100, "发票号码 03555555", 20)]
    if upper:
        rows.append((80, 150, upper, 60))
    if lower:
        rows.append((120, 240, lower, 28))
    return lines(*rows)


@pytest.mark.parametrize("upper, lower, total, source_box", [
    ("拾元整", "¥10.00", "10.00", "lower"),  # both, agreeing: the 小写
    ("拾元整", None, "10.00", "upper"),  # 小写 not printed / not read: the 大写
    ("拾元整", "¥18.00", "10.00", "upper"),  # a misread 小写 loses against the 大写
    (None, "¥5.00", "5.00", "lower"),
    ("伍元", None, "5.00", "upper"),
])
def test_quota_amount(upper, lower, total, source_box):
    [inv] = extract_invoices(read_result((quota("云南通用定额发票", upper, lower), 700, 320)))
    assert inv.kind == InvoiceKind.QUOTA
    assert inv.get("invoice_code") == "153001864058" and inv.get("invoice_number") == "03555555"
    assert inv.get("total_incl_tax") == D(total)
    fv = inv.fields["total_incl_tax"]
    if source_box == "upper":
        assert fv.box[1] == 150 and fv.confidence == pytest.approx(0.97 * UPPER_FACTOR)
        assert inv.get("total_upper") == upper
    else:
        assert fv.box[1] == 240 and fv.confidence == 0.97
    assert fv.source == FieldSource.OCR and inv.issues == []


def test_a_quota_invoice_titled_taxi_is_a_taxi_invoice_read_from_its_upper_amount():
    [inv] = extract_invoices(read_result((quota("湖北省武汉市出租汽车定额发票", "贰拾圆整", None), 700, 320)))
    assert inv.kind == InvoiceKind.TAXI
    assert inv.get("total_incl_tax") == D("20.00") and inv.get("total_upper") == "贰拾圆整"
