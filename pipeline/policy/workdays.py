"""China's working days, with the State Council's adjusted (调休) days, for rule R14.

``is_workday(day) -> bool | None``: from the ``chinese_calendar`` package; ``None`` for a year the installed
package has no data for (it raises ``NotImplementedError`` there), so the caller can say the check was skipped.
Answers are cached per day.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache

import chinese_calendar

_CACHE: dict[date, bool | None] = {}


def is_workday(day: date) -> bool | None:
    try:
        return _CACHE[day]
    except KeyError:
        pass
    try:
        answer: bool | None = bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        answer = None
    _CACHE[day] = answer
    return answer


@lru_cache(maxsize=4096)
def holiday_name(day: date) -> str | None:
    """The holiday's English name (``"National Day"``) when ``day`` is an official holiday, else None."""
    try:
        on_holiday, name = chinese_calendar.get_holiday_detail(day)
    except NotImplementedError:
        return None
    return name if on_holiday and name else None
