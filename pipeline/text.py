"""Text normalisation for OCR / PDF / OFD text (DOMAIN §0, §1.6).

Contract:
* ``normalize(s)`` maps the full-width ASCII block (digits, letters, ``（）：，％＊`` …) and the ideographic space to
  their half-width forms, unifies ``￥`` to ``¥``, collapses runs of spaces/tabs to one space and trims every line.
  Chinese characters, newlines and other symbols (``ⓧ``, ``①``) are kept as they are.
* ``fix_numeric(s)`` is for fields known to be numeric only: normalises, maps ``O/o→0`` and ``I/l→1`` and drops all
  whitespace (OFD prints 校验码 in groups of five).
* ``split_item_name(name)`` splits ``*简称*名称`` into ``(简称, 名称)``; ``(None, name)`` when there is no 简称.
"""

from __future__ import annotations

import re

_FULL_TO_HALF = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)}
_FULL_TO_HALF[0x3000] = 0x20  # ideographic space
_FULL_TO_HALF[0xFFE5] = 0xA5  # ￥ -> ¥
_FULL_TO_HALF[0x00A0] = 0x20  # no-break space

_NUMERIC_FIXES = str.maketrans({"O": "0", "o": "0", "I": "1", "l": "1"})
_HSPACE = re.compile(r"[^\S\n]+")
_ITEM_NAME = re.compile(r"^\*([^*]+)\*(.*)$", re.S)


def normalize(s: str) -> str:
    """Full-width to half-width, ``￥``→``¥``, collapse horizontal whitespace, trim each line."""
    s = s.translate(_FULL_TO_HALF).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(_HSPACE.sub(" ", line).strip() for line in s.split("\n")).strip()


def fix_numeric(s: str) -> str:
    """Repair a numeric field: normalise, ``O/o``→``0``, ``I/l``→``1``, remove all whitespace."""
    return "".join(normalize(s).translate(_NUMERIC_FIXES).split())


def split_item_name(name: str) -> tuple[str | None, str]:
    """``'*餐饮服务*餐费'`` → ``('餐饮服务', '餐费')``; ``'办公用品'`` → ``(None, '办公用品')``."""
    name = normalize(name)
    m = _ITEM_NAME.match(name)
    if m is None:
        return None, name
    return m.group(1).strip(), m.group(2).strip()


__all__ = ["fix_numeric", "normalize", "split_item_name"]
