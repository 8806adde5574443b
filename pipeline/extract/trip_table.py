"""Ride-hailing 行程单 (滴滴/高德/… trip tables, DOMAIN §1.4 G): evidence attached to a claim, never an invoice.

Contract: ``looks_like_trip_table(layout)`` recognises one (a 行程单 title plus trip-table wording, and no 发票号码).
``extract_trip_table(layout, inv, source)`` sets ``title`` and, where printed, ``apply_date`` (date),
``period_start`` / ``period_end`` (dates), ``trip_count`` (str) and ``trip_total`` (Decimal). It never sets
``total_incl_tax`` or the tax fields: a trip table's amount is not counted (the ride-hailing invoice is).
"""

from __future__ import annotations

import re

from pipeline.extract import fields as F
from pipeline.extract.layout import Layout, spaced
from pipeline.money import parse_amount
from pipeline.types import FieldSource, Invoice

_TITLE = re.compile(r"行\s*程\s*单|TRIP\s*TABLE", re.IGNORECASE)
_TABLE_WORDS = re.compile(r"行程起止|上车时间|共\s*\d+\s*[笔个单]\s*行程|行程人|申请日期|起\s*点|终\s*点")
_ISO = r"(\d{4}[-./年]\d{1,2}[-./月]\d{1,2})"
_TOTAL = re.compile(r"合\s*计\s*[:：]?\s*(\d[\d,]*(?:\.\d{1,2})?)\s*元")
_COUNT = re.compile(r"共\s*(\d+)\s*[笔个单]\s*行程")


def looks_like_trip_table(layout: Layout) -> bool:
    text = " ".join(s.text for s in layout.segs)
    return bool(_TITLE.search(text) and _TABLE_WORDS.search(text) and not re.search(spaced("发票号码"), text)
                and "航空运输" not in text)


def _put(inv: Invoice, key: str, value, seg, source: FieldSource) -> None:
    inv.set(key, value, seg.conf, source, seg.box, seg.page)


def extract_trip_table(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    heading = next((s for s in sorted(layout.segs, key=lambda s: s.y0) if _TITLE.search(s.text)), None)
    if heading is not None:
        _put(inv, "title", heading.text, heading, source)
    for label, key in ((spaced("申请日期"), "apply_date"), (spaced("行程起止日期"), "period_start"),
                       (spaced("行程起止时间"), "period_start")):
        hits = layout.value_after(label, _ISO)
        if hits and key not in inv.fields:
            d = F.date_from_text(hits[0].value)
            if d:
                inv.set(key, d, hits[0].conf, source, hits[0].box, hits[0].page)
    ends = layout.value_after(_ISO + r"\s*至", _ISO)
    if ends:
        d = F.date_from_text(ends[0].value)
        if d:
            inv.set("period_end", d, ends[0].conf, source, ends[0].box, ends[0].page)
    for chain_seg in layout.segs:
        text, _ = layout.chain(chain_seg)
        m = _COUNT.search(text)
        if m and "trip_count" not in inv.fields and m.start() < len(chain_seg.text):
            _put(inv, "trip_count", m.group(1), chain_seg, source)
        m = _TOTAL.search(text)
        if m and "trip_total" not in inv.fields and m.start() < len(chain_seg.text):
            amount = parse_amount(m.group(1))
            if amount is not None:
                _put(inv, "trip_total", amount, chain_seg, source)


__all__ = ["extract_trip_table", "looks_like_trip_table"]
