"""Random but valid-looking invoice contents for the photo generator.

Contract: ``make_invoice(kind, rng) -> InvoiceData``. Everything is drawn from ``rng`` (a
``numpy.random.Generator``), so the same generator state gives the same invoice. The contents obey the identities
the pipeline checks (DOMAIN §1.5, §2, §3): every line's tax is its amount times its rate rounded half-up to the fen,
``amount_excl_tax + tax_amount == total_incl_tax``, ``total_upper == to_upper(total)``, tax IDs are valid USCC
(``pipeline.taxid.is_valid_uscc``), and the QR payload (legacy ``01,10,…`` with the pre-tax amount, 数电
``01,31|32,,…`` and rail ``01,51,,…`` with the tax-inclusive amount) parses with
``pipeline.qr_payload.parse_invoice_qr`` and agrees with the fields. ``fields`` holds the truth in the CLI's
format (strings: money ``"106.00"``, dates ``YYYY-MM-DD``, ``depart_datetime`` ``YYYY-MM-DD HH:MM``); ``printed``
holds what is printed but not scored (addresses, cipher, signers …).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from itertools import product

import numpy as np

from pipeline.money import fmt_amount, to_upper
from pipeline.taxid import USCC_CHARSET, is_valid_uscc

KINDS = ("vat_e_normal", "digital_normal", "digital_special", "rail_e_ticket", "taxi", "quota")

# city, 6-digit region code (in the USCC), 4-digit invoice-code region, 2-digit 数电 region, district
CITIES = (
    ("北京", "110105", "1100", "11", "朝阳区"), ("上海", "310115", "3100", "31", "浦东新区"),
    ("广州", "440106", "4400", "44", "天河区"), ("深圳", "440305", "4403", "44", "南山区"),
    ("杭州", "330106", "3300", "33", "西湖区"), ("南京", "320106", "3200", "32", "鼓楼区"),
    ("成都", "510107", "5100", "51", "武侯区"), ("青岛", "370202", "3702", "37", "市南区"),
    ("天津", "120103", "1200", "12", "河西区"), ("武汉", "420106", "4200", "42", "武昌区"),
)
_BRAND = "华瑞泰鑫恒宏信达嘉盛源博海天辰星汇联诚益丰康润和远德新明睿卓凯安"
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建文辉力浩然宇轩"
_ROADS = ("人民路", "建设路", "解放路", "中山路", "和平路", "长江路", "黄河路", "科技路", "文化路", "新华路")
_BANKS = ("中国工商银行", "中国建设银行", "中国银行", "招商银行", "交通银行", "中国农业银行")
_STATIONS = (("北京南", "Beijingnan"), ("上海虹桥", "Shanghaihongqiao"), ("杭州东", "Hangzhoudong"),
             ("南京南", "Nanjingnan"), ("广州南", "Guangzhounan"), ("深圳北", "Shenzhenbei"),
             ("武汉", "Wuhan"), ("成都东", "Chengdudong"), ("青岛北", "Qingdaobei"), ("天津西", "Tianjinxi"))
_SEAT_CLASSES = ("二等座", "一等座", "商务座")

# (简称, item names, rate, unit, seller industry word)
ITEM_KINDS = (
    ("餐饮服务", ("餐费", "餐饮费", "工作餐"), "0.06", "次", "餐饮管理"),
    ("住宿服务", ("住宿费", "房费"), "0.06", "天", "酒店管理"),
    ("运输服务", ("客运服务费",), "0.03", "次", "汽车服务"),
    ("信息技术服务", ("技术服务费", "软件服务费", "云服务器租用"), "0.06", "项", "信息技术"),
    ("经纪代理服务", ("代订机票", "代订住宿"), "0.06", "项", "旅行社"),
    ("办公耗材", ("墨盒", "硒鼓", "碳粉"), "0.13", "个", "商贸"),
    ("纸制品", ("打印纸", "复印纸", "笔记本"), "0.13", "箱", "商贸"),
    ("文具", ("签字笔", "文件夹", "订书机"), "0.13", "盒", "文化用品"),
    ("计算机配套产品", ("键盘", "鼠标", "移动硬盘"), "0.13", "个", "科技"),
    ("咨询服务", ("咨询费", "顾问费"), "0.06", "项", "咨询"),
    ("会议展览服务", ("会议费", "会务费"), "0.06", "项", "文化传媒"),
    ("电信服务", ("基础电信服务", "通信费"), "0.09", "月", "通信技术"),
    ("汽油", ("92号车用汽油(VIB)", "95号车用汽油(VIB)"), "0.13", "升", "石油销售"),
)

FEN = Decimal("0.01")


@dataclass
class Item:
    name: str  # *简称*名称
    spec: str
    unit: str
    quantity: str
    price: str
    amount: Decimal
    rate: str  # "0.06"
    tax: Decimal

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "amount": fmt_amount(self.amount), "tax_rate": self.rate,
                "tax_amount": fmt_amount(self.tax)}


@dataclass
class InvoiceData:
    kind: str
    fields: dict[str, str]
    items: list[Item] = field(default_factory=list)
    qr_text: str | None = None
    printed: dict[str, str] = field(default_factory=dict)

    def truth(self) -> dict[str, object]:
        fields: dict[str, object] = dict(self.fields)
        if self.items:
            fields["items"] = [item.to_json() for item in self.items]
        return {"kind": self.kind, "fields": fields, "qr": self.qr_text}


def _choice(rng: np.random.Generator, seq):
    return seq[int(rng.integers(len(seq)))]


def _digits(rng: np.random.Generator, n: int, first_nonzero: bool = False) -> str:
    out = "".join(str(int(d)) for d in rng.integers(0, 10, n))
    if first_nonzero and out[0] == "0":
        out = str(int(rng.integers(1, 10))) + out[1:]
    return out


def make_uscc(rng: np.random.Generator, region6: str) -> str:
    """A USCC (GB 32100): ``91`` (enterprise) + region + 8 random org-code chars, with both check characters
    chosen as the one combination ``pipeline.taxid.is_valid_uscc`` accepts."""
    body_chars = [c for c in USCC_CHARSET if c.isdigit() or c in "ABCDEFGHJKLMNPQRTUWXY"]
    body = "".join(_choice(rng, body_chars) for _ in range(8))
    head = "91" + region6 + body
    for org_check, check in product("0123456789X", USCC_CHARSET):
        if is_valid_uscc(head + org_check + check):
            return head + org_check + check
    raise AssertionError("no check characters found")  # unreachable: one combination always exists


def _person(rng: np.random.Generator) -> str:
    return _choice(rng, _SURNAMES) + "".join(_choice(rng, _GIVEN) for _ in range(int(rng.integers(1, 3))))


def _company(rng: np.random.Generator, city: str, industry: str) -> str:
    brand = _choice(rng, _BRAND) + _choice(rng, _BRAND)
    return f"{city}{brand}{industry}有限公司"


def _address(rng: np.random.Generator, city: tuple[str, ...]) -> str:
    area = "0" + _digits(rng, 2, first_nonzero=True)
    return f"{city[0]}市{city[4]}{_choice(rng, _ROADS)}{int(rng.integers(1, 999))}号 {area}-{_digits(rng, 8, True)}"


def _bank(rng: np.random.Generator, city: tuple[str, ...]) -> str:
    return f"{_choice(rng, _BANKS)}{city[0]}{city[4][:2]}支行 {_digits(rng, 19, True)}"


def _date(rng: np.random.Generator, start: date, end: date) -> date:
    return start + timedelta(days=int(rng.integers(0, (end - start).days)))


def _amount(rng: np.random.Generator, low: float, high: float) -> Decimal:
    # log-uniform fen amount, built from an integer so no float reaches the money value
    fen = int(np.rint(np.exp(rng.uniform(np.log(low * 100), np.log(high * 100)))))
    return Decimal(fen) / 100


def _tax(amount: Decimal, rate: str) -> Decimal:
    return (amount * Decimal(rate)).quantize(FEN, rounding=ROUND_HALF_UP)


def _items(rng: np.random.Generator, kind_row: tuple, n: int) -> list[Item]:
    short, names, rate, unit, _ = kind_row
    items = []
    for _ in range(n):
        amount = _amount(rng, 8, 2500)
        qty = int(rng.integers(1, 6)) if unit not in ("次", "项", "月") else 1
        price = (amount / qty).quantize(Decimal("0.00000001")).normalize()
        items.append(Item(name=f"*{short}*{_choice(rng, names)}", spec="", unit=unit, quantity=str(qty),
                          price=f"{price:f}", amount=amount, rate=rate, tax=_tax(amount, rate)))
    return items


def _check_char(rng: np.random.Generator) -> str:
    return "".join(_choice(rng, "0123456789ABCDEF") for _ in range(4))


def _vat(rng: np.random.Generator, kind: str) -> InvoiceData:
    buyer_city, seller_city = _choice(rng, CITIES), _choice(rng, CITIES)
    kind_row = _choice(rng, ITEM_KINDS)
    items = _items(rng, kind_row, int(rng.integers(1, 4)))
    amount = sum((i.amount for i in items), Decimal(0))
    tax = sum((i.tax for i in items), Decimal(0))
    total = amount + tax
    seller = _company(rng, seller_city[0], kind_row[4])
    company_buyer = kind != "digital_normal" or rng.random() < 0.7
    buyer = _company(rng, buyer_city[0], _choice(rng, ("科技", "信息技术", "咨询", "商贸"))) if company_buyer \
        else _person(rng)
    f: dict[str, str] = {"buyer_name": buyer, "seller_name": seller,
                         "seller_tax_id": make_uscc(rng, seller_city[1]),
                         "amount_excl_tax": fmt_amount(amount), "tax_amount": fmt_amount(tax),
                         "total_incl_tax": fmt_amount(total)}
    if company_buyer:
        f["buyer_tax_id"] = make_uscc(rng, buyer_city[1])
    printed = {"drawer": _person(rng), "payee": _person(rng), "reviewer": _person(rng)}
    if kind == "vat_e_normal":
        issued = _date(rng, date(2017, 7, 1), date(2020, 12, 31))
        code = "0" + seller_city[2] + issued.strftime("%y") + _digits(rng, 3) + "11"
        number = _digits(rng, 8, first_nonzero=True)
        check = _digits(rng, 20)
        f.update(invoice_code=code, invoice_number=number, check_code=check, machine_no=_digits(rng, 12, True),
                 total_upper=to_upper(total, "legacy"))
        qr = f"01,10,{code},{number},{fmt_amount(amount)},{issued:%Y%m%d},{check},{_check_char(rng)},"
        printed["seller_addr"] = _address(rng, seller_city)
        printed["seller_bank"] = _bank(rng, seller_city)
        if company_buyer:
            printed["buyer_addr"] = _address(rng, buyer_city)
            printed["buyer_bank"] = _bank(rng, buyer_city)
        printed["cipher"] = "\n".join("".join(_choice(rng, "0123456789+-*/<>") for _ in range(28)) for _ in range(4))
    else:
        issued = _date(rng, date(2023, 1, 1), date(2026, 6, 30))
        number = issued.strftime("%y") + seller_city[3] + str(int(rng.integers(0, 3))) + _digits(rng, 15)
        f.update(invoice_number=number, total_upper=to_upper(total, "digital"))
        type_code = "31" if kind == "digital_special" else "32"
        qr = f"01,{type_code},,{number},{fmt_amount(total)},{issued:%Y%m%d},,{_check_char(rng)}"
    f["issue_date"] = issued.isoformat()
    printed["remark"] = f"订单号:{_digits(rng, 11, True)}" if rng.random() < 0.5 else ""
    return InvoiceData(kind=kind, fields=f, items=items, qr_text=qr, printed=printed)


def _rail(rng: np.random.Generator) -> InvoiceData:
    buyer_city = _choice(rng, CITIES)
    idx = rng.choice(len(_STATIONS), 2, replace=False)
    (dep, dep_py), (arr, arr_py) = _STATIONS[int(idx[0])], _STATIONS[int(idx[1])]
    travel = datetime.combine(_date(rng, date(2024, 11, 1), date(2026, 6, 30)), datetime.min.time()) + timedelta(
        minutes=int(rng.integers(6 * 60, 22 * 60)) // 5 * 5)
    issued = (travel + timedelta(days=int(rng.integers(0, 20)))).date()
    number = issued.strftime("%y") + "1" + _digits(rng, 1) + "7" + _digits(rng, 15)
    fare = _amount(rng, 30, 1200).quantize(Decimal("0.1"))  # rail fares end in a whole 角
    train = _choice(rng, "GGGDDC") + str(int(rng.integers(1, 2000)))
    seat_no = f"{int(rng.integers(1, 17)):02d}车{int(rng.integers(1, 20)):02d}{_choice(rng, 'ABCDF')}号"
    id_no = f"{_digits(rng, 6, True)}{_digits(rng, 4, True)}****{_digits(rng, 3)}{_choice(rng, '0123456789X')}"
    fields = {
        "invoice_number": number, "issue_date": issued.isoformat(), "total_incl_tax": fmt_amount(fare),
        "from_station": dep, "to_station": arr, "train_no": train,
        "depart_datetime": travel.strftime("%Y-%m-%d %H:%M"), "seat_class": _choice(rng, _SEAT_CLASSES),
        "seat_no": seat_no, "passenger_name": _person(rng),
        "buyer_name": _company(rng, buyer_city[0], _choice(rng, ("科技", "信息技术", "咨询"))),
        "buyer_tax_id": make_uscc(rng, buyer_city[1]),
    }
    printed = {"from_pinyin": dep_py, "to_pinyin": arr_py, "id_no": id_no,
               "e_ticket_no": _digits(rng, 10, True) + _digits(rng, 11) + issued.strftime("%m%d")}
    qr = f"01,51,,{number},{fmt_amount(fare)},{issued:%Y%m%d},,{_check_char(rng)}"
    return InvoiceData(kind="rail_e_ticket", fields=fields, qr_text=qr, printed=printed)


def _local_code(rng: np.random.Generator, city: tuple[str, ...], issued_year: int) -> str:
    # local invoices: first digit 1 (not 0), 8th digit not 2 (that would mean 机动车, DOMAIN §1.2)
    code = "1" + city[2][:3] + f"{issued_year % 100:02d}" + _digits(rng, 6)
    return code[:7] + ("5" if code[7] == "2" else code[7]) + code[8:]


def _taxi(rng: np.random.Generator) -> InvoiceData:
    city = _choice(rng, CITIES)
    issued = _date(rng, date(2018, 1, 1), date(2025, 12, 31))
    start = int(rng.integers(6 * 60, 23 * 60))
    ride = int(rng.integers(6, 55))
    km = Decimal(int(rng.integers(20, 400))) / 10
    price = Decimal(_choice(rng, ("2.30", "2.50", "2.70", "3.00")))
    fuel = Decimal("1.00")
    total = (Decimal(13) + max(km - 3, Decimal(0)) * price + fuel).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    fields = {"invoice_code": _local_code(rng, city, issued.year), "invoice_number": _digits(rng, 8, True),
              "issue_date": issued.isoformat(), "total_incl_tax": fmt_amount(total)}
    plate = f"{_choice(rng, 'ABDEF')}-{_digits(rng, 2)}{_choice(rng, 'TDXQ')}{_digits(rng, 2)}"
    printed = {"city": city[0], "plate": plate,
               "licence": _digits(rng, 6, True), "on": f"{start // 60:02d}:{start % 60:02d}",
               "off": f"{(start + ride) // 60 % 24:02d}:{(start + ride) % 60:02d}", "price": f"{price}",
               "km": f"{km}", "wait": f"00:{int(rng.integers(0, 10)):02d}:{int(rng.integers(0, 60)):02d}",
               "fuel": f"{fuel}"}
    return InvoiceData(kind="taxi", fields=fields, printed=printed)


def _quota(rng: np.random.Generator) -> InvoiceData:
    city = _choice(rng, CITIES)
    total = Decimal(_choice(rng, (1, 2, 5, 10, 20, 50, 100)))
    fields = {"invoice_code": _local_code(rng, city, int(rng.integers(2016, 2026))),
              "invoice_number": _digits(rng, 8, True), "total_incl_tax": fmt_amount(total),
              "total_upper": to_upper(total, "digital")}
    return InvoiceData(kind="quota", fields=fields, printed={"city": city[0]})


def make_invoice(kind: str, rng: np.random.Generator) -> InvoiceData:
    if kind in ("vat_e_normal", "digital_normal", "digital_special"):
        return _vat(rng, kind)
    if kind == "rail_e_ticket":
        return _rail(rng)
    if kind == "taxi":
        return _taxi(rng)
    if kind == "quota":
        return _quota(rng)
    raise ValueError(f"unknown invoice kind {kind!r}; choose from {', '.join(KINDS)}")


__all__ = ["ITEM_KINDS", "KINDS", "InvoiceData", "Item", "make_invoice", "make_uscc"]
