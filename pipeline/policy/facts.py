"""Facts about one invoice that several rules need: service date, duplicate keys, seller, items, tax rates.

* ``service_date(inv)``: the day the service was used — the travel day for rail tickets and flights
  (``depart_datetime`` / ``flight_date``), the first 通行日期 for tolls, else the issue date (DOMAIN §1.4 E, R7).
* ``duplicate_keys(inv)``: every key under which the same expense may appear again (DOMAIN §6.3 R3): the business key
  (legacy ``code:number``, 数电 number), ``ticket:<电子客票号>`` (paper and 数电 行程单 of one flight, rail e-ticket),
  ``seat:<train>:<YYYYMMDDHHMM>:<seat>`` (a paper 报销凭证 and the rail e-invoice for the same seat) and
  ``flight:<flight no>:<date>:<passenger>``. Identifiers are normalised (full-width, spaces, case) first, so the
  same invoice read from PDF, OFD and XML gives the same keys.
* ``seller_ref(inv)``: the seller's tax ID, else ``name:<normalised name>``, else ``code:<invoice code>`` (定额 and
  taxi receipts carry no seller), else None — the key history lookups by seller use.
* ``rate_text(raw)``: a printed tax rate as canonical text (``"0.06"``, ``"免税"``, ``"不征税"``), None if unreadable.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import lru_cache
from decimal import Decimal, InvalidOperation

from pipeline.policy.company import normalize_name
from pipeline.text import normalize

FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20, 0xA0: 0x20}
from pipeline.types import Invoice, InvoiceKind

RAIL_KINDS = frozenset({InvoiceKind.RAIL_E_TICKET, InvoiceKind.RAIL_PAPER_TICKET})
AIR_KINDS = frozenset({InvoiceKind.AIR_E_ITINERARY, InvoiceKind.AIR_PAPER_ITINERARY})
TICKET_KINDS = RAIL_KINDS | AIR_KINDS


def normalize_id(text: object) -> str:
    raw = str(text)
    if raw.isascii() and raw.isalnum():  # the usual case: already clean
        return raw.upper()
    return "".join(normalize(raw).split()).upper()


def _day(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return None


def service_date(inv: Invoice) -> date | None:
    fields = inv.fields
    for key in ("depart_datetime", "flight_date", "period_start", "issue_date"):
        fv = fields.get(key)
        if fv is not None:
            day = _day(fv.value)
            if day is not None:
                return day
    return None


def duplicate_keys(inv: Invoice) -> list[str]:
    keys = []
    number = inv.get("invoice_number")
    if number:
        code = inv.get("invoice_code")
        keys.append(f"{normalize_id(code)}:{normalize_id(number)}" if code else normalize_id(number))
    if inv.kind in TICKET_KINDS:
        ticket = inv.get("e_ticket_no")
        if ticket:
            keys.append(f"ticket:{normalize_id(ticket)}")
        depart = inv.get("depart_datetime")
        if inv.kind in RAIL_KINDS:
            train, seat = inv.get("train_no"), inv.get("seat_no")
            if train and seat and isinstance(depart, datetime):
                keys.append(f"seat:{normalize_id(train)}:{depart:%Y%m%d%H%M}:{normalize_id(seat)}")
        else:
            flight, passenger = inv.get("flight_no"), inv.get("passenger_name")
            day = _day(depart) or _day(inv.get("flight_date"))
            if flight and passenger and day:
                keys.append(f"flight:{normalize_id(flight)}:{day:%Y%m%d}:{normalize_name(passenger)}")
    return keys


def seller_ref(inv: Invoice) -> str | None:
    tax_id = inv.get("seller_tax_id")
    if tax_id:
        return normalize_id(tax_id)
    name = inv.get("seller_name")
    if name:
        return f"name:{normalize_name(name)}"
    code = inv.get("invoice_code")
    if code:
        return f"code:{normalize_id(code)}"
    return None


@lru_cache(maxsize=256)
def rate_text(raw: str | None) -> str | None:
    if raw is None:
        return None
    text = normalize(str(raw)).replace(" ", "")
    if text in ("免税", "不征税"):
        return text
    if text in ("***", "*"):
        return "不征税"
    try:
        value = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    if value > 1:
        value /= 100
    return str(value.normalize()) if value else "0"


_ITEM_NAME = re.compile(r"^\*([^*]+)\*(.*)$", re.DOTALL)


def item_parts(name: str) -> tuple[str | None, str]:
    """``(简称, free text)`` of an item name; a line printed without asterisks has no 简称.

    Same result as ``pipeline.text.split_item_name`` for one-line names, without its whole-text normalisation.
    """
    text = (name or "").translate(FULL_TO_HALF).strip()
    m = _ITEM_NAME.match(text)
    if m is None:
        return None, " ".join(text.split())
    return m.group(1).strip(), " ".join(m.group(2).split())
