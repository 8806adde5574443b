"""Money: parsing 小写 amounts, 大写 conversion both ways, tax split, tax-rate parsing (DOMAIN §0, §1.5, §4).

Contract:
* Every amount returned is a ``Decimal`` quantized to 0.01 (fen), rounded half-up. Floats are refused.
* ``parse_amount`` / ``from_upper`` / ``parse_rate`` return ``None`` for anything they cannot read; they never raise
  on bad text.
* ``to_upper(amount, style)``: ``"digital"`` (数电: ``陆拾圆伍角叁分``) or ``"legacy"`` (税控: ``陆拾圆零伍角叁分``, i.e. 零
  after 圆 when 元位 is 0). Both write 圆, ``整`` after 角, and 零 when 角 is 0 but 分 is not (§4.1 rule 四). Negative
  amounts get the ``（负数）`` prefix. Between 4-digit sections 零 is written only where digits are skipped at the
  start of the lower section (``100001`` 壹拾万零壹, ``107000`` 壹拾万柒仟).
* ``from_upper`` accepts either style, the PBOC 元 forms, traditional characters, 整/正, bare 拾 and the
  ``人民币 ¥ ⓧ ⊗ × （负数）`` decorations; compare its result with the 小写 value, never the strings.
* ``tax_from_inclusive(total, rate)`` → ``(ex_tax, tax)`` with ``tax = round_half_up(total × rate / (1 + rate))`` and
  ``ex_tax = total − tax``, so the two always add up to ``total``.
* ``parse_rate`` → a decimal-fraction string (``"0.13"``, ``"0.00"``) or ``"免税"`` / ``"不征税"`` (``***`` = 不征税).
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from pipeline.text import normalize

FEN = Decimal("0.01")

_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = {"拾": 10, "佰": 100, "仟": 1000}
_VARIANTS = str.maketrans({
    "貳": "贰", "參": "叁", "叄": "叁", "陸": "陆", "億": "亿", "萬": "万", "圓": "圆", "元": "圆",
    "〇": "零", "○": "零", "正": "整",
})
_DECORATIONS = re.compile(r"人民币|[¥ⓧ⊗×Xx]|\(?大写\)?|价税合计|金额")
_NEGATIVE = re.compile(r"\(?负数\)?|^负|^-")
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")
_AMOUNT_NOISE = re.compile(r"\(?小写\)?|[¥\s]|CNY|RMB|圆$|元$")
_RATE = re.compile(r"(\d+(?:\.\d+)?)(%?)")


def _to_decimal(value: Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        raise TypeError("money must be Decimal, str or int, never float")
    return value if isinstance(value, Decimal) else Decimal(str(value).strip())


def quantize(value: Decimal) -> Decimal:
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_amount(s: str | None) -> Decimal | None:
    """Read a printed 小写 amount such as ``'¥1,234.50'``, ``'￥ 46.62'``, ``'(小写)¥52.70'`` or ``'-30.99'``."""
    if not isinstance(s, str):
        return None
    s = _AMOUNT_NOISE.sub("", _THOUSANDS_COMMA.sub("", normalize(s)))
    if not _NUMBER.fullmatch(s):
        return None
    try:
        return quantize(Decimal(s))
    except InvalidOperation:
        return None


def fmt_amount(d: Decimal) -> str:
    """``Decimal('106')`` → ``'106.00'`` (no ``-0.00``)."""
    q = quantize(_to_decimal(d))
    return f"{q:f}" if q else "0.00"


# ---------------------------------------------------------------- number -> 大写

def _section(n: int) -> str:
    """1..9999 → 大写 without a leading 零 (``1010`` 壹仟零壹拾)."""
    out, pending_zero = [], False
    for unit_name, unit in (("仟", 1000), ("佰", 100), ("拾", 10), ("", 1)):
        d = n // unit % 10
        if d == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[d] + unit_name)
    return "".join(out)


def _integer(n: int) -> str:
    for unit_name, base in (("亿", 10**8), ("万", 10**4)):
        if n >= base:
            high, low = divmod(n, base)
            if low == 0:
                return _integer(high) + unit_name
            zero = "零" if low < base // 10 else ""
            return _integer(high) + unit_name + zero + _integer(low)
    return _section(n)


def to_upper(amount: Decimal, style: str = "digital") -> str:
    """Write ``amount`` in 大写 (see the module docstring for the two styles)."""
    if style not in ("digital", "legacy"):
        raise ValueError(f"unknown 大写 style {style!r}; use 'digital' or 'legacy'")
    q = quantize(_to_decimal(amount))
    prefix = "（负数）" if q < 0 else ""
    fen_total = int(abs(q) * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零圆整"
    out = _integer(yuan) + "圆" if yuan else ""
    if jiao == 0 and fen == 0:
        return prefix + out + "整"
    if jiao == 0:
        return prefix + out + ("零" if yuan else "") + _DIGITS[fen] + "分"
    if style == "legacy" and yuan and yuan % 10 == 0:
        out += "零"
    out += _DIGITS[jiao] + "角" + (_DIGITS[fen] + "分" if fen else "整")
    return prefix + out


# ---------------------------------------------------------------- 大写 -> number

def _parse_integer(text: str) -> int | None:
    total = section = 0
    digit: int | None = None
    last_unit = 10**4  # units inside one section must decrease: 仟 > 佰 > 拾
    for ch in text:
        if ch == "零":
            if digit is not None:
                return None
        elif ch in _DIGITS:
            if digit is not None:
                return None
            digit = _DIGITS.index(ch)
        elif ch in _SMALL_UNITS:
            unit = _SMALL_UNITS[ch]
            if unit >= last_unit:
                return None
            section += (1 if digit is None else digit) * unit
            digit, last_unit = None, unit
        elif ch == "万":
            if section + (digit or 0) == 0:
                return None
            total += (section + (digit or 0)) * 10**4
            section, digit, last_unit = 0, None, 10**4
        elif ch == "亿":
            if total + section + (digit or 0) == 0:
                return None
            total = (total + section + (digit or 0)) * 10**8
            section, digit, last_unit = 0, None, 10**4
        else:
            return None
    return total + section + (digit or 0)


def _parse_fraction(text: str) -> int | None:
    """``'零伍角叁分'`` → 53 (in fen)."""
    m = re.fullmatch(r"零?(?:([壹贰叁肆伍陆柒捌玖])角)?零?(?:([壹贰叁肆伍陆柒捌玖])分)?", text)
    if m is None:
        return None
    jiao, fen = (_DIGITS.index(g) if g else 0 for g in m.groups())
    return jiao * 10 + fen


def from_upper(text: str) -> Decimal | None:
    """Read a 大写 amount (``'叁仟伍佰伍拾圆零柒角整'``, ``'（负数）伍佰圆整'``, ``'拾元整'``); ``None`` if unreadable."""
    if not isinstance(text, str):
        return None
    s = "".join(normalize(text).split()).translate(_VARIANTS)
    s = s.split("(小写)")[0].split("小写")[0]
    s, negative_marks = _NEGATIVE.subn("", _DECORATIONS.sub("", s))
    s = s.rstrip("整")
    if not s or not any(c in s for c in _DIGITS + "拾佰仟万亿"):
        return None
    if s.count("圆") > 1:
        return None
    if "圆" in s:
        int_text, frac_text = s.split("圆")
    elif "角" in s or "分" in s:
        int_text, frac_text = "", s
    else:
        int_text, frac_text = s, ""
    yuan = _parse_integer(int_text)
    fen = _parse_fraction(frac_text)
    if yuan is None or fen is None:
        return None
    value = Decimal(yuan * 100 + fen) / 100
    return quantize(-value if negative_marks else value)


# ---------------------------------------------------------------- tax

def tax_from_inclusive(total: Decimal, rate: Decimal) -> tuple[Decimal, Decimal]:
    """Split a tax-inclusive amount: ``('41.00', '0.09')`` → ``(37.61, 3.39)``."""
    total, rate = quantize(_to_decimal(total)), _to_decimal(rate)
    if rate < 0 or not rate.is_finite() or not total.is_finite():
        raise ValueError(f"cannot split {total} at rate {rate}")
    tax = quantize(total * rate / (1 + rate))
    return total - tax, tax


def parse_rate(s: str | None) -> str | None:
    """``'13%'`` / ``'0.13'`` / ``'0.130000'`` → ``'0.13'``; ``'免税'``; ``'不征税'`` / ``'***'`` → ``'不征税'``."""
    if not isinstance(s, str):
        return None
    s = "".join(normalize(s).split())
    if "不征税" in s or (s and set(s) == {"*"}):
        return "不征税"
    if "免税" in s or "免征" in s:
        return "免税"
    m = _RATE.fullmatch(s)
    if m is None:
        return None
    value = Decimal(m.group(1))
    if m.group(2) or value >= 1:
        value /= 100
    if value >= 1:
        return None
    exact = value.quantize(FEN)
    return str(exact) if exact == value else str(value.normalize())


__all__ = [
    "FEN", "fmt_amount", "from_upper", "parse_amount", "parse_rate", "quantize", "tax_from_inclusive", "to_upper",
]
