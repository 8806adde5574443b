"""English (Latin-script) shop receipts, as in the SROIE set: InvoiceKind.RECEIPT.

Contract:
* ``looks_like_receipt(layout)``: most letters on the page are Latin, no Chinese invoice title is printed, and a
  total-like word (TOTAL, AMOUNT, DUE, PAYABLE …) appears.
* ``extract_receipt(layout, inv, source)`` sets, where found:
  ``seller_name``   the company printed in the header: the first legal-entity line (SDN BHD, S/B, LTD, INC,
                    COMPANY, ENTERPRISE …; a name wrapped over several lines is joined; a line introduced by a
                    separate ``Owned by`` line names the owner and is skipped), else the first shop-like line
                    (RESTAURANT, SHOP, KEDAI …), else the first header line that reads as a name; a trailing
                    registration number ``(123456-X)`` is dropped; text as printed (case kept);
  ``seller_address`` the header lines after the company up to the first contact/tax/document line, joined by
                    spaces;
  ``issue_date``    a ``date``: the date after a ``Date`` label, else the first date printed (``25/12/2018``,
                    ``18-10-17``, ``10 Mar 2018``, ``Oct 3, 2016``, ``2018-03-10``; day first when ambiguous);
  ``total_incl_tax`` a ``Decimal``: the amount of the strongest total label (rounded / final / nett / payable
                    totals before plain totals; subtotals, tax, quantity, savings and change are never totals);
                    among equally strong labels the last one printed;
  ``currency``      an ISO code when the receipt prints an unambiguous one (``RM``/``MYR`` → ``MYR``, ``SGD``,
                    ``USD``, ``EUR``, ``GBP`` …); a bare ``$`` gives none.
  Values carry the confidence of the OCR boxes they were read from.
* OCR repairs, only where the shape makes them safe: words glued together in a header name are split again when
  the receipt prints the same words elsewhere (``SANYUSTATIONERYSHOP``), ``_`` read for a dot, ``5/B`` for ``S/B``,
  the space after ``MR.``/``DR.`` that OCR drops.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal

from pipeline.extract.layout import Layout, Seg, union
from pipeline.money import parse_amount
from pipeline.types import FieldSource, Invoice

HEADER_LINES = 14
_LEGAL = re.compile(r"\b(?:SDN\.?\s*BHD\.?|S/B|BHD|BERHAD|PLT|LTD|LIMITED|INC|LLC|L\.L\.C|CORP(?:ORATION)?|"
                    r"COMPANY|CO\.|ENTERPRISES?|TRADING|GMBH|PTE)(?![A-Z])", re.IGNORECASE)
_SHOP = re.compile(r"RESTAURANT|RESTORAN|KEDAI|SHOP|STORE|MART|HARDWARE|STATIONERY|BAKER|CAFE|BOOK|PHARMACY|"
                   r"MARKET|TRADERS|HOTEL|KITCHEN|FOOD|STATION", re.IGNORECASE)
# Words that may open a legal-entity line without naming anyone: the name is then on the line(s) above.
_SUFFIX_WORDS = re.compile(r"^(?:SDN\.?|BHD\.?|S/B|CO\.?|\(M\)|ENTERPRISES?|TRADING|PLT|LTD\.?|LIMITED|INC\.?|"
                           r"COMPANY|BERHAD|&)$", re.IGNORECASE)
_OWNER_LABEL = re.compile(r"^(?:OWNED|OPERATED|MANAGED)\s+BY\s*:?$", re.IGNORECASE)
_REG_NO = re.compile(r"\(?\s*(?:CO\.?\s*(?:REG\.?|NO\.?)[^)]*|[A-Z]{0,3}\d{4,}[\s-]*[A-Z]?)\s*\)?\s*$", re.IGNORECASE)
_TRAILING_REG = re.compile(r"\s*\((?=[^)]*\d{4})[^)]*\)\s*$")
_STOP_ADDRESS = re.compile(r"TAX\s*INVOICE|\b(?:DOCUMENT|TEL|FAX|PHONE|TELEPHONE|MOBILE|GST|SST|TAX|INVOICE|RECEIPT|DATE|DOC|EMAIL|E-MAIL|"
                           r"WWW|HTTP|CO\.?\s*REG|COMPANY\s+REG|REG\.?\s*NO|CASH|CASHIER|SLIP|TRANS|TERMINAL|"
                           r"BILL|ORDER|TABLE|OWNED|LICENSEE|COUNTER)\b|@|\.COM", re.IGNORECASE)
_PHONE = re.compile(r"^[+()\d\s-]{8,}$")
_BEFORE_ADDRESS = re.compile(r"\b(?:GST|SST|REG|CO\.?\s*NO|COMPANY|LICENSEE|OWNER|OWNED|BRANCH)\b", re.IGNORECASE)
_POSTCODE = re.compile(r"(?<![\d-])\d{5}(?![\d-])")
_MONTHS = {m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT",
                                       "NOV", "DEC"), start=1)}
_MON = r"(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)[A-Z]*\.?"
_DATE_PATTERNS = (
    re.compile(r"(?<![\d/.-])(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?![\d/.-])"),  # ISO
    re.compile(r"(?<![\d/.-])(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?![\d/.-])"),  # day first
    re.compile(rf"(?<![\d])(\d{{1,2}})[\s-]*{_MON}[\s,-]*(\d{{4}}|\d{{2}})(?!\d)", re.IGNORECASE),
    re.compile(rf"\b{_MON}\s*(\d{{1,2}}),?\s*(\d{{4}})(?!\d)", re.IGNORECASE),
)
_DATE_LABEL = re.compile(r"\bDATE\b", re.IGNORECASE)
_AMOUNT = re.compile(r"(?<![\d.])(-?)\s*(?:RM|MYR|SGD|USD|S\$|US\$|\$|€|£)?\s*(-?\d{1,3}(?:,\d{3})+\.\d{2}|-?\d*\.\d{2})"
                     r"(?![\d.])", re.IGNORECASE)
_TOTAL_WORD = re.compile(r"TOTAL|AMOUNT|\bDUE\b|PAYABLE|\bNETT?\b|BALANCE", re.IGNORECASE)
_NOT_TOTAL = re.compile(r"SUB\s*-?\s*TOTAL|EXCL|TOTAL\s*(?:QTY|QUANTITY|ITEMS?|SAVINGS?|DISCOUNT|GST\b|TAX\b|"
                        r"SST\b|\d+%\s*SUPPL)|\bQTY\b|NO\s+OF\s+ITEMS|CHANGE|CASH\b|TENDER|SAVING|DISCOUNT|"
                        r"^\W*(?:GST|SST|TAX)\s*@|ADJ|POINTS?|BEFORE|SUMMARY|SUPPLIES", re.IGNORECASE)
_CURRENCIES = (("MYR", re.compile(r"\bRM\s*\d|\bRM\b|\bMYR\b|\(RM\)")), ("SGD", re.compile(r"\bSGD\b|S\$")),
               ("USD", re.compile(r"\bUSD\b|US\$")), ("EUR", re.compile(r"€|\bEUR\b")),
               ("GBP", re.compile(r"£|\bGBP\b")), ("HKD", re.compile(r"\bHKD\b|HK\$")))
_HAN = re.compile(r"[\u4e00-\u9fff]")
_LATIN = re.compile(r"[A-Za-z]")
_TITLE_WORDS = re.compile(r"发票|客票|行程单")


class _Row:
    """One printed line of the receipt: its boxes left to right."""

    def __init__(self, segs: list[Seg]):
        self.segs = segs
        self.text = " ".join(s.text for s in segs).strip()
        self.conf = min(s.conf for s in segs)
        self.box = union(s.box for s in segs)
        self.page = segs[0].page


def looks_like_receipt(layout: Layout) -> bool:
    text = " ".join(s.text for s in layout.segs)
    latin, han = len(_LATIN.findall(text)), len(_HAN.findall(text))
    return latin >= 20 and latin >= 4 * han and not _TITLE_WORDS.search(text) and bool(_TOTAL_WORD.search(text))


def _rows(layout: Layout) -> list[_Row]:
    return [_Row(r) for r in layout.rows(layout.segs)]


def _put(inv: Invoice, key: str, value, rows: list[_Row], source: FieldSource, box=None, conf: float | None = None
         ) -> None:
    conf = min(r.conf for r in rows) if conf is None else conf
    inv.set(key, value, round(conf, 4), source, box or union(r.box for r in rows), rows[0].page)


# ---------------------------------------------------------------------------------------------- company


def _is_noise(text: str) -> bool:
    """Not a name: handwriting in lower case, codes, registration numbers, phone numbers, dates."""
    letters = _LATIN.findall(text)
    if len(letters) < 2 or _PHONE.match(text) or _REG_NO.fullmatch(text.strip()):
        return True
    if text == text.lower():  # annotators' handwriting, stray marks
        return True
    return bool(re.fullmatch(r"[A-Z]?\d[\dA-Z-]*", text.strip())) or _find_date(text) is not None and len(letters) < 6


def _clean_company(text: str, vocabulary: set[str]) -> str:
    text = _TRAILING_REG.sub("", text).strip(" :")
    text = re.sub(r"(?<=\w)_(?=\w)|(?<=\s)_(?=\w)", ".", text)  # a dot read as an underscore
    text = re.sub(r"\b5/B\b", "S/B", text)
    text = re.sub(r"\b(MR|MRS|MS|DR)\.(?=[A-Za-z])", r"\1. ", text, flags=re.IGNORECASE)  # English puts a space there
    return " ".join(_resegment(word, vocabulary) for word in text.split())


def _resegment(word: str, vocabulary: set[str]) -> str:
    """``SANYUSTATIONERYSHOP`` → ``SANYU STATIONERY SHOP`` when every piece is a word printed elsewhere on the
    receipt (or a common shop word); otherwise the word as it is."""
    if len(word) < 10 or not word.isalpha():
        return word
    upper = word.upper()
    best: dict[int, list[str]] = {0: []}  # fewest pieces covering upper[:end]
    for end in range(3, len(upper) + 1):
        for start in range(max(0, end - 20), end - 2):
            piece = upper[start:end]
            if start in best and piece in vocabulary and piece != upper \
                    and (end not in best or len(best[start]) + 1 < len(best[end])):
                best[end] = best[start] + [word[start:end]]
    parts = best.get(len(upper))
    return " ".join(parts) if parts and len(parts) > 1 else word


_COMMON_WORDS = {"SHOP", "STORE", "MART", "TRADING", "ENTERPRISE", "RESTAURANT", "RESTORAN", "HARDWARE",
                 "STATIONERY", "BOOK", "BOOKS", "CAFE", "KITCHEN", "FOOD", "BAKERY", "MARKET", "SUPERMARKET",
                 "PHARMACY", "HOTEL", "TRADERS", "AND", "THE", "SDN", "BHD"}


def _vocabulary(rows: list[_Row]) -> set[str]:
    words = set(_COMMON_WORDS)
    for row in rows:
        words.update(w for w in re.split(r"[^A-Z]+", row.text.upper()) if len(w) >= 3)
    return words


def _only_suffixes(text: str) -> bool:
    words = _TRAILING_REG.sub("", text).split()
    return bool(words) and all(_SUFFIX_WORDS.match(w) for w in words)


def _company(rows: list[_Row]) -> tuple[str, list[_Row]] | None:
    """The company name and the header rows it was read from."""
    header = rows[:HEADER_LINES]
    candidates = [(i, r) for i, r in enumerate(header) if not _is_noise(r.text)]
    if not candidates:
        return None
    vocabulary = _vocabulary(rows)
    for i, row in candidates:
        if not _LEGAL.search(row.text):
            continue
        if i > 0 and _OWNER_LABEL.match(header[i - 1].text):
            continue
        used = [row]
        j = i
        while j > 0 and _only_suffixes(" ".join(r.text for r in used)):
            j -= 1
            if _is_noise(header[j].text):
                break
            used.insert(0, header[j])
        k = i + 1
        while k < len(header) and _only_suffixes(header[k].text):  # SDN / BHD wrapped onto lines of their own
            used.append(header[k])
            k += 1
        return _clean_company(" ".join(r.text for r in used), vocabulary), used
    for _, row in candidates:
        if _SHOP.search(row.text):
            return _clean_company(row.text, vocabulary), [row]
    i, row = candidates[0]
    return _clean_company(row.text, vocabulary), [row]


def _address(rows: list[_Row], after: _Row) -> list[_Row]:
    """The rows after the company: registration / tax-ID / licence lines before the address are skipped; the
    address ends at a contact or document line, or one single-word line (the state) after the postcode line."""
    start = rows.index(after) + 1
    out: list[_Row] = []
    postcode = False
    for row in rows[start:start + 10]:
        text = row.text
        if _REG_NO.fullmatch(text.strip()) or (_find_date(text) is not None and len(_LATIN.findall(text)) < 8):
            continue  # a registration number or the date printed between name and address
        if not out and _BEFORE_ADDRESS.search(text):
            continue
        if _STOP_ADDRESS.search(text) or _PHONE.match(text) or _AMOUNT.search(text) and not re.search(r"[A-Za-z]{3}", text):
            break
        if text == text.lower() and len(text) > 3:
            break
        if postcode and len(text.split()) > 1:
            break
        out.append(row)
        if postcode:
            break
        postcode = bool(_POSTCODE.search(text))
    return out


# ---------------------------------------------------------------------------------------------- date


def _find_date(text: str) -> date | None:
    up = text.upper()
    for k, rx in enumerate(_DATE_PATTERNS):
        for m in rx.finditer(up):
            g = m.groups()
            try:
                if k == 0:
                    y, mo, d = int(g[0]), int(g[1]), int(g[2])
                elif k == 1:
                    d, mo, y = int(g[0]), int(g[1]), int(g[2])
                    if mo > 12 >= d:  # month first after all
                        d, mo = mo, d
                elif k == 2:
                    d, mo, y = int(g[0]), _MONTHS[g[1][:3]], int(g[2])
                else:
                    mo, d, y = _MONTHS[g[0][:3]], int(g[1]), int(g[2])
                y += 2000 if y < 100 else 0
                found = date(y, mo, d)
            except (ValueError, KeyError):
                continue
            if 1990 <= found.year <= 2099:
                return found
    return None


def _issue_date(rows: list[_Row]) -> tuple[date, _Row] | None:
    for i, row in enumerate(rows):
        if _DATE_LABEL.search(row.text):
            for cand in (row, *rows[i + 1:i + 2]):
                found = _find_date(cand.text[_DATE_LABEL.search(cand.text).end():] if cand is row else cand.text)
                if found:
                    return found, cand
    for row in rows:
        found = _find_date(row.text)
        if found:
            return found, row
    return None


# ---------------------------------------------------------------------------------------------- total


def _label_score(label: str, value: Decimal) -> int:
    """How surely ``label`` names the amount paid: 0 = not a total."""
    up = label.upper()
    if not _TOTAL_WORD.search(up) and not re.search(r"ROUNDING", up):
        return 0
    if re.search(r"ROUND", up) and re.search(r"TOTAL", up) or re.search(r"AFTER\s+ROUND", up):
        return 10
    if re.search(r"^\W*ROUNDING(?:\s*\(?(?:RM|RN|MYR)\)?)?\W*$", up) and abs(value) >= Decimal("0.10"):
        return 10  # "Rounding RM 22.90": the rounded total, not the adjustment
    if _NOT_TOTAL.search(up):
        return 0
    if re.search(r"FINAL|GRAND|NETT?\s+TOTAL|PAYABLE|AMOUNT\s+DUE|TOTAL\s+DUE|BALANCE\s+DUE", up):
        return 9
    if re.search(r"TOTAL", up) and re.search(r"INCL|INC\.|INCLUSIVE|GST|SST|TAX", up):
        return 7
    if re.search(r"TOTAL", up):
        return 6
    return 2 if re.search(r"AMOUNT", up) else 0


def _row_amount(row: _Row) -> tuple[str, Decimal, Seg, float] | None:
    """(label text, amount, its box, confidence) of a row printing a label and an amount right of it."""
    for k, seg in enumerate(row.segs):
        matches = list(_AMOUNT.finditer(seg.text))
        if not matches:
            continue
        m = matches[-1]
        label = " ".join([s.text for s in row.segs[:k]] + [seg.text[:m.start()]]).strip()
        rest = seg.text[m.end():].strip()
        if not re.search(r"[A-Za-z]{3}", label) or len(rest) > 3:
            continue
        value = parse_amount(m.group(1) + m.group(2))
        if value is not None:
            return label, value, seg, min(s.conf for s in row.segs[:k + 1])
    return None


def _total(rows: list[_Row]) -> tuple[Decimal, _Row, Seg, float] | None:
    best = None
    for order, row in enumerate(rows):
        found = _row_amount(row)
        if found is None:
            continue
        label, value, seg, conf = found
        score = _label_score(label, value)
        if score and (best is None or (score, order) >= best[0]):
            best = ((score, order), (value, row, seg, conf))
    return best[1] if best else None


def _currency(text: str) -> str | None:
    for code, rx in _CURRENCIES:
        if rx.search(text):
            return code
    return None


def extract_receipt(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    rows = _rows(layout)
    if not rows:
        return
    company = _company(rows)
    if company is not None:
        name, used = company
        _put(inv, "seller_name", name, used, source)
        address = _address(rows, used[-1])
        if address:
            _put(inv, "seller_address", " ".join(r.text for r in address), address, source)
    found = _issue_date(rows)
    if found:
        _put(inv, "issue_date", found[0], [found[1]], source)
    total = _total(rows)
    if total:
        value, row, seg, conf = total
        _put(inv, "total_incl_tax", value, [row], source, box=seg.box, conf=conf)
    currency = _currency(" ".join(r.text for r in rows))
    if currency:
        inv.set("currency", currency, 1.0 if source != FieldSource.OCR else 0.9, source)


__all__ = ["extract_receipt", "looks_like_receipt"]
