"""Values printed after their label or right below it (ticket and receipt forms print both ways).

Contract: ``value_near(layout, label, value)`` returns the ``Hit`` of the first place, top to bottom, where
``label`` is followed on its row, before any column break, by text matching ``value`` (``Layout.value_after``);
failing that, where a box directly below the label (overlapping it horizontally, within ``BELOW_ROWS`` text
heights, nearest first) matches ``value`` from its start; failing that, the first match after one column break
on the label's row (a label printed far from its value). The value is group 1 of ``value`` if it has groups. ``money_near`` reads an amount that
may carry a ``¥``/``CNY``/``CN``/``YQ`` prefix (DOMAIN §1.4 F: strip them) and returns it as a 2-dp string.
"""

from __future__ import annotations

import re

from pipeline.extract.layout import Hit, Layout
from pipeline.money import parse_amount

BELOW_ROWS = 2.6
MONEY = r"(?:CNY|CN|YQ|RMB|[¥YVW])?\s*(-?\d[\d,]*(?:\.\d{1,2})?)(?![\d.])"


def value_near(layout: Layout, label: str | re.Pattern[str], value: str | re.Pattern[str]) -> Hit | None:
    vrx = re.compile(value) if isinstance(value, str) else value
    after = layout.value_after(label, vrx, skip_gap=False)
    if after:
        return min(after, key=lambda h: (h.y0, h.x0))
    for box, seg in sorted(layout.labels(label), key=lambda bs: (bs[0][1], bs[0][0])):
        x0, y0, x1, y1 = box
        h = y1 - y0
        below = [s for s in layout.segs if s.y0 >= y1 - 0.3 * h and s.y0 - y1 < BELOW_ROWS * h
                 and min(s.x1, x1 + h) > max(s.x0, x0 - h)]
        # nearest row first, then the box sharing most width with the label
        for s in sorted(below, key=lambda s: (round((s.y0 - y1) / h), -(min(s.x1, x1) - max(s.x0, x0)))):
            m = vrx.match(s.text.strip())
            if m and m.end() > 0:
                text = m.group(1) if vrx.groups else m.group(0)
                if text is not None:
                    return Hit(text.strip(), s.box, s.conf, s.page, box)
    after = layout.value_after(label, vrx)
    return min(after, key=lambda h: (h.y0, h.x0)) if after else None


def money_near(layout: Layout, label: str | re.Pattern[str]) -> Hit | None:
    hit = value_near(layout, label, MONEY)
    if hit is None:
        return None
    amount = parse_amount(hit.value)
    return Hit(str(amount), hit.box, hit.conf, hit.page, hit.label_box) if amount is not None else None


__all__ = ["BELOW_ROWS", "MONEY", "money_near", "value_near"]
