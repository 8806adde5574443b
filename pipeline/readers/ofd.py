"""Reader for OFD e-invoices (GB/T 33190: a zip of XML parts), without OCR (DOMAIN §5.2).

Contract: ``read_ofd(doc, settings) -> ReadResult``.
* The zip is opened with ``pipeline.readers.safezip`` (limits ``OFD_LIMITS``) and only the parts needed are read,
  each parsed with ``pipeline.readers.safexml``. An archive without ``OFD.xml`` at its root, without a
  ``DocBody``, or whose ``DocRoot`` document is missing raises ``CorruptDocument``; more than ``MAX_PAGES`` pages
  raises ``DocumentTooLarge``.
* ``structured`` (keys as in ``pipeline.readers.einvoice_xml``, ``structured_format`` = ``"ofd"``) merges three
  sources, the first that has a key winning (DOMAIN §9): the issuer's XML attached as
  ``Attachs/original_invoice.xml`` (legacy invoices; its ``GraphCode`` becomes ``qr_text`` and a ``QrCode``),
  then ``OFD.xml`` ``CustomData`` (names such as 发票号码, 合计金额 = 不含税, 价税合计), then the semantic tags
  (``Tags/CustomTags.xml`` → ``CustomTag.xml`` / ``Tag_Invoice.xml``) whose ``ObjectRef``s are resolved against the
  ``TextObject``s of the page named by ``PageRef`` (any page when that fails); several refs are joined without a
  separator (``¥`` + ``4449.00``, a wrapped item name). Items come from the attachment, else from the tags, else
  from the page text (``items_from_page_text``; a ``(详见销货清单)`` placeholder line is dropped when the list's
  rows are found too).
  ``title`` is the largest-font text of the first page and its templates that reads as an invoice title.
  When two sources disagree on a key (amounts compared as numbers, dates as dates, text without spaces), the
  first source's value is kept, ``mismatch.<key>`` records both values and a warning is added.
* ``pages``: one ``PageContent`` per page (``source`` OFD, ``page_no`` from 0) with a ``TextLine`` per
  ``TextCode`` of the page and of its templates, in reading order. Units are millimetres, the page's own:
  ``width``/``height`` from its ``PhysicalBox`` (else the document's); boxes from the glyph positions
  (``X``/``Y``/``DeltaX``/``Size``), or the object's ``Boundary`` for rotated or vertical text.
* Tolerated: UTF-8 BOMs, the malformed tag root ``<:eInvoice xmlns:="">``, ``ofd:``/``fp:``/no prefixes, absolute
  (``/Doc_0/…``) and relative locations, member names differing in case, 校验码 printed in groups of five.
* ``timings["ofd"]`` is the whole read in seconds.
"""

from __future__ import annotations

import posixpath
import re
import time
from dataclasses import dataclass, field

from lxml import etree

from pipeline.codes import kind_from_title
from pipeline.config import PipelineSettings
from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.money import parse_amount
from pipeline.readers.einvoice_xml import (
    LABEL_FIELDS, STRUCTURED_FORMAT_KEY, clean, leaf_text, legacy_fields, put_items,
)
from pipeline.readers.layout import reading_order
from pipeline.readers.safexml import child, child_text, children, iter_local, parse_xml
from pipeline.readers.safezip import SafeZip, ZipLimits, member_dir
from pipeline.types import Box, FieldSource, PageContent, QrCode, ReadResult, SourceDocument, TextLine

OFD_LIMITS = ZipLimits(max_members=2000, max_total_bytes=100 * 1024 * 1024, max_member_bytes=20 * 1024 * 1024,
                       max_ratio=200)
MAX_PAGES = 500
_TITLE_WORDS = re.compile(r"发票|客票|行程单")
_MAX_TITLE = 40
_SEE_LIST = re.compile(r"详见.*清单")  # the 销货清单 placeholder line; the list's own rows follow on later pages
_NAME_HEADERS = {"项目名称", "货物或应税劳务、服务名称", "货物或应税劳务名称", "货物或应税劳务,服务名称"}
_TOTAL_ROW = re.compile(r"^合计|^合$")  # the 合计 row ends the item rows (some files split 合 / 计)
_NUMERIC = re.compile(r"^-?[¥￥]?-?\d[\d,]*(?:\.\d+)?$")
_MONEY_TEXT = re.compile(r"^-?[¥￥]?-?\d[\d,]*\.\d{2}$")
_RATE_TEXT = re.compile(r"^\d{1,2}(?:\.\d+)?%$|^免税$|^不征税$|^\*{3}$")
_DATE = re.compile(r"(\d{4})\D{0,3}?(\d{1,2})\D{0,3}?(\d{1,2})")
_Element = etree._Element


@dataclass
class _Text:
    text: str
    size: float
    lines: list[TextLine]


@dataclass
class _Page:
    ofd_id: str
    page_no: int
    width: float
    height: float
    objects: dict[str, _Text] = field(default_factory=dict)
    template_texts: list[_Text] = field(default_factory=list)


def read_ofd(doc: SourceDocument, settings: PipelineSettings | None = None) -> ReadResult:
    """Read one OFD file (see the module docstring)."""
    started = time.perf_counter()
    result = ReadResult(document=doc)
    with SafeZip(doc.data, "OFD file", OFD_LIMITS) as archive:
        _OfdReader(archive, result).read()
    result.timings["ofd"] = time.perf_counter() - started
    return result


class _OfdReader:
    def __init__(self, archive: SafeZip, result: ReadResult) -> None:
        self.zip = archive
        self.result = result
        self.warnings = result.warnings
        self._templates: dict[str, list[_Text]] = {}

    # ------------------------------------------------------------ package

    def read(self) -> None:
        ofd_name = self.zip.find("OFD.xml")
        if ofd_name is None:
            raise CorruptDocument("the OFD file has no OFD.xml at its root: it is damaged or not an OFD document")
        root = self._xml(ofd_name)
        bodies = children(root, "DocBody")
        if not bodies:
            raise CorruptDocument("the OFD file's OFD.xml has no DocBody: the file is damaged")
        if len(bodies) > 1:
            self.warnings.append(f"the OFD file holds {len(bodies)} documents; only the first was read")
        body = bodies[0]
        custom = _custom_datas(body)
        doc_loc = child_text(body, "DocRoot")
        doc_name = self._resolve(doc_loc, "") if doc_loc else None
        if doc_name is None:
            raise CorruptDocument(f"the OFD file's document {doc_loc or '(DocRoot)'} is missing: the file is damaged")
        document = self._xml(doc_name)
        doc_dir = member_dir(doc_name)
        pages = self._pages(document, doc_dir)
        tags = self._tags(document, doc_dir, pages)
        attached = self._attachment(document, doc_dir)
        self._publish(pages)
        self._merge([("original_invoice.xml", attached), ("CustomData", custom), ("CustomTag", tags)], pages)

    def _xml(self, name: str) -> _Element:
        return parse_xml(self.zip.read(name), f"OFD part {name}", self.warnings)

    def _resolve(self, loc: str, *base_dirs: str) -> str | None:
        """Member name of a location written in an OFD part: absolute from the package root, else relative to
        the first of ``base_dirs`` where it exists."""
        loc = loc.strip().replace("\\", "/")
        if not loc:
            return None
        if loc.startswith("/"):
            candidates = [loc.lstrip("/")]
        else:
            candidates = [posixpath.normpath(posixpath.join(d, loc)) for d in base_dirs] + [posixpath.normpath(loc)]
        for candidate in candidates:
            if candidate.startswith("../") or candidate == "..":
                continue
            found = self.zip.find(candidate)
            if found is not None:
                return found
        return None

    # ------------------------------------------------------------ pages

    def _pages(self, document: _Element, doc_dir: str) -> list[_Page]:
        common = child(document, "CommonData")
        default_box = _box(child_text(common, "PageArea", "PhysicalBox"))
        templates = {tp.get("ID"): tp.get("BaseLoc") or "" for tp in children(common, "TemplatePage")} \
            if common is not None else {}
        entries = children(child(document, "Pages"), "Page") if child(document, "Pages") is not None else []
        if len(entries) > MAX_PAGES:
            raise DocumentTooLarge(f"the OFD file has {len(entries)} pages, more than the {MAX_PAGES} allowed")
        pages: list[_Page] = []
        for page_no, entry in enumerate(entries):
            name = self._resolve(entry.get("BaseLoc") or "", doc_dir)
            if name is None:
                self.warnings.append(f"OFD page {page_no + 1} ({entry.get('BaseLoc')}) is missing")
                continue
            root = self._xml(name)
            box = _box(child_text(root, "Area", "PhysicalBox")) or default_box or (0.0, 0.0, 0.0, 0.0)
            page = _Page(entry.get("ID") or str(page_no), page_no, box[2] - box[0], box[3] - box[1])
            for obj in iter_local(root, "TextObject"):
                obj_id, text = _text_object(obj, page_no)
                if obj_id and obj_id not in page.objects:
                    page.objects[obj_id] = text
                elif not obj_id:
                    page.objects[f"_anon{len(page.objects)}"] = text
            for ref in children(root, "Template"):
                loc = templates.get(ref.get("TemplateID"))
                if loc:
                    page.template_texts.extend(self._template(loc, doc_dir, page_no))
            pages.append(page)
        return pages

    def _template(self, loc: str, doc_dir: str, page_no: int) -> list[_Text]:
        name = self._resolve(loc, doc_dir)
        if name is None:
            self.warnings.append(f"OFD template {loc} is missing")
            return []
        if name not in self._templates:
            self._templates[name] = [_text_object(obj, -1)[1] for obj in iter_local(self._xml(name), "TextObject")]
        return [_Text(t.text, t.size, [_on_page(line, page_no) for line in t.lines]) for t in self._templates[name]]

    def _publish(self, pages: list[_Page]) -> None:
        for page in pages:
            lines = [line for t in page.template_texts for line in t.lines]
            lines += [line for t in page.objects.values() for line in t.lines]
            self.result.pages.append(PageContent(page_no=page.page_no, width=page.width, height=page.height,
                                                 lines=reading_order(lines), source=FieldSource.OFD))

    # ------------------------------------------------------------ structured sources

    def _tags(self, document: _Element, doc_dir: str, pages: list[_Page]) -> dict[str, str]:
        index_loc = child_text(document, "CustomTags")
        index_name = self._resolve(index_loc, doc_dir) if index_loc else None
        if index_name is None:
            return {}
        by_id = {page.ofd_id: page for page in pages}
        out: dict[str, str] = {}
        for tag in iter_local(self._xml(index_name), "CustomTag"):
            loc = child_text(tag, "FileLoc")
            name = self._resolve(loc, member_dir(index_name), doc_dir) if loc else None
            if name is None:
                if loc:
                    self.warnings.append(f"OFD tag file {loc} is missing")
                continue
            fields = legacy_fields(self._xml(name), lambda el: _resolve_refs(el, by_id, pages))
            for key, value in fields.items():
                out.setdefault(key, value)
        return out

    def _attachment(self, document: _Element, doc_dir: str) -> dict[str, str]:
        index_loc = child_text(document, "Attachments")
        index_name = self._resolve(index_loc, doc_dir) if index_loc else None
        if index_name is None:
            return {}
        for attachment in iter_local(self._xml(index_name), "Attachment"):
            loc = child_text(attachment, "FileLoc") or ""
            label = f"{attachment.get('Name') or ''} {loc}".lower()
            if "original_invoice" not in label and (attachment.get("Format") or "").lower() != "xml":
                continue
            name = self._resolve(loc, member_dir(index_name), doc_dir)
            if name is None:
                continue
            fields = legacy_fields(self._xml(name), leaf_text)
            if any(fields.get(k) for k in ("invoice_number", "total_incl_tax")):
                return fields
        return {}

    def _merge(self, sources: list[tuple[str, dict[str, str]]], pages: list[_Page]) -> None:
        structured: dict[str, str] = {}
        item_source = next((fields for _, fields in sources if any(k.startswith("items.") for k in fields)), {})
        seen_from: dict[str, str] = {}
        for label, fields in sources:
            for key, value in fields.items():
                if key.startswith("items."):
                    continue
                if key not in structured:
                    structured[key], seen_from[key] = value, label
                elif not _same(key, structured[key], value):
                    structured[f"mismatch.{key}"] = f"{seen_from[key]}={structured[key]}; {label}={value}"
                    self.warnings.append(f"the OFD file's {seen_from[key]} and {label} disagree on {key}: "
                                         f"{structured[key]!r} vs {value!r}")
        if item_source:
            structured.update({k: v for k, v in item_source.items() if k.startswith("items.")})
        else:
            items = [item for page in self.result.pages for item in items_from_page_text(page)]
            listed = [item for item in items if not _SEE_LIST.search(item["name"])]
            put_items(structured, listed or items)
        title = _title(pages)
        if title:
            structured.setdefault("title", title)
        if not any(k in structured for k in ("invoice_number", "total_incl_tax", "amount_excl_tax")):
            self.warnings.append("the OFD file carries no structured invoice data; only its page text was read")
            return
        self.result.structured = {STRUCTURED_FORMAT_KEY: "ofd", **structured}
        if structured.get("qr_text"):
            self.result.qr_codes.append(QrCode(text=structured["qr_text"], page=0))


# ---------------------------------------------------------------- helpers

def _custom_datas(body: _Element) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in iter_local(body, "CustomData"):
        key = LABEL_FIELDS.get(clean(item.get("Name")))
        value = clean(leaf_text(item))
        if key and value and key not in out:
            out[key] = value
    return out


def _resolve_refs(el: _Element, by_id: dict[str, _Page], pages: list[_Page]) -> str | None:
    """Text of the objects an element's ``ObjectRef`` children point at; ``None`` for elements without refs."""
    refs = children(el, "ObjectRef")
    if not refs:
        return None if any(isinstance(c.tag, str) for c in el) else ""
    parts = []
    for ref in refs:
        obj_id = (ref.text or "").strip()
        page = by_id.get((ref.get("PageRef") or "").strip())
        found = page.objects.get(obj_id) if page is not None else None
        if found is None:
            found = next((p.objects[obj_id] for p in pages if obj_id in p.objects), None)
        if found is not None:
            parts.append(found.text.strip())
    return "".join(parts)


def _text_object(obj: _Element, page_no: int) -> tuple[str, _Text]:
    boundary = _box(obj.get("Boundary"))
    size = _float(obj.get("Size"))
    free_form = bool(obj.get("CTM"))
    texts, lines = [], []
    for code in children(obj, "TextCode"):
        raw = code.text or ""
        texts.append(raw)
        text = raw.strip()
        if not text:
            continue
        box = boundary
        if boundary is not None and size and not free_form and not code.get("DeltaY"):
            box = _glyph_box(boundary, code, raw, size)
        lines.append(TextLine(text=text, box=box, confidence=1.0, page=page_no))
    return (obj.get("ID") or "").strip(), _Text("".join(texts), size, lines)


def _glyph_box(boundary: Box, code: _Element, raw: str, size: float) -> Box:
    """Box of a TextCode's glyphs: its start point (X, baseline Y) plus the advances, clipped to the boundary."""
    x = boundary[0] + _float(code.get("X"))
    baseline = boundary[1] + _float(code.get("Y"))
    start = len(raw) - len(raw.lstrip())
    chars = raw.strip()
    deltas = _deltas(code.get("DeltaX"))
    advance = sum(deltas[start:start + len(chars) - 1]) if deltas else sum(_width(c, size) for c in chars[:-1])
    x0 = x + sum(deltas[:start]) if deltas else x + start * size / 2
    x1 = x0 + advance + _width(chars[-1], size)
    y0, y1 = baseline - size * 0.9, baseline + size * 0.2
    bx1, by1 = boundary[2], boundary[3]
    x0, x1 = max(min(x0, bx1), boundary[0]), max(min(x1, bx1), boundary[0])
    y0, y1 = max(min(y0, by1), boundary[1]), max(min(y1, by1), boundary[1])
    if x1 - x0 < 1e-3 or y1 - y0 < 1e-3:
        return boundary
    return (round(x0, 3), round(y0, 3), round(x1, 3), round(y1, 3))


def _width(ch: str, size: float) -> float:
    return size / 2 if ord(ch) < 0x2E80 else size


def _deltas(spec: str | None) -> list[float]:
    """``"g 10 6.5 1.5875 3"`` → ``[6.5] * 10 + [1.5875, 3]`` (the OFD repetition shorthand), capped in length."""
    if not spec:
        return []
    tokens, out, i = spec.split(), [], 0
    while i < len(tokens) and len(out) < 10_000:
        if tokens[i] == "g" and i + 2 < len(tokens):
            count, value = int(_float(tokens[i + 1])), _float(tokens[i + 2])
            out.extend([value] * max(0, min(count, 10_000 - len(out))))
            i += 3
        else:
            out.append(_float(tokens[i]))
            i += 1
    return out


def _float(value: str | None) -> float:
    try:
        return float(value) if value else 0.0
    except ValueError:
        return 0.0


def _box(text: str | None) -> Box | None:
    """OFD ``"x y w h"`` → ``(x0, y0, x1, y1)``."""
    parts = (text or "").split()
    if len(parts) != 4:
        return None
    try:
        x, y, w, h = (float(p) for p in parts)
    except ValueError:
        return None
    return (x, y, x + w, y + h)


def _on_page(line: TextLine, page_no: int) -> TextLine:
    return TextLine(text=line.text, box=line.box, confidence=line.confidence, page=page_no)


def _title(pages: list[_Page]) -> str | None:
    """The largest-font text of the first page (and its templates) that reads as an invoice title."""
    if not pages:
        return None
    candidates = [t for t in pages[0].template_texts + list(pages[0].objects.values())
                  if len(t.text) <= _MAX_TITLE and _TITLE_WORDS.search(t.text)]
    for text in sorted(candidates, key=lambda t: -t.size):  # stable: document order among equal sizes
        candidate = clean(text.text)
        if kind_from_title(candidate) is not None:
            return candidate
    return None


def items_from_page_text(page: PageContent) -> list[dict[str, str]]:
    """Line items read from a page's boxed text, for OFDs whose tags and XML carry none.

    Rows lie between the header row (a 项目名称-style label and 金额 on one row) and the 合计 row. A text starting in
    the name column (left of the name label's right edge) begins an item when its row holds a number or a rate,
    else continues the previous item's name (wrapped names). On the row: the rate is the ``N%``/免税/不征税/``***``
    text; the amount is the right-most two-decimal number left of the rate, the tax the first one right of it
    (without a rate: the last two such numbers).
    """
    lines = [line for line in page.lines if line.box is not None]
    compact = {id(line): "".join(line.text.split()) for line in lines}
    name_head = next((ln for ln in lines if compact[id(ln)] in _NAME_HEADERS), None)
    amount_head = next((ln for ln in lines if compact[id(ln)] == "金额"), None)
    if name_head is None or amount_head is None or not _same_row(name_head.box, amount_head.box):
        return []
    top = max(name_head.box[3], amount_head.box[3]) - 0.5
    bottom = min((ln.box[1] for ln in lines if ln.box[1] > top and _TOTAL_ROW.match(compact[id(ln)])),
                 default=float("inf"))
    region = sorted((ln for ln in lines if top < ln.box[1] < bottom), key=lambda ln: (ln.box[1], ln.box[0]))
    name_limit = name_head.box[2]
    items: list[dict[str, str]] = []
    for line in region:
        if line.box[0] >= name_limit or _NUMERIC.match(compact[id(line)]):
            continue
        row = [ln for ln in region if ln is not line and ln.box[0] >= name_limit and _same_row(line.box, ln.box)]
        row.sort(key=lambda ln: ln.box[0])
        values = [compact[id(ln)] for ln in row]
        if any(_NUMERIC.match(v) or _RATE_TEXT.match(v) for v in values):
            items.append({"name": clean(line.text), **_row_values(values)})
        elif items:
            items[-1]["name"] += clean(line.text)
    return items


def _row_values(values: list[str]) -> dict[str, str]:
    rate_at = next((i for i, v in enumerate(values) if _RATE_TEXT.match(v)), None)
    money = [(i, v) for i, v in enumerate(values) if _MONEY_TEXT.match(v)]
    out: dict[str, str] = {}
    if rate_at is not None:
        out["tax_rate"] = values[rate_at]
        left = [v for i, v in money if i < rate_at]
        right = [v for i, v in money if i > rate_at]
        if left:
            out["amount"] = left[-1]
        if right:
            out["tax_amount"] = right[0]
    elif len(money) >= 2:
        out["amount"], out["tax_amount"] = money[-2][1], money[-1][1]
    return out


def _same_row(a: Box, b: Box) -> bool:
    """Whether ``b``'s vertical centre lies within ``a``'s vertical extent."""
    centre = (b[1] + b[3]) / 2
    return a[1] <= centre <= a[3]


def _same(key: str, a: str, b: str) -> bool:
    if key in ("amount_excl_tax", "tax_amount", "total_incl_tax"):
        x, y = parse_amount(a), parse_amount(b)
        if x is not None and y is not None:
            return x == y
    if key == "issue_date":
        ma, mb = _DATE.search(a), _DATE.search(b)
        if ma and mb:
            return tuple(map(int, ma.groups())) == tuple(map(int, mb.groups()))
    return "".join(a.split()).upper() == "".join(b.split()).upper()


__all__ = ["MAX_PAGES", "OFD_LIMITS", "items_from_page_text", "read_ofd"]
