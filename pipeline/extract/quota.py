"""通用定额发票 and other fixed-denomination invoices (DOMAIN §1.4 I), also the 定额 taxi invoice.

Contract: ``extract_quota(layout, inv, source)`` sets ``title``, ``invoice_code`` (12 digits), ``invoice_number``
(8 digits), ``total_upper`` (the printed 大写, e.g. ``拾元整``) and ``total_incl_tax``. The amount is the 小写
(``¥10.00``, ``10.00元``, ``10元``) when it agrees with the 大写 or no 大写 is readable; otherwise, and whenever the
小写 is unreadable, it is the 大写's value (same source, confidence × ``UPPER_FACTOR``). A 小写 contradicting the
大写 loses: the 大写 of a 定额 invoice is printed large and cannot be garbled into another valid amount, while a
mis-read digit can. No buyer, date or tax is printed on these invoices; none is set.
``read_fixed_amount`` is the amount reader, shared with the taxi extractor.
"""

from __future__ import annotations

import re

from pipeline.extract import fields as F
from pipeline.extract.layout import Hit, Layout
from pipeline.extract.vat import read_identifiers
from pipeline.money import from_upper, parse_amount
from pipeline.types import FieldSource, Invoice

UPPER_FACTOR = 0.9
_LOWER = re.compile(r"^(?:[(（]?小写[)）]?|金额)?\s*[:：]?\s*[¥YVW羊]?\s*(\d{1,5}(?:\.\d{2})?)\s*元?$")
_AMOUNT_LABEL = re.compile(r"金\s*额|小\s*写|面\s*额")


def _upper_hits(layout: Layout) -> list[Hit]:
    hits = F.upper_segments(layout) + F.upper_after(layout, _AMOUNT_LABEL)
    return sorted(hits, key=lambda h: -(h.box[3] - h.box[1]))  # the largest print first


def _lower_hits(layout: Layout) -> list[Hit]:
    out = []
    for s in layout.segs:
        m = _LOWER.match(s.text.replace(" ", ""))
        if m and ("." in m.group(1) or "元" in s.text or "¥" in s.text or _AMOUNT_LABEL.search(s.text)):
            out.append(Hit(m.group(1), s.box, s.conf, s.page, s.box))
    return out + F.money_after(layout, _AMOUNT_LABEL)


def read_fixed_amount(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """``total_upper`` and ``total_incl_tax`` of a fixed-amount invoice (see the module contract)."""
    uppers = [(h, from_upper(h.value)) for h in _upper_hits(layout)]
    uppers = [(h, v) for h, v in uppers if v is not None and v > 0]
    lowers = [(h, parse_amount(h.value)) for h in _lower_hits(layout)]
    lowers = [(h, v) for h, v in lowers if v is not None and v > 0]
    upper = uppers[0] if uppers else None
    if upper:
        inv.set("total_upper", upper[0].value, round(upper[0].conf, 4), source, upper[0].box, upper[0].page)
    agreeing = [(h, v) for h, v in lowers if upper is None or v == upper[1]]
    if agreeing:
        hit, value = agreeing[0]
        inv.set("total_incl_tax", value, round(hit.conf, 4), source, hit.box, hit.page)
    elif upper:
        hit, value = upper
        inv.set("total_incl_tax", value, round(hit.conf * UPPER_FACTOR, 4), source, hit.box, hit.page)


def extract_quota(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    read_identifiers(layout, inv, source)
    read_fixed_amount(layout, inv, source)


__all__ = ["UPPER_FACTOR", "extract_quota", "read_fixed_amount"]
