"""Air itineraries: 电子发票（航空运输电子客票行程单） and the paper 航空运输电子客票行程单 (DOMAIN §1.4 F).

Contract: ``extract_air(layout, inv, source)`` fills ``inv`` from the printed page; every label may carry its
English twin (``票价 FARE``) and its value may be printed after it or right below it (``nearby``):
* identifiers: 数电 ``invoice_number`` (20 digits, 发票号码) and ``issue_date`` (开票日期); paper: the 印刷序号
  (SERIAL NUMBER, 10–11 digits) is the ``invoice_number`` and 填开日期 the ``issue_date``; both: ``e_ticket_no``
  (电子客票号码, 13 digits), ``check_code`` (验证码), ``passenger_name``, ``seller_name`` (填开单位),
  ``buyer_name`` / ``buyer_tax_id`` (数电);
* the first flight segment: ``from_station``, ``to_station`` (city or airport name as printed), ``flight_no``
  (``CA1501``), ``seat_class``, ``depart_datetime`` (date and time of the segment; date alone at 00:00 is never
  invented: without a time the field is left out and ``depart_date`` is set);
* money (``Decimal``; ``CNY``/``CN``/``YQ``/``¥`` prefixes stripped): ``fare`` (票价), ``fuel_surcharge``
  (燃油附加费), ``caac_fund`` (民航发展基金), ``other_taxes`` (其他税费), ``insurance`` (保险费),
  ``total_incl_tax`` (合计); 数电 also ``tax_rate`` (``'0.09'``) and ``tax_amount`` (增值税税额).
* when no tax is printed (paper), ``tax_amount`` is ``COMPUTED`` as the passenger-transport VAT on fare + fuel
  surcharge (DOMAIN §1.5: ÷ 1.09 × 9%); ``amount_excl_tax`` is then ``total − tax`` (``COMPUTED``), so the
  claimable total stays the printed 合计. Validation checks a printed tax against the same formula.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from pipeline.extract import fields as F
from pipeline.extract.layout import Hit, Layout, spaced
from pipeline.extract.nearby import money_near, value_near
from pipeline.extract.vat import COMPUTED_CONFIDENCE
from pipeline.money import parse_rate, quantize, tax_from_inclusive
from pipeline.types import FieldSource, Invoice

AIR_VAT_RATE = Decimal("0.09")
_MONEY_LABELS = {
    "fare": r"票\s*价(?!\s*[合计])(?:\s*FARE)?",
    "fuel_surcharge": spaced("燃油附加费") + r"(?:\s*FUEL\s*SURCHARGE)?",
    "caac_fund": spaced("民航发展基金") + r"(?:\s*CAAC\s*DEVELOPMENT\s*FUND)?",
    "other_taxes": spaced("其他税费") + r"(?:\s*OTHER\s*TAXES)?",
    "insurance": spaced("保险费") + r"(?:\s*INSURANCE)?",
    "total_incl_tax": r"(?<![价税])合\s*计(?:\s*TOTAL)?",
}
_NUMBER = re.compile(spaced("发票号码"))
_ISSUE = re.compile(spaced("开票日期") + "|" + spaced("填开日期") + r"(?:\s*DATE\s*OF\s*ISSUE)?")
_SERIAL = re.compile(spaced("印刷序号") + r"|SERIAL\s*NUMBER")
_E_TICKET = re.compile(spaced("电子客票号码") + r"(?:\s*E-?TICKET\s*NO\.?)?")
_CHECK = re.compile(spaced("验证码") + r"(?:\s*CK\.?)?")
_PASSENGER = re.compile(spaced("旅客姓名") + r"(?:\s*NAME\s*OF\s*PASSENGER)?")
_AGENT = re.compile(spaced("填开单位") + r"(?:\s*ISSUED\s*BY)?")
_TAX_RATE = re.compile(r"增\s*值\s*税\s*税\s*率|税\s*率")
_TAX = re.compile(r"增\s*值\s*税\s*税\s*额|(?<!率)税\s*额")
_BUYER = re.compile(spaced("购买方名称"))
_BUYER_ID = re.compile(spaced("统一社会信用代码") + r"(?:\s*/\s*纳税人识别号)?")
_FLIGHT = re.compile(r"(?<![A-Z0-9])([A-Z0-9]{2})\s?(\d{3,4})(?!\d)")
_AIRLINE = re.compile(r"^(?:[A-Z]{2}|[A-Z]\d|\d[A-Z])$")
_CABIN = re.compile(r"^(?:[A-Z]|经济舱|公务舱|头等舱|超级经济舱)$")
_DATE_ISO = re.compile(r"(\d{4})[-年./](\d{1,2})[-月./](\d{1,2})")
_TIME = re.compile(r"(?<!\d)([01]?\d|2[0-3])[:：]?([0-5]\d)(?!\d)")
_CITY = re.compile(r"^([\u4e00-\u9fff]{2,10})(?:\s*[A-Z]{3})?$")
_FROM = re.compile(r"^自\s*(?:FROM)?$|^FROM$|^出\s*发\s*站?$|^始发地")
_TO = re.compile(r"^至\s*(?:TO)?$|^TO$|^到\s*达\s*站?$|^目的地")


def _put(inv: Invoice, key: str, value, hit: Hit, source: FieldSource, factor: float = 1.0) -> None:
    inv.set(key, value, round(hit.conf * factor, 4), source, hit.box, hit.page)


def _digits(layout: Layout, label: re.Pattern[str], lengths: tuple[int, ...]) -> Hit | None:
    hits = F.digits_after(layout, label, lengths)
    if hits:
        return min(hits, key=lambda h: (h.y0, h.x0))
    hit = value_near(layout, label, rf"([0-9OoIl\s]{{{min(lengths)},{max(lengths) + 6}}})")
    if hit is None:
        return None
    value = re.sub(r"\s", "", hit.value).translate(str.maketrans("OoIl", "0011"))
    return Hit(value, hit.box, hit.conf, hit.page, hit.label_box) if len(value) in lengths else None


def _read_ids(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    title = F.title(layout)
    if title:
        _put(inv, "title", title.value, title, source)
    number = _digits(layout, _NUMBER, (20,)) or _digits(layout, _SERIAL, (10, 11))
    if number:
        _put(inv, "invoice_number", number.value, number, source)
    issued = value_near(layout, _ISSUE, r"(\d{4}\s*[-年./]\s*\d{1,2}\s*[-月./]\s*\d{1,2}\s*日?)")
    day = F.date_from_text(issued.value) if issued else None
    if day:
        _put(inv, "issue_date", day, issued, source)
    ticket = _digits(layout, _E_TICKET, (13,))
    if ticket:
        _put(inv, "e_ticket_no", ticket.value, ticket, source)
    check = value_near(layout, _CHECK, r"(\d{4})(?!\d)")
    if check:
        _put(inv, "check_code", check.value, check, source)
    passenger = value_near(layout, _PASSENGER, r"([\u4e00-\u9fff·]{2,8}|[A-Z]+/[A-Z ]+)")
    if passenger:
        _put(inv, "passenger_name", passenger.value, passenger, source)
    agent = value_near(layout, _AGENT, r"([\u4e00-\u9fff()（）A-Za-z]{4,40})")
    if agent:
        _put(inv, "seller_name", agent.value, agent, source)
    buyer = value_near(layout, _BUYER, r"([^\t]{2,60})")
    if buyer:
        _put(inv, "buyer_name", buyer.value.strip(), buyer, source)
    buyer_id = value_near(layout, _BUYER_ID, r"([0-9A-Z]{15,20})")
    if buyer_id:
        _put(inv, "buyer_tax_id", F.clean_tax_id(buyer_id.value) or buyer_id.value, buyer_id, source)


def _read_money(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    for key, label in _MONEY_LABELS.items():
        hit = money_near(layout, label)
        if hit:
            _put(inv, key, Decimal(hit.value), hit, source)
    rate = value_near(layout, _TAX_RATE, r"(\d{1,2}(?:\.\d+)?\s*%|免税|不征税)")
    if rate and parse_rate(rate.value):
        _put(inv, "tax_rate", parse_rate(rate.value), rate, source)
    tax = money_near(layout, _TAX)
    if tax:
        _put(inv, "tax_amount", Decimal(tax.value), tax, source)


def _read_segment(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    """The first flight segment: the first row below the 自/FROM header holding a flight number."""
    header = [s for s in layout.segs if _FROM.match(s.text.replace(" ", "")) or re.match(r"^自\s*FROM", s.text)]
    top = min((s.y1 for s in header), default=0.0)
    rows = [r for r in layout.rows([s for s in layout.segs if s.y0 >= top - 1]) if r]
    for row in rows:
        tokens = layout.tokens(row)
        flight = None
        for k, t in enumerate(tokens):
            m = _FLIGHT.fullmatch(t.text)
            if m and not _DATE_ISO.search(t.text):
                flight = (m.group(1) + m.group(2), t)
                break
            if _AIRLINE.match(t.text) and k + 1 < len(tokens) and re.fullmatch(r"\d{3,4}", tokens[k + 1].text):
                flight = (t.text + tokens[k + 1].text, tokens[k + 1])
                break
        if flight is None:
            continue
        text = " ".join(t.text for t in tokens)
        _put(inv, "flight_no", flight[0], flight[1], source)
        cities = [t for t in tokens if _CITY.match(t.text) and t.x1 <= flight[1].x0 + 1]
        if cities:
            _put(inv, "from_station", _CITY.match(cities[0].text).group(1), cities[0], source)
        after = [t for t in tokens if t.x0 >= flight[1].x1 - 1]
        cabin = next((t for t in after if _CABIN.match(t.text)), None)
        if cabin:
            _put(inv, "seat_class", cabin.text, cabin, source)
        d = _DATE_ISO.search(text)
        if d:
            day = date(int(d.group(1)), int(d.group(2)), int(d.group(3)))
            t = _TIME.search(text[d.end():])
            anchor = flight[1]
            if t:
                _put(inv, "depart_datetime", datetime.combine(day, datetime.min.time()).replace(
                    hour=int(t.group(1)), minute=int(t.group(2))), anchor, source)
            else:
                _put(inv, "depart_date", day, anchor, source)
        below = [r for r in rows if r[0].y0 > row[0].y0]
        nxt = below[0] if below else []
        dest = next((t for t in layout.tokens(nxt) if _CITY.match(t.text)), None)
        if dest is None:
            dest = cities[1] if len(cities) > 1 else None
        if dest is not None:
            _put(inv, "to_station", _CITY.match(dest.text).group(1), dest, source)
        return


def _computed_tax(inv: Invoice) -> None:
    fare, total = inv.fields.get("fare"), inv.fields.get("total_incl_tax")
    if fare is None or total is None:
        return
    conf = round(min(fare.confidence, total.confidence) * COMPUTED_CONFIDENCE, 4)
    if "tax_amount" not in inv.fields:
        base = fare.value + (inv.get("fuel_surcharge") or Decimal("0.00"))
        inv.set("tax_amount", tax_from_inclusive(base, AIR_VAT_RATE)[1], conf, FieldSource.COMPUTED)
        inv.set("tax_rate", str(AIR_VAT_RATE), conf, FieldSource.COMPUTED)
    if "amount_excl_tax" not in inv.fields:
        inv.set("amount_excl_tax", quantize(total.value - inv.get("tax_amount")), conf, FieldSource.COMPUTED)


def extract_air(layout: Layout, inv: Invoice, source: FieldSource) -> None:
    _read_ids(layout, inv, source)
    _read_money(layout, inv, source)
    _read_segment(layout, inv, source)
    _computed_tax(inv)


__all__ = ["AIR_VAT_RATE", "extract_air"]
