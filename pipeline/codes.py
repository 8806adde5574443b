"""Invoice kind from codes, QR type codes and printed titles (DOMAIN §1.1–§1.3, §2.3).

Contract:
* ``invoice_type_from_code(code)`` → the 查验 ``fplx`` namespace (``'01'`` 专票 … ``'99'`` unknown), following the
  查验平台 ``alxd()`` rules of §1.3; anything that is not 10/12 ASCII digits gives ``'99'``.
* ``kind_from_code`` / ``kind_from_qr_type`` / ``kind_from_title`` → ``InvoiceKind`` or ``None`` when the input does
  not decide the kind (local 12-digit codes, unknown type codes, unrecognised titles). The three namespaces are
  never mixed: each function reads only its own.
* ``kind_from_title`` keeps only Chinese characters of the text (so brackets, width, spaces and symbols don't matter),
  maps a few traditional/Japanese look-alikes and looks for the known titles inside it (province prefixes and 联次
  suffixes are fine), allowing one OCR error (edit distance 1) in titles of 6+ characters; the longest matching
  title wins. 卷式/卷票 and 通行费 must be read exactly to refine 普通发票 / 电子普通发票.
* ``is_digital_number`` / ``split_digital_number`` / ``region_of_digital_number``: the 20-digit 数电 number
  (``25442000000012341234`` → year 2025, region ``'44'``, channel ``'2'``).
* ``region_of_code`` / ``region_of_title``: the province (GB/T 2260, two digits) a VAT 发票代码 names (digits 1–2
  of a 10-digit code, 2–3 of a 12-digit one) and the one a printed title starts with (``江苏增值税电子普通发票`` →
  ``'32'``; a 计划单列市 such as 深圳 or 青岛 gives its province); ``None`` when they do not say.
* ``code_in_region(code, region)``: ``code`` with its province digits set to ``region`` when they differ from it in
  exactly one digit and the result is still a VAT code (a blurred ``3`` read ``5``); ``None`` otherwise.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from pipeline.types import InvoiceKind

_SPECIAL_12 = {"144031539110", "131001570151", "133011501118", "111001571071"}
_FPLX_BY_SUFFIX_12 = {"11": "10", "04": "04", "05": "04", "06": "11", "07": "11", "12": "14", "13": "08", "17": "15"}
_FPLX_BY_DIGIT8_10 = {"1": "01", "5": "01", "6": "04", "3": "04", "7": "02", "2": "02"}

_KIND_BY_SUFFIX_12 = {
    "04": InvoiceKind.VAT_NORMAL, "05": InvoiceKind.VAT_NORMAL, "06": InvoiceKind.VAT_ROLL,
    "07": InvoiceKind.VAT_ROLL, "11": InvoiceKind.VAT_E_NORMAL, "12": InvoiceKind.VAT_E_TOLL,
    "13": InvoiceKind.VAT_E_SPECIAL,
}
_KIND_BY_DIGIT8_10 = {"1": InvoiceKind.VAT_SPECIAL, "5": InvoiceKind.VAT_SPECIAL,
                      "6": InvoiceKind.VAT_NORMAL, "3": InvoiceKind.VAT_NORMAL}
_KIND_BY_QR_TYPE = {
    "01": InvoiceKind.VAT_SPECIAL, "04": InvoiceKind.VAT_NORMAL, "08": InvoiceKind.VAT_E_SPECIAL,
    "20": InvoiceKind.VAT_E_SPECIAL,  # seen on a real 增值税电子专用发票 (code ending 13); DOMAIN §2.3 only guesses 08
    "10": InvoiceKind.VAT_E_NORMAL, "11": InvoiceKind.VAT_ROLL, "14": InvoiceKind.VAT_E_TOLL,
    "31": InvoiceKind.DIGITAL_SPECIAL, "32": InvoiceKind.DIGITAL_NORMAL, "51": InvoiceKind.RAIL_E_TICKET,
    "61": InvoiceKind.AIR_E_ITINERARY,
}
_TITLES = [
    ("电子发票铁路电子客票", InvoiceKind.RAIL_E_TICKET),
    ("铁路电子客票", InvoiceKind.RAIL_E_TICKET),
    ("电子发票航空运输电子客票行程单", InvoiceKind.AIR_E_ITINERARY),
    ("航空运输电子客票行程单", InvoiceKind.AIR_PAPER_ITINERARY),
    ("电子发票增值税专用发票", InvoiceKind.DIGITAL_SPECIAL),
    ("电子发票普通发票", InvoiceKind.DIGITAL_NORMAL),
    ("增值税电子专用发票", InvoiceKind.VAT_E_SPECIAL),
    ("增值税电子普通发票", InvoiceKind.VAT_E_NORMAL),
    ("增值税普通发票", InvoiceKind.VAT_NORMAL),
    ("增值税专用发票", InvoiceKind.VAT_SPECIAL),
    ("出租", InvoiceKind.TAXI),
    ("定额发票", InvoiceKind.QUOTA),
]
# Variants decided by one keyword, which must be read exactly (never fuzzily: 卷票 vs 发票联 is one edit apart).
_REFINEMENTS = {InvoiceKind.VAT_NORMAL: ("卷", InvoiceKind.VAT_ROLL),
                InvoiceKind.VAT_E_NORMAL: ("通行费", InvoiceKind.VAT_E_TOLL)}
_LOOKALIKES = str.maketrans("増値稅發專電鐵運輸單額飛", "增值税发专电铁运输单额飞")
_NON_HAN = re.compile(r"[^\u4e00-\u9fff]+")
_DIGITS_10_12 = re.compile(r"\d{10}|\d{12}", re.ASCII)


def invoice_type_from_code(code: str) -> str:
    """发票代码 → 查验 invoice type (port of the national 查验平台 ``alxd()``)."""
    a = code.strip() if isinstance(code, str) else ""
    if not _DIGITS_10_12.fullmatch(a):
        return "99"
    if len(a) == 10:
        return _FPLX_BY_DIGIT8_10.get(a[7], "99")
    if a in _SPECIAL_12:
        return "10"
    c = _FPLX_BY_SUFFIX_12.get(a[10:12], "99") if a[0] == "0" else "99"
    if c == "99" and a[7] == "2" and a[0] != "0":
        c = "03"
    return c


def kind_from_code(code: str) -> InvoiceKind | None:
    """发票代码 → kind for the VAT families; ``None`` for local invoices (1st digit ≠ 0) and unknown codes."""
    a = code.strip() if isinstance(code, str) else ""
    if not _DIGITS_10_12.fullmatch(a):
        return None
    if len(a) == 10:
        return _KIND_BY_DIGIT8_10.get(a[7])
    return _KIND_BY_SUFFIX_12.get(a[10:12]) if a[0] == "0" else None


def kind_from_qr_type(type_code: str) -> InvoiceKind | None:
    """QR field 2 (``'01'``, ``'32'`` …) → kind."""
    return _KIND_BY_QR_TYPE.get(type_code.strip()) if isinstance(type_code, str) else None


def _substring_distance(pattern: str, text: str) -> int:
    """Smallest edit distance between ``pattern`` and any substring of ``text`` (Sellers' algorithm)."""
    prev = list(range(len(pattern) + 1))
    best = prev[-1]
    for ch in text:
        cur = [0]  # a match may start anywhere in text
        for i, p in enumerate(pattern, 1):
            cur.append(min(prev[i] + 1, cur[i - 1] + 1, prev[i - 1] + (p != ch)))
        best = min(best, cur[-1])
        prev = cur
    return best


def kind_from_title(title: str) -> InvoiceKind | None:
    """Printed title (``'电子发票（普通发票）'``, ``'天津增值税电子普通发票'`` …) → kind."""
    if not isinstance(title, str):
        return None
    han = _NON_HAN.sub("", title.translate(_LOOKALIKES))
    best: tuple[int, int, int] | None = None
    best_kind = None
    for priority, (pattern, kind) in enumerate(_TITLES):
        distance = _substring_distance(pattern, han)
        if distance == 0 or (distance == 1 and len(pattern) >= 6):
            # The longest title that matches wins (so a lost character can't demote 数电 to legacy),
            # then the closer match, then list order.
            score = (len(pattern), -distance, -priority)
            if best is None or score > best:
                best, best_kind = score, kind
    if best_kind in _REFINEMENTS and _REFINEMENTS[best_kind][0] in han:
        return _REFINEMENTS[best_kind][1]
    return best_kind


class DigitalNumberParts(NamedTuple):
    year: int
    region: str
    channel: str
    sequence: str


def is_digital_number(n: str) -> bool:
    """A 数电 发票号码 is exactly 20 ASCII digits."""
    return isinstance(n, str) and len(n) == 20 and n.isascii() and n.isdigit()


def split_digital_number(n: str) -> DigitalNumberParts:
    if not is_digital_number(n):
        raise ValueError(f"not a 20-digit 数电 invoice number: {n!r}")
    return DigitalNumberParts(2000 + int(n[:2]), n[2:4], n[4], n[5:])


def region_of_digital_number(n: str) -> str:
    """Digits 3–4: the provincial tax bureau (``'44'`` 广东). Raises ``ValueError`` for non-数电 numbers."""
    return split_digital_number(n).region


_PROVINCES = {
    "北京": "11", "天津": "12", "河北": "13", "山西": "14", "内蒙古": "15", "辽宁": "21", "大连": "21", "吉林": "22",
    "黑龙江": "23", "上海": "31", "江苏": "32", "浙江": "33", "宁波": "33", "安徽": "34", "福建": "35", "厦门": "35",
    "江西": "36", "山东": "37", "青岛": "37", "河南": "41", "湖北": "42", "湖南": "43", "广东": "44", "深圳": "44",
    "广西": "45", "海南": "46", "重庆": "50", "四川": "51", "贵州": "52", "云南": "53", "西藏": "54", "陕西": "61",
    "甘肃": "62", "青海": "63", "宁夏": "64", "新疆": "65",
}


def region_of_code(code: str) -> str | None:
    """The province digits of a VAT 发票代码; ``None`` for local and unknown codes."""
    if kind_from_code(code) is None:
        return None
    a = code.strip()
    return a[:2] if len(a) == 10 else a[1:3]


def code_in_region(code: str, region: str) -> str | None:
    """See the module's contract: the only repair of a code that the printed title can justify."""
    current = region_of_code(code)
    if current is None or len(region) != 2 or sum(a != b for a, b in zip(current, region, strict=True)) != 1:
        return None
    digits = code.strip()
    start = 0 if len(digits) == 10 else 1
    fixed = digits[:start] + region + digits[start + 2:]
    return fixed if kind_from_code(fixed) == kind_from_code(code) else None


def region_of_title(title: str) -> str | None:
    """The province a printed title starts with."""
    head = title.strip()
    return next((region for name, region in _PROVINCES.items() if head.startswith(name)), None)


__all__ = [
    "DigitalNumberParts", "code_in_region", "invoice_type_from_code", "is_digital_number", "kind_from_code",
    "kind_from_qr_type", "kind_from_title", "region_of_code", "region_of_digital_number", "region_of_title",
    "split_digital_number",
]
