"""Rail tickets: paper 火车票 / 报销凭证 and 电子发票（铁路电子客票） (DOMAIN §1.4 E).

Contract: ``looks_like_rail_ticket(layout)`` tells a rail ticket from other documents by its printed features
(``…站`` stations, a train number, ``YYYY年MM月DD日HH:MM开``). ``extract_ticket(layout, inv, source)`` sets
``from_station``, ``to_station`` (without the 站 suffix), ``train_no``, ``depart_datetime``, ``seat_class``,
``seat_no``, ``passenger_name`` and ``total_incl_tax`` (票价). The e-ticket also carries ``invoice_number``,
``issue_date``, ``buyer_name``/``buyer_tax_id`` and ``e_ticket_no``; the paper ticket's 票号 (``C045758``) is its
``invoice_number``. Tax is not printed on either: ``amount_excl_tax`` / ``tax_amount`` are ``COMPUTED`` at the 9%
passenger-transport rate (DOMAIN §1.5), so the fare stays the claimable total.
"""

from __future__ import annotations

import re
from decimal import Decimal

from pipeline.extract import fields as F
from pipeline.extract.layout import Layout, Seg, spaced
from pipeline.extract.vat import COMPUTED_CONFIDENCE, read_identifiers
from pipeline.money import parse_amount, tax_from_inclusive
from pipeline.types import FieldSource, Invoice

RAIL_VAT_RATE = Decimal("0.09")
_STATION = re.compile(r"^([\u4e00-\u9fff]{1,8}?)\s*站$")
_TRAIN = re.compile(r"^([GDCZTKYSL]\d{1,4}|\d{3,4})次?$")
_TRAIN_LABEL = re.compile(r"车\s*次\s*[:：]?\s*([GDCZTKYSL]?\d{1,4})")
_DEPART = re.compile(r"\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*\d{1,2}\s*[:：]\s*\d{2}\s*开?")
_SEAT_CLASS = re.compile(r"(?:新空调)?(?:商务座|特等座|一等座|二等座|一等卧|二等卧|高级软卧|软卧|硬卧|动卧|软座|硬座|无座)")
_SEAT_NO = re.compile(r"(\d{1,2}\s*车\s*(?:\d{1,3}[A-F]?|无座)\s*号?)")
_PASSENGER = re.compile(r"(\d{6,10}\*{2,8}[\dX]{3,4})\s*([\u4e00-\u9fff·]{2,6})")
_FARE = re.compile(r"(?:票\s*价\s*[:：]?\s*)?¥\s*(\d+(?:\.\d{1,2})?)\s*元?")
_PAPER_NO = re.compile(r"^([A-Z]\d{6}|\d{2}[A-Z]\d{6})$")
_SERIAL = re.compile(r"(\d{10,16})([A-Z]\d{6})")
_E_TICKET_NO = re.compile(spaced("电子客票号") + r"\s*[:：]?\s*([0-9A-Za-z]{10,30})")
_BUYER = re.compile(r"购\s*买\s*方\s*名\s*称")
_RAIL_WORDS = re.compile(r"12306|95306|限乘当日当次车|中国铁路|铁路电子客票|仅供报销使用")


def looks_like_rail_ticket(layout: Layout) -> bool:
    text = "\n".join(s.text for s in layout.segs)
    score = 0
    score += 1 if _DEPART.search(text) else 0
    score += 1 if sum(1 for s in layout.segs if _STATION.match(s.text)) >= 2 else 0
    score += 1 if _RAIL_WORDS.search(text) else 0
    score += 1 if any(_TRAIN.match(s.text) for s in layout.segs) else 0
    return score >= 3


def _put(inv: Invoice, key: str, value, seg_or_hit, source: FieldSource, factor: float = 1.0) -> None:
    inv.set(key, value, round(seg_or_hit.conf * factor, 4), source, seg_or_hit.box, seg_or_hit.page)


def _stations(layout: Layout) -> tuple[Seg, Seg] | None:
    stations = [s for s in layout.segs if _STATION.match(s.text.replace(" ", "")) and "售" not in s.text]
    best = None
    for a in stations:
        for b in stations:
            if b.x0 > a.x1 and abs(a.cy - b.cy) < 1.5 * max(a.h, b.h):
                score = abs(a.cy - b.cy) + 0.01 * (b.x0 - a.x1) + 0.05 * a.y0
                if best is None or score < best[0]:
                    best = (score, a, b)
    return (best[1], best[2]) if best else None


def extract_ticket(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    read_identifiers(layout, inv, source)
    text_segs = sorted(layout.segs, key=lambda s: (s.y0, s.x0))
    pair = _stations(layout)
    if pair:
        a, b = pair
        _put(inv, "from_station", _STATION.match(a.text.replace(" ", "")).group(1), a, source)
        _put(inv, "to_station", _STATION.match(b.text.replace(" ", "")).group(1), b, source)
        between = [s for s in layout.segs if a.x1 - 1 <= s.cx <= b.x0 + 1 and _TRAIN.match(s.text.replace(" ", ""))
                   and s.y0 < max(a.y1, b.y1) + a.h]
        if between:
            t = min(between, key=lambda s: abs(s.cy - a.cy))
            _put(inv, "train_no", _TRAIN.match(t.text.replace(" ", "")).group(1), t, source)
    if "train_no" not in inv.fields:
        for s in text_segs:
            m = _TRAIN_LABEL.search(s.text)
            if m:
                _put(inv, "train_no", m.group(1), s, source)
                break
    for s in text_segs:
        if "depart_datetime" not in inv.fields and _DEPART.search(s.text):
            dt = F.datetime_from_text(s.text)
            if dt:
                _put(inv, "depart_datetime", dt, s, source)
        m = _SEAT_CLASS.search(s.text)
        if m and "seat_class" not in inv.fields:
            _put(inv, "seat_class", m.group(0), s, source)
        m = _SEAT_NO.search(s.text)
        if m and "seat_no" not in inv.fields:
            _put(inv, "seat_no", re.sub(r"\s+", "", m.group(1)), s, source)
        m = _PASSENGER.search(s.text.replace(" ", ""))
        if m and "passenger_name" not in inv.fields:
            _put(inv, "passenger_name", m.group(2), s, source)
        m = _FARE.search(s.text)
        if m and "total_incl_tax" not in inv.fields:
            fare = parse_amount(m.group(1))
            if fare is not None:
                _put(inv, "total_incl_tax", fare, s, source)
        m = _E_TICKET_NO.search(s.text)
        if m and "e_ticket_no" not in inv.fields:
            _put(inv, "e_ticket_no", m.group(1), s, source)
    if "passenger_name" not in inv.fields:
        _passenger_split(layout, inv, source)
    if "invoice_number" not in inv.fields:
        _paper_ticket_number(layout, inv, source)
    for key, hit in F.parties(layout).items():
        if key.startswith("buyer"):
            _put(inv, key, hit.value, hit, source)
    buyer = F.names(layout, _BUYER)
    if buyer and buyer[0].value and "buyer_name" not in inv.fields:
        _put(inv, "buyer_name", buyer[0].value, buyer[0], source)
    _computed_tax(inv)


def _passenger_split(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """ID and name printed in two boxes: the name is the Chinese text right after the masked ID."""
    for s in layout.segs:
        if re.fullmatch(r"\d{6,10}\*{2,8}[\dX]{3,4}", s.text.replace(" ", "")):
            nxt = layout.right_of(s)
            if nxt and re.fullmatch(r"[\u4e00-\u9fff·]{2,6}", nxt[0].text):
                _put(inv, "passenger_name", nxt[0].text, nxt[0], source)
                return


def _paper_ticket_number(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """The red 票号 top left, confirmed by (or recovered from) the tail of the 21-char serial at the bottom."""
    serial = None
    for s in layout.segs:
        m = _SERIAL.search(s.text.replace(" ", ""))
        if m:
            serial = (m.group(2), s)
    top = [s for s in sorted(layout.segs, key=lambda s: s.y0) if _PAPER_NO.match(s.text.replace(" ", ""))]
    if top:
        value = _PAPER_NO.match(top[0].text.replace(" ", "")).group(1)
        factor = 1.0 if serial is None or serial[0] == value[-7:] else 0.7
        _put(inv, "invoice_number", value, top[0], source, factor)
    elif serial is not None:
        _put(inv, "invoice_number", serial[0], serial[1], source, 0.9)


def _computed_tax(inv: Invoice) -> None:
    total = inv.fields.get("total_incl_tax")
    if total is None or "tax_amount" in inv.fields or "amount_excl_tax" in inv.fields:
        return
    ex_tax, tax = tax_from_inclusive(total.value, RAIL_VAT_RATE)
    conf = round(total.confidence * COMPUTED_CONFIDENCE, 4)
    inv.set("amount_excl_tax", ex_tax, conf, FieldSource.COMPUTED)
    inv.set("tax_amount", tax, conf, FieldSource.COMPUTED)


__all__ = ["RAIL_VAT_RATE", "extract_ticket", "looks_like_rail_ticket"]
