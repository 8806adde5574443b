"""Taxi invoices: the machine-printed 出租汽车发票 and the 定额 taxi invoice (DOMAIN §1.4 G).

Contract: ``extract_taxi(layout, inv, source)`` sets ``title``, ``invoice_code`` / ``invoice_number`` and, on a
machine-printed one, where printed: ``plate_no`` (车号, ``B-30T76``), ``issue_date`` (日期, a ``date``),
``pickup_time`` / ``dropoff_time`` (上车 / 下车, ``HH:MM``), ``unit_price`` and ``distance_km`` (单价 / 里程, text
as printed without units), ``fuel_surcharge`` (燃油附加费, ``Decimal``) and ``total_incl_tax`` (``Decimal``: the
实收 / 合计 amount when printed, else 金额). A page without a printed fare amount (the 定额 kind) is read as a
fixed-amount invoice (``quota.read_fixed_amount``: 大写 and 小写). No tax is printed on taxi invoices; none is set.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pipeline.extract import fields as F
from pipeline.extract.layout import Hit, Layout, spaced
from pipeline.extract.nearby import money_near, value_near
from pipeline.extract.quota import read_fixed_amount
from pipeline.extract.vat import read_identifiers
from pipeline.types import FieldSource, Invoice

_PLATE = re.compile(r"车\s*号(?:\s*码)?")
_PLATE_VALUE = r"([\u4e00-\u9fff]?[A-Z]\s*-?\s*[A-Z0-9]{4,6})"
_DATE = re.compile(r"(?<!开票)日\s*期")
_DATE_ALONE = re.compile(r"\d{4}\s*[-./年]\s*\d{1,2}\s*[-./月]\s*\d{1,2}\s*日?")
_PICKUP = re.compile(r"上\s*车(?:\s*时\s*间)?")
_DROPOFF = re.compile(r"下\s*车(?:\s*时\s*间)?")
_TIME = r"(\d{1,2}\s*[:：]\s*\d{2})"
_UNIT_PRICE = re.compile(r"单\s*价")
_DISTANCE = re.compile(r"里\s*程")
_FUEL = re.compile(spaced("燃油附加费") + "|" + spaced("燃油附加"))
_PAID = re.compile(r"实\s*收(?:\s*金\s*额)?|合\s*计(?:\s*金\s*额)?")
_FARE = re.compile(r"(?<![总合])金\s*额")


def _put(inv: Invoice, key: str, value, hit: Hit, source: FieldSource) -> None:
    inv.set(key, value, round(hit.conf, 4), source, hit.box, hit.page)


def extract_taxi(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    read_identifiers(layout, inv, source)
    plate = value_near(layout, _PLATE, _PLATE_VALUE)
    if plate:
        _put(inv, "plate_no", re.sub(r"\s", "", plate.value), plate, source)
    if "issue_date" not in inv.fields:
        hits = F.date_after(layout, _DATE)
        if hits:
            hit = min(hits, key=lambda h: (h.y0, h.x0))
            _put(inv, "issue_date", date.fromisoformat(hit.value), hit, source)
        else:  # the 日期 label unread: a box holding nothing but one full date is the ride's date
            alone = [s for s in layout.segs if _DATE_ALONE.fullmatch(s.text.strip())]
            dates = {F.date_from_text(s.text) for s in alone} - {None}
            if len(dates) == 1:
                seg = alone[0]
                _put(inv, "issue_date", dates.pop(), Hit(seg.text, seg.box, 0.9 * seg.conf, seg.page, seg.box), source)
    for key, label in (("pickup_time", _PICKUP), ("dropoff_time", _DROPOFF)):
        hit = value_near(layout, label, _TIME)
        if hit:
            hh, mm = re.split(r"\s*[:：]\s*", hit.value)
            _put(inv, key, f"{int(hh):02d}:{mm}", hit, source)
    price = value_near(layout, _UNIT_PRICE, r"(\d{1,3}\.\d{1,2})")
    if price:
        _put(inv, "unit_price", price.value, price, source)
    distance = value_near(layout, _DISTANCE, r"(\d{1,4}(?:\.\d{1,2})?)")
    if distance:
        _put(inv, "distance_km", distance.value, distance, source)
    fuel = money_near(layout, _FUEL)
    if fuel:
        _put(inv, "fuel_surcharge", Decimal(fuel.value), fuel, source)
    total = money_near(layout, _PAID) or money_near(layout, _FARE)
    if total:
        _put(inv, "total_incl_tax", Decimal(total.value), total, source)
    else:
        read_fixed_amount(layout, inv, source)


__all__ = ["extract_taxi"]
