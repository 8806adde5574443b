"""Taxpayer identifiers: 统一社会信用代码 (USCC), 居民身份证号 and the older forms (DOMAIN §3).

Contract:
* ``is_valid_uscc(s)``: 18 chars from the GB 32100 alphabet, the GB 32100 check char (position 18) **and** the
  GB 11714 check char of the embedded 组织机构代码 (positions 9–17) are both right.
* ``is_valid_id_card(s)``: 18-char 居民身份证号 with a real birth date and the GB 11643 check char.
* ``classify_tax_id(s)`` triages a printed 纳税人识别号 into ``'uscc'``, ``'uscc_bad_checksum'`` (USCC-shaped but a
  check fails — warn, never hard-reject), ``'id_card'``, ``'old_15'`` (old 15-char 税务登记证号 / old ID),
  ``'id_20'`` (ID + 2-digit sequence, or 15-digit ID + ``00000``) or ``'unknown'``.
All functions ignore surrounding/inner whitespace, full-width characters and letter case; they never raise.
"""

from __future__ import annotations

import re
from datetime import date

from pipeline.text import normalize

USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_USCC_SHAPE = re.compile(f"[{USCC_CHARSET}]{{18}}")
_ID_SHAPE = re.compile(r"\d{17}[\dX]")


def _clean(s: object) -> str:
    return "".join(normalize(s).split()).upper() if isinstance(s, str) else ""


def _org_code_ok(code: str) -> bool:
    """GB 11714 组织机构代码: 8 body chars + check char (``X`` for 10, ``0`` for 11)."""
    body, check = code[:8], code[8]
    if not body.isalnum() or not body.isascii():
        return False
    total = sum(int(c, 36) * w for c, w in zip(body, _ORG_WEIGHTS))
    r = 11 - total % 11
    return check == {10: "X", 11: "0"}.get(r, str(r))


def _uscc_check_char(first17: str) -> str:
    total = sum(USCC_CHARSET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS))
    return USCC_CHARSET[(31 - total % 31) % 31]


def is_valid_uscc(s: str) -> bool:
    s = _clean(s)
    return bool(_USCC_SHAPE.fullmatch(s)) and _uscc_check_char(s[:17]) == s[17] and _org_code_ok(s[8:17])


def _birth_date_ok(yyyymmdd: str) -> bool:
    try:
        return date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8])).year >= 1900
    except ValueError:
        return False


def is_valid_id_card(s: str) -> bool:
    s = _clean(s)
    if not _ID_SHAPE.fullmatch(s) or not _birth_date_ok(s[6:14]):
        return False
    return "10X98765432"[sum(int(c) * w for c, w in zip(s, _ID_WEIGHTS)) % 11] == s[17]


def classify_tax_id(s: str) -> str:
    s = _clean(s)
    if len(s) == 18:
        if is_valid_uscc(s):
            return "uscc"
        if is_valid_id_card(s):
            return "id_card"
        return "uscc_bad_checksum" if _USCC_SHAPE.fullmatch(s) else "unknown"
    if len(s) == 15 and re.fullmatch(r"\d{6}[0-9A-Z]{9}", s):
        return "old_15"
    if len(s) == 20 and (is_valid_id_card(s[:18]) and s[18:].isdigit() or re.fullmatch(r"\d{15}0{5}", s)):
        return "id_20"
    return "unknown"


__all__ = ["USCC_CHARSET", "classify_tax_id", "is_valid_id_card", "is_valid_uscc"]
