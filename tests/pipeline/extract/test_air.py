"""Air itineraries: 数电 电子发票（航空运输电子客票行程单） (values below their column headers, tax printed) and the
paper 行程单 (bilingual labels, CN/YQ/CNY prefixes, tax computed), through ``extract_invoices``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from pipeline.extract import extract_invoices
from pipeline.types import FieldSource, InvoiceKind, QrCode

from .layouts import read_result

D = Decimal


def row(y: float, *cells: tuple[float, str], h: float = 9.0) -> list[tuple]:
    """Boxes of one printed row: Chinese characters a full text height wide, others about half."""
    return [(text, (x, y, x + sum(h if ord(c) > 0x2E80 else 0.55 * h for c in text), y + h)) for x, text in cells]


DIGITAL_NUMBER = "25442000000187432109"
DIGITAL = tuple(
    row(22, (150, "电子发票（航空运输电子客票行程单）"), h=18)
    + row(60, (470, f"发票号码：{DIGITAL_NUMBER}"))
    + row(76, (470, "开票日期：2025年04月03日"))
    + row(100, (30, "旅客姓名"), (160, "有效身份证件号码"), (400, "签注"))
    + row(116, (30, "王五"), (160, "4401051988****3318"), (400, "不得签转"))
    + row(140, (30, "自 FROM"), (120, "至 TO"), (200, "承运人"), (250, "航班号"), (310, "座位等级"), (370, "日期"),
          (450, "时间"), (610, "免费行李"))
    + row(156, (30, "广州 CAN"), (200, "CZ"), (250, "CZ3101"), (310, "Y"), (370, "2025-04-01"), (450, "08:30"),
          (610, "20K"))
    + row(172, (30, "北京 PEK"))
    + row(200, (30, "票价"), (110, "燃油附加费"), (200, "增值税税率"), (290, "增值税税额"), (380, "民航发展基金"),
          (480, "其他税费"), (580, "合计"))
    + row(216, (30, "¥1230.00"), (110, "¥60.00"), (200, "9%"), (290, "¥106.51"), (380, "¥50.00"), (480, "¥0.00"),
          (580, "¥1340.00"))
    + row(244, (30, "电子客票号码"), (160, "验证码"), (260, "提示信息"), (480, "保险费"))
    + row(260, (30, "7812345678901"), (160, "4127"), (480, "¥0.00"))
    + row(336, (30, "购买方名称：武汉市车城物流有限公司"), (360, "统一社会信用代码：914201007483062457"))
)


def test_digital_air_itinerary():
    read = read_result((DIGITAL, 680, 400), source=FieldSource.TEXT_LAYER)
    [inv] = extract_invoices(read)
    assert inv.kind == InvoiceKind.AIR_E_ITINERARY
    expected = {
        "invoice_number": DIGITAL_NUMBER, "issue_date": date(2025, 4, 3), "passenger_name": "王五",
        "e_ticket_no": "7812345678901", "check_code": "4127", "fare": D("1230.00"), "fuel_surcharge": D("60.00"),
        "caac_fund": D("50.00"), "other_taxes": D("0.00"), "insurance": D("0.00"), "total_incl_tax": D("1340.00"),
        "tax_rate": "0.09", "tax_amount": D("106.51"), "amount_excl_tax": D("1233.49"), "flight_no": "CZ3101",
        "from_station": "广州", "to_station": "北京", "seat_class": "Y",
        "depart_datetime": datetime(2025, 4, 1, 8, 30), "buyer_name": "武汉市车城物流有限公司",
        "buyer_tax_id": "914201007483062457",
    }
    assert {k: inv.get(k) for k in expected} == expected
    assert inv.fields["tax_amount"].source == FieldSource.TEXT_LAYER  # printed, not computed
    assert inv.fields["amount_excl_tax"].source == FieldSource.COMPUTED
    assert inv.issues == []


def test_a_wrong_printed_tax_or_total_is_reported():
    wrong = tuple((("¥99.00" if t == "¥106.51" else "¥1339.00" if t == "¥1340.00" else t), b) for t, b in DIGITAL)
    [inv] = extract_invoices(read_result((wrong, 680, 400), source=FieldSource.TEXT_LAYER))
    assert {"ticket_tax", "fare_sum"} <= {i.code for i in inv.issues}


def test_the_qr_type_61_decides_the_kind_and_carries_the_total():
    qr = QrCode(f"01,61,,{DIGITAL_NUMBER},1340.00,20250403,,9B0E", 0, (24, 12, 88, 76))
    no_title = tuple(t for t in DIGITAL if "行程单" not in t[0])
    [inv] = extract_invoices(read_result((no_title, 680, 400), source=FieldSource.TEXT_LAYER, qr=[qr]))
    assert inv.kind == InvoiceKind.AIR_E_ITINERARY and inv.get("total_incl_tax") == D("1340.00")
    assert inv.fields["invoice_number"].source == FieldSource.QR and inv.issues == []


PAPER = tuple(
    row(16, (170, "航空运输电子客票行程单"), h=18)
    + row(60, (480, "印刷序号：6021473859"), h=10)
    + row(76, (30, "旅客姓名 NAME OF PASSENGER"), (200, "有效身份证件号码 ID.NO."), h=8)
    + row(92, (30, "赵六"), (200, "420106198708152217"), h=10)
    + row(118, (30, "自 FROM"), (130, "承运人 CARRIER"), (210, "航班号 FLIGHT"), (290, "座位等级 CLASS"),
          (370, "日期 DATE"), (450, "时间 TIME"), h=8)
    + row(136, (30, "武汉 WUH"), (130, "MU"), (210, "MU2501"), (290, "Y"), (370, "2019-05-21"), (450, "09:15"),
          h=10)
    + row(154, (30, "至 TO 上海 SHA"), h=10)
    + row(184, (30, "票价 FARE"), (150, "民航发展基金 CAAC DEVELOPMENT FUND"), (330, "燃油附加费 FUEL SURCHARGE"),
          (470, "其他税费 OTHER TAXES"), (580, "合计 TOTAL"), h=8)
    + row(200, (30, "CNY 880.00"), (150, "CN 50.00"), (330, "YQ 20.00"), (470, "0.00"), (580, "CNY 950.00"), h=10)
    + row(226, (30, "电子客票号码 E-TICKET NO."), (200, "验证码 CK."), (500, "保险费 INSURANCE"), h=8)
    + row(242, (30, "7842169003517"), (200, "8820"), (500, "XXX"), h=10)
    + row(270, (200, "填开单位 ISSUED BY"), (480, "填开日期 DATE OF ISSUE"), h=8)
    + row(286, (200, "武汉示例航空票务代理有限公司"), (480, "2019-05-20"), h=10)
)


def test_paper_itinerary_strips_the_prefixes_and_computes_the_tax():
    [inv] = extract_invoices(read_result((PAPER, 680, 330)))
    assert inv.kind == InvoiceKind.AIR_PAPER_ITINERARY
    expected = {"invoice_number": "6021473859", "issue_date": date(2019, 5, 20), "passenger_name": "赵六",
                "e_ticket_no": "7842169003517", "check_code": "8820", "fare": D("880.00"), "caac_fund": D("50.00"),
                "fuel_surcharge": D("20.00"), "total_incl_tax": D("950.00"), "flight_no": "MU2501",
                "seller_name": "武汉示例航空票务代理有限公司", "depart_datetime": datetime(2019, 5, 21, 9, 15)}
    assert {k: inv.get(k) for k in expected} == expected
    # DOMAIN §1.5: (fare + fuel) / 1.09 × 9% = 900 / 1.09 × 0.09 = 74.31; the 民航发展基金 is not taxed
    assert inv.get("tax_amount") == D("74.31") and inv.fields["tax_amount"].source == FieldSource.COMPUTED
    assert inv.get("amount_excl_tax") == D("875.69")
    assert "insurance" not in inv.fields  # XXX: none bought
    assert inv.issues == []
