"""Readers for the fields every invoice kind prints: identifiers, dates, money, parties, title.

Contract: the functions take a ``Layout`` and return ``Hit``s (or one ``Hit``/``None``) whose ``value`` is
already cleaned into its canonical text form (digits only, ``YYYY-MM-DD``, ``'46.62'``, repaired 大写 text …);
the callers convert and store them. Nothing here guesses: a value without the expected shape is dropped. OCR
look-alikes are repaired only where the field's shape makes the repair unambiguous (``O``→``0`` in numbers,
``V``/``W`` for ``¥`` before an amount, 查→壹 inside a 大写 amount, O/I/Z/S in a tax ID only if the result passes
the USCC check).
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from pipeline.extract.layout import Hit, Layout, Seg, union
from pipeline.money import from_upper, parse_amount
from pipeline.taxid import USCC_CHARSET, is_valid_uscc
from pipeline.text import fix_numeric
from pipeline.types import Box

HAN = r"\u4e00-\u9fff"
_DIGITISH = r"[0-9OoIl]"
_DATE = re.compile(r"(?P<y>[0-9OoIl]{4})\s*[年\-./]?\s*(?P<m>[0-9OoIl]{1,2})\s*[月\-./]?\s*(?P<d>[0-9OoIl]{1,2})")
_DATETIME = re.compile(r"(?P<y>\d{4})\s*[年\-./]\s*(?P<m>\d{1,2})\s*[月\-./]\s*(?P<d>\d{1,2})\s*日?\s*"
                       r"(?P<H>\d{1,2})\s*[:：]\s*(?P<M>\d{2})")
_YEN = "¥YVW羊半"  # ¥ and what OCR reads it as
_MONEY_SEG = re.compile(rf"^(?:\(?小写\)?)?\s*(-?)([{_YEN}]?)\s*(-?\d[\d,]*\.\d{{2}})$")
_UPPER_CHARS = "零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆元角分整正貳陸億萬圓"
# OCR confusions inside a 大写 amount (查拾 for 壹拾 …); only used where the text is otherwise 大写
_UPPER_LOOKALIKES = {"查": "壹", "壶": "壹", "武": "贰", "贡": "贰", "参": "叁", "叄": "叁", "律": "肆", "肄": "肆",
                     "伤": "伍", "陡": "陆", "染": "柒", "桨": "柒", "别": "捌", "据": "捌", "政": "玖", "玫": "玖",
                     "园": "圆", "图": "圆", "甬": "角"}
_UPPER_FIX = str.maketrans(_UPPER_LOOKALIKES)
_UPPER_RUN = f"[{_UPPER_CHARS}{''.join(_UPPER_LOOKALIKES)}]"
_UPPER = re.compile(rf"(?:[ⓧ⊗×Xx]\s*)?(?:\(?负数\)?)?{_UPPER_RUN}{{2,}}")
_CIPHER = re.compile(r"[<>*/+]")
_TAX_ID_LABEL = re.compile(r"纳\s*税\s*人\s*识\s*\S\s*号|(?:\S\s*税\s*人\s*)?识\s*[别制列]\s*号"
                           r"|统一社会\S{2}代码(?!\s*/)|(?<![统一])社会\S{2}代\S{1,8}号"
                           r"|(?<!代码/)(?<!代码)税\s*人\s*\S\s*\S\s*号")
# OCR: 识制号, 的税人识别号, 统一社会信息代码, 社会信用代购的权人职留号, 纳税人同期号
_NAME_STOP = re.compile(r"名\s*称|纳税人|地址|电话|开户行|统一社会|密码|^\s*[密备区码]\s*$")
_TAX_ID_FIXES = str.maketrans({"O": "0", "I": "1", "Z": "2", "S": "5", "V": "U"})
# Parties: labels that say which side they belong to, then anchors (vertical 购买方 / 销售方 headers).
_BUYER_NAME = re.compile(r"(?:购买方|购方|购货单位|买方)\s*名\s*称")
_SELLER_NAME = re.compile(r"(?:销售方|销方|销货单位|卖方)\s*名\s*称")
# OCR may lose the 称 box, or misread it (名 作:)
_GENERIC_NAME = re.compile(r"(?<![目务行户位方])名\s*(?:称|\S[:：])|^名(?=\s|$)")
_ANCHOR = re.compile(r"^(?:(?P<b>购买方|购方|购|买方)|(?P<s>销售方|销方|销))(?:名\s*称|信息?)?\s*[:：]?(?=\s|$)")


def date_from_text(text: str) -> date | None:
    m = _DATE.search(text)
    if not m:
        return None
    try:
        d = date(int(fix_numeric(m["y"])), int(fix_numeric(m["m"])), int(fix_numeric(m["d"])))
    except ValueError:
        return None
    return d if 1990 <= d.year <= 2099 else None


def datetime_from_text(text: str) -> datetime | None:
    m = _DATETIME.search(text)
    if not m:
        return None
    try:
        return datetime(int(m["y"]), int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]))
    except ValueError:
        return None


def digits_after(layout: Layout, label: str | re.Pattern[str], lengths: tuple[int, ...]) -> list[Hit]:
    """Numbers of one of ``lengths`` digits printed after ``label`` (spaces inside the number allowed)."""
    out = []
    for compact in (False, True):
        for hit in layout.value_after(label, rf"({_DIGITISH}+)", compact=compact):
            value = fix_numeric(hit.value)
            if len(value) in lengths and value.isdigit() and not any(h.label_box == hit.label_box for h in out):
                out.append(Hit(value, hit.box, hit.conf, hit.page, hit.label_box))
    return out


def date_after(layout: Layout, label: str | re.Pattern[str]) -> list[Hit]:
    out = []
    for hit in layout.value_after(label, r"([0-9OoIl][0-9OoIl\s年月日\-./]{5,20})"):
        d = date_from_text(hit.value)
        if d:
            out.append(Hit(d.isoformat(), hit.box, hit.conf, hit.page, hit.label_box))
    return out


def money_after(layout: Layout, label: str | re.Pattern[str]) -> list[Hit]:
    """Amounts with 2 decimals printed after ``label`` (``¥``, or a letter OCR made of it, may precede)."""
    out = []
    for hit in layout.value_after(label, rf"((?:-\s*)?[{_YEN}]?\s*-?\d[\d,]*\.\d{{2}})(?![\d.])"):
        amount = money_in(hit.value)
        if amount is not None:
            out.append(Hit(str(amount), hit.box, hit.conf, hit.page, hit.label_box))
    return out


def money_in(seg_text: str, *, with_yen: bool = False) -> Decimal | None:
    """An amount printed alone in a box (``¥46.62``, ``(小写)¥52.70``, ``-2.92``); not a bare integer.
    ``with_yen``: only if the ¥ sign (or a letter OCR made of it) is printed."""
    m = _MONEY_SEG.match(seg_text.replace(" ", ""))
    if m is None or (with_yen and not m.group(2)):
        return None
    return parse_amount(m.group(1) + m.group(3))


def money_tokens(seg_text: str) -> list[Decimal]:
    """The amounts of a box holding one or more of them (``¥47.26 ¥6.14``); ``[]`` if anything else is there."""
    tokens = re.sub(rf"([{_YEN}])\s+", r"\1", seg_text).split()
    values = [money_in(t) for t in tokens]
    return [v for v in values if v is not None] if tokens and all(v is not None for v in values) else []


def upper_text(raw: str) -> str | None:
    """The 大写 amount in ``raw`` as readable text (⊗ mark dropped, look-alikes repaired), or ``None``."""
    m = _UPPER.search(raw.replace(" ", ""))
    if not m:
        return None
    text = re.sub(r"^[ⓧ⊗×Xx]", "", m.group(0))
    if not re.search(r"[圆元角分整正圓]$", text) or len(re.findall(f"[{_UPPER_CHARS}]", text)) < 0.6 * len(text):
        return None
    if from_upper(text) is not None:
        return text
    fixed = text.translate(_UPPER_FIX)
    return fixed if from_upper(fixed) is not None else None


def upper_after(layout: Layout, label: str | re.Pattern[str]) -> list[Hit]:
    """大写 amounts after ``label``, as ``upper_text`` gives them."""
    out = []
    for h in layout.value_after(label, rf"[^\t{_UPPER_RUN[1:-1]}]{{0,2}}({_UPPER.pattern})(?!{_UPPER_RUN})"):
        text = upper_text(h.value)
        if text:
            out.append(Hit(text, h.box, h.conf, h.page, h.label_box))
    return out


def upper_segments(layout: Layout) -> list[Hit]:
    """Boxes holding nothing but a 大写 amount."""
    out = []
    for s in layout.segs:
        text = upper_text(s.text)
        if text and len(text) >= len(s.text.replace(" ", "")) - 3:
            out.append(Hit(text, s.box, s.conf, s.page, s.box))
    return out


def clean_tax_id(raw: str) -> str | None:
    """A printed 纳税人识别号 (15–20 chars), with O/I/Z/S look-alikes repaired when that makes a valid USCC."""
    value = re.sub(r"[\s.,·]", "", raw).upper()
    if not re.fullmatch(r"[0-9A-Z]{15,20}", value):
        return None
    if len(value) == 18 and not is_valid_uscc(value):
        fixed = value.translate(_TAX_ID_FIXES)
        if all(c in USCC_CHARSET for c in fixed) and is_valid_uscc(fixed):
            return fixed
    return value


def _labelled(layout: Layout, label: re.Pattern[str], value: str, clean) -> list[Hit]:
    """Every ``label`` with its cleaned value, ``''`` where the printed value is empty or unreadable."""
    out = []
    for hit in layout.value_after(label, value):
        cleaned = clean(hit.value)
        out.append(Hit(cleaned or "", hit.box if cleaned else hit.label_box, hit.conf, hit.page, hit.label_box))
    for box, seg in layout.labels(label):
        if all(h.label_box != box for h in out):
            out.append(Hit("", box, seg.conf, seg.page, box))
    return out


def tax_ids(layout: Layout) -> list[Hit]:
    """Every 纳税人识别号 / 统一社会信用代码 label, with its value (``''`` when none is printed). When the text
    right after the label is something else (rows squeezed together on a photo), the nearest box on the label's
    row that holds nothing but a taxpayer ID is taken."""
    out = []
    hits = _labelled(layout, _TAX_ID_LABEL, r"([0-9A-Za-z]{15,20})(?![0-9A-Za-z])", clean_tax_id)
    label_boxes = [h.label_box for h in hits]

    def past_another_label(label: Box, value: Box) -> bool:
        """The value belongs to another column: a label stands between them, or a wide gap (数电 pages print the
        buyer's and the seller's ID rows side by side, and the buyer's value may be empty)."""
        if value[0] - label[2] > 10 * (label[3] - label[1]):
            return True
        return any(b != label and label[2] <= b[0] < value[0] and b[1] < value[3] and value[1] < b[3]
                   for b in label_boxes)

    for h in hits:
        if h.value and past_another_label(h.label_box, h.box):
            h = Hit("", h.label_box, h.conf, h.page, h.label_box)
        if not h.value:
            for s in layout.right_of_box(h.label_box)[:3]:
                value = clean_tax_id(s.text)
                if value and re.search(r"\d", value) and not past_another_label(h.label_box, s.box):
                    h = Hit(value, s.box, s.conf, s.page, h.label_box)
                    break
        out.append(h)
    return out


def _valid_ids(layout: Layout) -> list[Hit]:
    """Every box that holds nothing but a valid USCC (the seal, a value whose label OCR garbled)."""
    out = []
    for s in layout.segs:
        value = clean_tax_id(s.text.strip(" :：.。"))
        if value and len(value) == 18 and is_valid_uscc(value):
            out.append(Hit(value, s.box, s.conf, s.page, s.box))
    return out


def _checked(hit: Hit, valid: list[Hit]) -> Hit:
    """A printed 18-character ID that fails the USCC check is replaced by the valid ID printed elsewhere (the seal
    of a 发票专用章 repeats the seller's) that differs from it in at most 3 characters, if exactly one does."""
    if len(hit.value) != 18 or is_valid_uscc(hit.value):
        return hit
    near = {v.value: v for v in valid if sum(a != b for a, b in zip(v.value, hit.value, strict=True)) <= 3}
    if len(near) != 1:
        return hit
    v = next(iter(near.values()))
    return Hit(v.value, hit.box, min(hit.conf, v.conf), hit.page, hit.label_box)


def _clean_name(raw: str) -> str | None:
    name = raw.strip(" :：;；")
    parts: list[str] = []
    for token in name.split(" "):
        if _CIPHER.search(token) or _NAME_STOP.search(token) or ":" in token:
            break
        if parts and (re.search(rf"[{HAN}]", token) or re.search(rf"[{HAN}]", parts[-1])):
            break  # a space after Chinese text ends the name (the next column, merged into one line)
        parts.append(token)
    name = " ".join(parts).strip(" :：")
    if len(name) < 2 and not re.fullmatch(rf"[{HAN}]", name):
        return None
    if not re.search(rf"[{HAN}A-Za-z]", name):
        return None
    return name


def names(layout: Layout, label: re.Pattern[str]) -> list[Hit]:
    """Every ``label`` occurrence with its name value (``''`` when the printed value is empty)."""
    return _labelled(layout, label, r"([^\t]+)", _clean_name)


def _side(layout: Layout, hit: Hit, anchors: list[tuple[str, Seg]], table_top: float | None,
          table_bottom: float | None, two_columns: bool = False) -> str:
    """'buyer' or 'seller' for a generic 名称 / 纳税人识别号 label: the nearest 购/销 header to its left (vertical
    购买方 / 购买方信息 blocks) or above it (卷票 rows 销售方名称 … 纳税人识别号); without one, below the items table is
    the seller (legacy), right of the page's middle above the table is the seller (数电; anywhere right of the
    middle when the caller knows the page has buyer and seller side by side but found no table), else the buyer."""
    lx0, ly0, lx1, ly1 = hit.label_box
    lh = ly1 - ly0
    best = None
    for side, a in anchors:
        if a.x1 <= lx0 + 0.5 * lh:  # a header left of the label (vertical 购买方 / 购买方信息)
            vdist = max(0.0, a.y0 - ly1, ly0 - a.y1)
            if vdist > 4 * lh or (layout.width and lx0 - a.x1 > 0.3 * layout.width):
                continue  # too far: on a 数电 page the buyer's header is not the seller column's when OCR lost its own
            score = vdist + 0.5 * (lx0 - a.x1)
        elif a.y1 <= ly0 + 0.3 * lh and min(a.x1, lx1) > max(a.x0, lx0):  # a 销售方名称 row above the label
            score = ly0 - a.y1 + 2 * lh
        else:
            continue
        if best is None or score < best[0]:
            best = (score, side)
    if best is not None:
        return best[1]
    if table_bottom is not None and ly0 > table_bottom:
        return "seller"
    if lx0 > 0.4 * layout.width and (ly1 < table_top if table_top is not None else two_columns):
        return "seller"
    return "buyer"


def parties(layout: Layout, table_top: float | None = None, table_bottom: float | None = None,
            two_columns: bool = False) -> dict[str, Hit]:
    """``buyer_name``, ``buyer_tax_id``, ``seller_name``, ``seller_tax_id`` hits (only those printed). A tax ID
    comes from its label; a labelled ID that fails the USCC check may be corrected from a near-identical valid one
    printed elsewhere (``_checked``); a side still without an ID takes a valid USCC no label claimed."""
    anchors = []
    for s in layout.segs:
        m = _ANCHOR.match(s.text.replace(" ", ""))
        if m:
            anchors.append(("buyer" if m["b"] else "seller", s))
    out: dict[str, Hit] = {}
    for side, rx in (("buyer", _BUYER_NAME), ("seller", _SELLER_NAME)):
        for h in names(layout, rx):
            if h.value and f"{side}_name" not in out:
                out[f"{side}_name"] = h
    explicit = {h.label_box for rx in (_BUYER_NAME, _SELLER_NAME) for h in names(layout, rx)}  # 卷票 style
    for h in names(layout, _GENERIC_NAME):
        if any(_overlaps(h.label_box, b) for b in explicit):
            continue
        key = f"{_side(layout, h, anchors, table_top, table_bottom, two_columns)}_name"
        if h.value and key not in out:
            out[key] = h
    valid = _valid_ids(layout)
    for h in tax_ids(layout):
        side = _side(layout, h, anchors, table_top, table_bottom, two_columns)
        if h.value and f"{side}_tax_id" not in out:
            out[f"{side}_tax_id"] = _checked(h, valid)
    taken = {h.value for k, h in out.items() if k.endswith("_tax_id")}
    for v in valid:  # a valid ID no label claimed: its side from where it is printed
        if v.value not in taken and not any(_overlaps(v.box, h.box) for h in out.values()):
            side = _side(layout, v, anchors, table_top, table_bottom, two_columns)
            buyer = out.get("buyer_tax_id")
            if (side == "buyer" and buyer is not None and "seller_tax_id" not in out and buyer.page == v.page
                    and (v.box[1] > buyer.box[3] or v.box[0] > buyer.box[2])):
                side = "seller"  # the buyer's ID is taken and this one is printed below or right of it
            if f"{side}_tax_id" not in out:
                out[f"{side}_tax_id"] = v
                taken.add(v.value)
    return out


def _overlaps(a, b) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


_TITLE_EXCLUDE = re.compile(r"代码|号码|日期|专用章|监|税务局|^\s*No")
_DIGITS_ONLY = re.compile(r"[\d\s]+")


def title(layout: Layout) -> Hit | None:
    """The printed title: the tallest text containing 发票/客票/行程单 in the top third, with its row neighbours."""
    top = layout.height / 3 if layout.height else float("inf")
    cands = [s for s in layout.segs if s.y0 < top and re.search(r"发票|发\s*票|客票|行程单|票\)|发\(|电子发", s.text)
             and not _TITLE_EXCLUDE.search(s.text)]
    if not cands:
        return None
    main = max(cands, key=lambda s: s.h)
    row = [s for s in layout.segs if (s is main or layout.same_row(main, s) or abs(s.cy - main.cy) < 0.5 * main.h)
           and s.h >= 0.5 * main.h and not _TITLE_EXCLUDE.search(s.text) and not _DIGITS_ONLY.fullmatch(s.text)]
    row.sort(key=lambda s: s.x0)
    # keep the contiguous run of boxes around the main one
    run = [main]
    i = row.index(main)
    for step in (-1, 1):
        j = i + step
        while 0 <= j < len(row):
            nb = row[j]
            edge = run[0] if step < 0 else run[-1]
            gap = (edge.x0 - nb.x1) if step < 0 else (nb.x0 - edge.x1)
            if gap > 1.5 * main.h or gap < -0.3 * main.h:
                break
            if step < 0:
                run.insert(0, nb)
            else:
                run.append(nb)
            j += step
    text = "".join(s.text for s in run)
    return Hit(text, union(s.box for s in run), min(s.conf for s in run), main.page, main.box)


__all__ = [
    "HAN", "clean_tax_id", "date_after", "date_from_text", "datetime_from_text", "digits_after",
    "money_after", "money_in", "names", "parties", "tax_ids", "title", "upper_after", "upper_segments",
]
