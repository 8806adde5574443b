"""Shared pieces of the rules: the rule signatures and a ``Finding`` builder with string evidence.

A line rule is ``rule(line, ctx) -> list[Finding]`` (one invoice of the claim); a claim rule is
``rule(ctx) -> list[Finding]`` (the claim as a whole: splitting, agency double-claims, entertainment events).
Messages are written for the employee: what is wrong, and what happens or what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.types import Finding, Severity

LineRule = Callable[[ClaimLine, CheckContext], list[Finding]]
ClaimRule = Callable[[CheckContext], list[Finding]]


def text(value: Any) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)  # money arrives fen-exact ("1200.00"); hours and ratios keep their own digits
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ", ".join(text(v) for v in value)
    return str(value)


_CENT = Decimal("0.01")


def finding(rule_id: str, severity: Severity, zh: str, en: str, line: ClaimLine | None = None,
            suggested: Decimal | None = None, key: str | None = None, **evidence: Any) -> Finding:
    values = {}
    for name, value in evidence.items():
        if value is not None:
            values[name] = value if type(value) is str else text(value)
    return Finding(rule_id, severity, zh, en, values,
                   key if key is not None else (line.key if line is not None else None),
                   None if suggested is None else suggested.quantize(_CENT))


@lru_cache(maxsize=1)
def _category_names() -> dict[str, tuple[str, str]]:
    try:
        from models.taxonomy import load_taxonomy
    except ImportError:  # the pipeline without the model package: codes are shown as they are
        return {}
    return {c.code: (c.name_zh, c.name_en) for c in load_taxonomy().categories}


def category_name(code: str | None) -> tuple[str, str]:
    """(中文, English) name of an expense category code, e.g. ``travel.lodging`` -> (差旅费-住宿, Travel - lodging)."""
    if not code:
        return "该类", "this kind of"
    return _category_names().get(code, (code, code))


def money(value: Decimal | None) -> str:
    return "?" if value is None else f"{value:.2f}"
