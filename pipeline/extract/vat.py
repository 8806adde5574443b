"""VAT invoices: legacy 税控 (专票/普票/电子普票/卷票/通行费, DOMAIN §1.4 A) and 数电 (§1.4 B).

Contract: ``extract_vat(layout, inv, source)`` fills ``inv`` from the printed page: identifiers
(``invoice_code``, ``invoice_number``, ``issue_date``, ``check_code``, ``machine_no``), ``title``, the parties
(``buyer_name``/``buyer_tax_id``/``seller_name``/``seller_tax_id``), ``items``, ``amount_excl_tax`` /
``tax_amount`` (the 合计 row), ``total_upper`` (大写 text, ⊗ dropped) and ``remark``. ``total_incl_tax`` is the
candidate (小写, 大写, last amount on the 价税合计 row) that equals amount + tax, else the 小写, else the 大写;
``complete_amounts`` later computes whichever of the three amounts is still missing (``COMPUTED``). The 密码区
is never read. Fields not printed are left unset. ``read_identifiers`` is shared with the ticket extractor.
A 发票代码 read by OCR whose province digits differ from the printed title's province in one digit (a blurred 3
read 5) is repaired to the title's, at lower confidence, with a ``code_region_repaired`` issue saying so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from pipeline.codes import code_in_region, kind_from_code, region_of_title
from pipeline.extract import fields as F
from pipeline.extract.layout import Hit, Layout, Seg, spaced, span_box, union
from pipeline.money import from_upper, parse_rate
from pipeline.text import fix_numeric, normalize
from pipeline.types import Box, FieldSource, Invoice, InvoiceKind, LineItem, ValidationIssue

COMPUTED_CONFIDENCE = 0.8  # relative to the fields a computed value was derived from
REPAIRED_CODE_CONFIDENCE = 0.5  # a code whose province digits were set from the title: a guess worth a look

_CODE = re.compile(spaced("发票代码"))
_NUMBER = re.compile(spaced("发票号码"))
_DATE = re.compile(spaced("开票日期"))
_CHECK = re.compile(spaced("校验码"))
_MACHINE = re.compile(spaced("机器编号"))
_NUMBER_LOOSE = re.compile(r"号\s*[码号玛马]")
_DATE_LOOSE = re.compile(r"开\S?\s*[日期]\s*期?|日\s*期")
_NO_PREFIX = re.compile(r"(?:^|\s)N\s*[oO0]\s*[.:：]?\s*")
_LOWER = re.compile(r"[(（]\s*小\s*\S?\s*[)）]|小\s*写")
_UPPER_LABEL = re.compile(r"价\s*税\s*合\s*计\s*\(?\s*大\s*写\s*\)?|合\s*计\s*金\s*额\s*\(?\s*大\s*写\s*\)?")
_TOTAL_ROW = re.compile(r"价\s*税\s*合\s*计|合\s*计\s*金\s*额")
_SUM_ROW = re.compile(r"(?<![价税])合\s*计(?!\s*金\s*额)(?!\s*\(?\s*[大小])|^[合计](?=\s|$)")  # OCR may lose 合 or 计
_HEADER = re.compile(r"项\s*目\s*名\s*称|货物或应税劳务|服务名称|^\s*项\s*目\s*$")
_COLUMNS = {
    "spec": spaced("规格型号"), "unit": r"单\s*位", "qty": r"数\s*量", "price": r"单\s*价",
    "amount": r"金\s*额", "rate": r"税\s*率|征收率", "tax": r"税\s*额",
}
_RATE = re.compile(r"^[-\d.%]{0,5}%$|^免税$|^不征税$|^\*{3}$")  # also "%%": a misread rate still pivots
_NUMERIC = re.compile(r"[-\d.,%\s]+")
_REMARK = re.compile(r"^备\s*注?$|^备\s*注")
_SIGNERS = re.compile(r"收\s*款\s*人|开\s*票\s*人|复\s*核")
_SEAL = re.compile(r"专用章|\(章\)|^\(?\d\)?$")


def _put(inv: Invoice, key: str, value, hit: Hit, source: FieldSource, conf_factor: float = 1.0) -> None:
    inv.set(key, value, round(hit.conf * conf_factor, 4), source, hit.box, hit.page)


def _top(hits: list[Hit]) -> Hit | None:
    return min(hits, key=lambda h: (h.y0, h.x0)) if hits else None


def read_identifiers(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """发票代码, 发票号码, 开票日期, 校验码, 机器编号 and the title. When a label is misread, a looser label
    (``票号码``, ``开1期``) or the number's own shape in the top of the page stands in for it."""
    title = F.title(layout)
    if title:
        _put(inv, "title", title.value, title, source)
    top = layout.height * 0.3
    code = _top(F.digits_after(layout, _CODE, (10, 12)))
    if code is None:
        code = next((h for h in _standalone_all(layout, (10, 12), top) if kind_from_code(h.value) is not None), None)
    if code:
        _put_code(inv, code, title, source)
    lengths = (8,) if code else (20, 8)  # an invoice with a 发票代码 is a legacy one: 8-digit number
    number = (_top(F.digits_after(layout, _NUMBER, lengths))
              or _top(F.digits_after(layout, _NO_PREFIX, (8,)))
              or _top([h for h in F.digits_after(layout, _NUMBER_LOOSE, lengths) if h.y0 < top]))
    factor = 1.0
    if number is None and code is None:  # a 数电 number alone (the 20-digit 校验码 is legacy-only)
        number, factor = next(iter(_standalone_all(layout, (20,), top, runs=True)), None), 0.9
    if number is None and code is not None:
        # paper invoices repeat code and number top right; the number is the 8 digits just below the code
        number, factor = next((h for h in _standalone_all(layout, (8,), top) if h.box[1] > code.box[1] - 1), None), 0.9
    if number:
        _put(inv, "invoice_number", number.value, number, source, factor)
    issued = _top(F.date_after(layout, _DATE)) or _top([h for h in F.date_after(layout, _DATE_LOOSE) if h.y0 < top])
    if issued:
        _put(inv, "issue_date", date.fromisoformat(issued.value), issued, source)
    check = _top(F.digits_after(layout, _CHECK, (20,)))
    if check:
        _put(inv, "check_code", check.value, check, source)
    machine = _top(F.digits_after(layout, _MACHINE, (12,)))
    if machine:
        _put(inv, "machine_no", machine.value, machine, source)


def _put_code(inv: Invoice, code: Hit, title: Hit | None, source: FieldSource) -> None:
    """The 发票代码, its province digits repaired to the title's when they differ in one digit (``code_in_region``):
    the repair lowers the confidence to ``REPAIRED_CODE_CONFIDENCE`` (finance sees the photo) and is recorded as a
    ``code_region_repaired`` issue."""
    printed = region_of_title(title.value) if title else None
    fixed = code_in_region(code.value, printed) if printed and source == FieldSource.OCR else None
    if fixed is None:
        _put(inv, "invoice_code", code.value, code, source)
        return
    inv.set("invoice_code", fixed, min(code.conf, REPAIRED_CODE_CONFIDENCE), source, code.box, code.page)
    inv.issues.append(ValidationIssue(
        "code_region_repaired", f"the 发票代码 was read as {code.value}, whose province digits differ in one digit "
        f"from the title {title.value}; it was taken as {fixed}",
        {"invoice_code_read": code.value, "invoice_code": fixed, "title": title.value}))


def _standalone_all(layout: Layout, lengths: tuple[int, ...], limit: float, runs: bool = False) -> list[Hit]:
    """Numbers of ``lengths`` digits above ``limit``: whole boxes, or (``runs``) digit runs inside a box that is
    not the 校验码's."""
    out = []
    for s in sorted(layout.segs, key=lambda s: (s.y0, s.x0)):
        if s.y0 > limit:
            continue
        if runs:
            if _CHECK.search(s.text):
                continue
            for m in re.finditer(r"(?<![0-9OoIl])[0-9OoIl]+(?![0-9OoIl])", s.text):
                value = fix_numeric(m.group(0))
                if len(value) in lengths:
                    out.append(Hit(value, s.box, s.conf, s.page, s.box))
            continue
        value = fix_numeric(s.text)
        if value.isdigit() and len(value) in lengths:
            out.append(Hit(value, s.box, s.conf, s.page, s.box))
    return out


# ---------------------------------------------------------------------------------------------- table


@dataclass
class _Table:
    top: float  # bottom of the header row
    bottom: float  # top of the 合计 row (or of the 价税合计 row)
    name_right: float  # boxes starting left of this hold item names
    columns: dict[str, Box]
    header: list[Seg]


def _find_table(layout: Layout) -> _Table | None:
    headers = [s for s in layout.segs if _HEADER.search(s.text)]
    if not headers:
        return None
    first = min(headers, key=lambda s: s.y0)
    row = layout.tokens(layout.row(first))
    head = next(s for s in row if _HEADER.search(s.text) or s.x0 >= first.x0 - 1)
    sub = layout.subset(row)
    columns: dict[str, Box] = {}
    for key, pattern in _COLUMNS.items():
        boxes = [b for b in sub.label_boxes(pattern) if b[0] >= head.x1 - 1]
        if key == "tax":  # 税额, not the 税 of 税率
            boxes = [b for b in boxes if not any(b[0] <= c[0] and c[2] <= b[2] for c in sub.label_boxes(r"税\s*率"))]
        if boxes:
            columns[key] = boxes[0]
    # names are left-aligned: the name column ends halfway between its header and the next header
    nxt = [s.x0 for s in row if s.x0 > head.x1 - 1]
    name_right = (head.x1 + min(nxt)) / 2 if nxt else head.x1 + 4 * head.h
    top = max(s.y1 for s in row)
    sums = [b for b in layout.label_boxes(_SUM_ROW) if b[1] > top]
    totals = [b for b in layout.label_boxes(_TOTAL_ROW) if b[1] > top]
    if sums:
        bottom = min(b[1] for b in sums)
    elif totals:
        bottom = min(b[1] for b in totals)
    else:
        bottom = top + 0.4 * (layout.height or 1000)
    return _Table(top, bottom, name_right, columns, row)


def _money_cols(table: _Table) -> dict[str, float]:
    return {k: (b[0] + b[2]) / 2 for k, b in table.columns.items() if k in ("price", "amount", "tax", "qty")}


def _assign_row_money(segs: list[Seg], table: _Table) -> tuple[Seg | None, Seg | None, Seg | None]:
    """(amount, rate, tax) boxes of one table row."""
    rate = next((s for s in segs if _RATE.match(s.text.replace(" ", ""))), None)
    money = [s for s in segs if F.money_in(s.text) is not None]
    if rate is not None:
        left = [s for s in money if s.cx < rate.cx]
        right = [s for s in money if s.cx > rate.cx]
        return (max(left, key=lambda s: s.cx) if left else None, rate,
                min(right, key=lambda s: s.cx) if right else None)
    cols = _money_cols(table)
    amount = tax = None
    for s in money:
        if not cols:
            amount = s
            continue
        nearest = min(cols, key=lambda k: abs(cols[k] - s.cx))
        if nearest == "amount":
            amount = s
        elif nearest == "tax":
            tax = s
    return amount, None, tax


def read_items(layout: Layout, table: _Table) -> list[LineItem]:
    """The lines between the header and the 合计 row. A row with an amount starts an item; a row without one,
    right below, continues the previous item's name (names wrap). Rates pivot the row: the amount is the nearest
    money left of the rate, the tax the nearest right of it; without a rate the header columns decide."""
    tall = 2.3 * layout.median_height
    body = layout.tokens([s for s in layout.region(y0=table.top, y1=table.bottom) if s.h < tall
                          and all(s.index != h.index for h in table.header)])
    items: list[dict] = []
    last_row_bottom = None
    for row in layout.rows(body):
        name_segs = [s for s in row if s.x0 < table.name_right and not _NUMERIC.fullmatch(s.text)]
        rest = [s for s in row if s not in name_segs]
        amount, rate, tax = _assign_row_money(rest, table)
        name = "".join(s.text.replace(" ", "") if _is_han(s.text) else s.text for s in name_segs)
        row_h = min(s.h for s in row)
        if amount is not None:
            tax_value = None
            if tax is not None:
                tax_value = F.money_in(tax.text)
            elif rate is not None and parse_rate(rate.text) in ("免税", "不征税"):
                tax_value = Decimal("0.00")
            items.append({"name": name, "amount": F.money_in(amount.text),
                          "rate": parse_rate(rate.text) if rate is not None else None, "tax": tax_value})
            last_row_bottom = max(s.y1 for s in row)
        elif (name and items and last_row_bottom is not None and min(s.y0 for s in row) - last_row_bottom < 1.5 * row_h
              and not any(F.money_in(s.text) is not None for s in rest)):
            items[-1]["name"] += name
            last_row_bottom = max(s.y1 for s in row)
    return [LineItem(name=normalize(it["name"]), amount=it["amount"], tax_rate=it["rate"], tax_amount=it["tax"])
            for it in items]


def _is_han(text: str) -> bool:
    return bool(re.search(r"[\u4e00-\u9fff]", text))


_SUM_VALUE = re.compile(r"(?:¥\s*)?-?\d[\d,]*\.\d{2}(?![\d.])|\*{3}")


def read_sums(layout: Layout, table: _Table | None) -> tuple[Hit | None, Hit | None]:
    """The 合计 row: (amount excluding tax, tax); ``***`` in the tax column is a tax of 0 (不征税)."""
    for seg, m, text, spans in sorted(layout.find(_SUM_ROW), key=lambda f: f[0].y0):
        if table is not None and seg.y0 < table.top - 1:
            continue
        found: list[tuple[Decimal, Box]] = []
        pos = m.end()
        for vm in _SUM_VALUE.finditer(text, m.end()):
            junk = text[pos:vm.start()].strip(" \t:：¥")
            if len(junk) > (2 if not found else 0) or len(found) == 2:  # OCR noise may trail the label
                break
            value = Decimal("0.00") if vm.group(0) == "***" else F.money_in(vm.group(0))
            found.append((value, span_box(spans, vm.start(), vm.end())))
            pos = vm.end()
        if not found or found[0][0] is None:
            continue
        conf = min(s.conf for a, b, s in spans if a < pos)
        amount, tax = found[0], (found[1] if len(found) > 1 else None)
        if tax is None and table is not None and "tax" in table.columns and "amount" in table.columns:
            cx = (amount[1][0] + amount[1][2]) / 2
            ta, tt = table.columns["amount"], table.columns["tax"]
            if abs(cx - (tt[0] + tt[2]) / 2) < abs(cx - (ta[0] + ta[2]) / 2):
                amount, tax = None, amount
        label = span_box(spans, m.start(), m.end())
        return (Hit(str(amount[0]), amount[1], conf, seg.page, label) if amount else None,
                Hit(str(tax[0]), tax[1], conf, seg.page, label) if tax and tax[0] is not None else None)
    return None, None


@dataclass
class _Totals:
    lower: Hit | None  # after a 小写 label
    row: Hit | None  # last amount on the 价税合计 row, when no 小写 label was read
    upper: Hit | None  # 大写 text


def read_totals(layout: Layout) -> _Totals:
    lower = _top(F.money_after(layout, _LOWER))
    row = None
    if lower is None:
        for box, _ in layout.labels(_TOTAL_ROW):
            money = [(s, v) for s in layout.right_of_box(box) for v in F.money_tokens(s.text)]
            if money:
                s, v = money[-1]
                row = Hit(str(v), s.box, s.conf, s.page, box)
                break
    upper = _top(F.upper_after(layout, _UPPER_LABEL))
    if upper is None:
        labels = layout.labels(_TOTAL_ROW)
        cands = F.upper_segments(layout)
        if labels:
            near = [h for h in cands if any(layout.same_row(seg, _seg_of(layout, h)) for _, seg in labels)]
            cands = near or cands
        upper = cands[0] if cands else None
    return _Totals(lower, row, upper)


def _seg_of(layout: Layout, hit: Hit) -> Seg:
    return next((s for s in layout.segs if s.box == hit.box), Seg(hit.value, hit.box, hit.conf, hit.page, -1))


def read_remark(layout: Layout) -> Hit | None:
    labels = [s for s in layout.segs if _REMARK.match(s.text.replace(" ", ""))]
    if not labels:
        return None
    label = min(labels, key=lambda s: s.y0)
    totals = [s for s in layout.segs if _TOTAL_ROW.search(s.text) and s.y1 <= label.y0 + label.h]
    top = max((s.y1 for s in totals), default=label.y0 - 3 * label.h)
    signers = [s for s in layout.segs if _SIGNERS.search(s.text) and s.y0 > label.y0]
    bottom = min((s.y0 for s in signers), default=label.y1 + 3 * label.h)
    segs = [s for s in layout.region(x0=label.x1 - 1, y0=top, y1=bottom)
            if s.x0 >= label.x1 - 1 and not _SEAL.search(s.text) and not F.clean_tax_id(s.text.rstrip(".")) and
            not re.match(r"^[销售方:()\s章]+$", s.text)]
    text = "".join("".join(s.text for s in row) for row in layout.rows(segs))
    if len(text) < 2:
        return None
    return Hit(text, union(s.box for s in segs), min(s.conf for s in segs), label.page, label.box)


def extract_vat(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    read_identifiers(layout, inv, source)
    table = _find_table(layout)
    two_columns = table is None and inv.kind in (InvoiceKind.DIGITAL_SPECIAL, InvoiceKind.DIGITAL_NORMAL)
    for key, hit in F.parties(layout, table.top if table else None, table.bottom if table else None,
                              two_columns).items():
        _put(inv, key, hit.value, hit, source)
    if table is not None:
        inv.items = read_items(layout, table)
    amount, tax = read_sums(layout, table)
    if amount:
        _put(inv, "amount_excl_tax", Decimal(amount.value), amount, source)
    if tax:
        _put(inv, "tax_amount", Decimal(tax.value), tax, source)
    totals = read_totals(layout)
    if totals.upper:
        _put(inv, "total_upper", totals.upper.value, totals.upper, source)
    resolve_total(inv, totals, source)
    if not {"amount_excl_tax", "tax_amount", "total_incl_tax"} & inv.fields.keys():
        read_sum_identity(layout, inv, source)
    remark = read_remark(layout)
    if remark:
        _put(inv, "remark", remark.value, remark, source)


def resolve_total(inv: Invoice, totals: _Totals, source: FieldSource) -> None:
    """价税合计: the candidate (小写, 大写, the 价税合计 row) that equals amount + tax; when none does, the 小写,
    else the 大写, else the row amount if it is not smaller than the amount, else amount + tax (``COMPUTED``)."""
    computed = computed_total(inv)
    cands = []
    for hit, factor, parse in ((totals.lower, 1.0, Decimal), (totals.upper, 0.95, from_upper), (totals.row, 0.9, Decimal)):
        value = parse(hit.value) if hit is not None else None
        if value is not None:
            cands.append((value, hit, factor))
    agreeing = [c for c in cands if computed is not None and c[0] == computed]
    if agreeing:
        value, hit, factor = agreeing[0]
    elif cands and (cands[0][1] is not totals.row or cands[0][0] >= (inv.get("amount_excl_tax") or 0)):
        value, hit, factor = cands[0]
        if computed is not None:
            factor *= 0.9  # contradicted by amount + tax: validation reports it
    else:
        return
    _put(inv, "total_incl_tax", value, hit, source, factor)


def read_sum_identity(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """When no sum label was readable (a blurred photo): the ¥ amounts printed alone whose values close
    amount + tax = total, provided exactly one such triple exists and its total is the largest ¥ amount."""
    marked = [(value, seg) for seg in layout.segs
              if (value := F.money_in(seg.text, with_yen=True)) is not None and value > 0]
    if len(marked) < 3:
        return
    largest = max(v for v, _ in marked)
    triples = {(a, b, c) for a, sa in marked for b, sb in marked for c, sc in marked
               if sa is not sb and a >= b and c == largest and a + b == c}
    if len(triples) != 1:
        return
    amount, tax, total = next(iter(triples))
    for key, value in (("amount_excl_tax", amount), ("tax_amount", tax), ("total_incl_tax", total)):
        seg = next(s for v, s in marked if v == value)
        _put(inv, key, value, Hit(str(value), seg.box, seg.conf, seg.page, seg.box), source, 0.8)


def computed_total(inv: Invoice) -> Decimal | None:
    amount, tax = inv.get("amount_excl_tax"), inv.get("tax_amount")
    return amount + tax if amount is not None and tax is not None else None


def complete_amounts(inv: Invoice) -> None:
    """Fill the one missing value of amount + tax = total (``COMPUTED``, at reduced confidence)."""
    keys = ("amount_excl_tax", "tax_amount", "total_incl_tax")
    present = [k for k in keys if k in inv.fields]
    if len(present) != 2:
        return
    a, b = (inv.fields[k] for k in present)
    missing = next(k for k in keys if k not in present)
    if missing == "total_incl_tax":
        value = a.value + b.value
    else:
        value = inv.get("total_incl_tax") - inv.get(next(k for k in present if k != "total_incl_tax"))
    inv.set(missing, value, round(min(a.confidence, b.confidence) * COMPUTED_CONFIDENCE, 4), FieldSource.COMPUTED)


__all__ = ["complete_amounts", "extract_vat", "read_identifiers", "read_items", "read_sum_identity", "resolve_total"]
