"""Policy rules on one invoice's own content (DOMAIN §6.3): R6, R11, R14, R15, R17, R18.

* R6 allowed kinds: a kind in ``invoice_kinds.never`` (receipts, unrecognised) -> block; a kind not allowed for the
  line's category (``by_category``, else ``default``; without a category: allowed for some category) -> warn;
  a 定额发票 above ``quota_max`` -> warn; a category in ``special_required`` without a 专票 -> warn.
* R11 stale / cross-year: service date more than ``deadline_days`` before submission (counted from the trip end for
  trip expenses) -> warn; an invoice of an earlier fiscal year submitted after ``fiscal_year_cutoff`` ->
  ``cross_year_severity``; a service date after the submission date -> warn (misread date).
* R14 weekend / holiday: the service date is not a working day under China's adjusted calendar -> warn; a year
  without calendar data -> one info finding per year and claim.
* R15 personal consumption: an item whose 简称 is in ``personal_consumption.jiancheng`` or whose name contains a
  keyword -> ``personal_consumption.severity``.
* R17 generic items: a ``(详见销货清单)`` line, or only generic names like 办公用品, without a 销货清单 -> warn.
* R18 rate sanity: an item whose printed tax rate does not fit its 简称 (``rate_sanity``) -> warn.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from pipeline.policy.base import category_name, finding, money
from pipeline.policy.facts import rate_text
from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.policy.workdays import holiday_name, is_workday
from pipeline.types import Finding, InvoiceKind, Severity

SPECIAL_KINDS = frozenset({InvoiceKind.VAT_SPECIAL, InvoiceKind.VAT_E_SPECIAL, InvoiceKind.DIGITAL_SPECIAL})
_KIND_NAMES = {  # kind -> (中文, English) as an employee knows them
    InvoiceKind.VAT_SPECIAL: ("增值税专用发票", "special VAT invoice"),
    InvoiceKind.VAT_NORMAL: ("增值税普通发票", "ordinary VAT invoice"),
    InvoiceKind.VAT_ROLL: ("卷式发票", "roll VAT invoice"),
    InvoiceKind.VAT_E_NORMAL: ("电子普通发票", "electronic ordinary VAT invoice"),
    InvoiceKind.VAT_E_SPECIAL: ("电子专用发票", "electronic special VAT invoice"),
    InvoiceKind.VAT_E_TOLL: ("通行费电子发票", "toll e-invoice"),
    InvoiceKind.DIGITAL_SPECIAL: ("数电专票", "digital special VAT invoice"),
    InvoiceKind.DIGITAL_NORMAL: ("数电普票", "digital ordinary VAT invoice"),
    InvoiceKind.RAIL_E_TICKET: ("铁路电子客票", "rail e-ticket"),
    InvoiceKind.RAIL_PAPER_TICKET: ("火车票", "paper train ticket"),
    InvoiceKind.AIR_E_ITINERARY: ("电子行程单", "flight e-itinerary"),
    InvoiceKind.AIR_PAPER_ITINERARY: ("纸质行程单", "paper flight itinerary"),
    InvoiceKind.TAXI: ("出租车发票", "taxi receipt"),
    InvoiceKind.QUOTA: ("定额发票", "fixed-denomination invoice"),
    InvoiceKind.RECEIPT: ("收据/小票", "receipt"),
    InvoiceKind.TRIP_TABLE: ("行程单", "ride-hailing trip list"),
    InvoiceKind.UNKNOWN: ("无法识别的票据", "unrecognised document"),
}
_HOLIDAYS_ZH = {"New Year's Day": "元旦", "Spring Festival": "春节", "Tomb-sweeping Day": "清明节",
                "Labour Day": "劳动节", "Dragon Boat Festival": "端午节", "National Day": "国庆节",
                "Mid-autumn Festival": "中秋节", "Anti-Fascist 70th Day": "抗战胜利纪念日"}


def r6_invoice_kind(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    rules = ctx.policy.invoice_kinds
    kind = line.kind
    kind_zh, kind_en = _KIND_NAMES.get(kind, (kind.value, kind.value))
    if kind in rules.never:
        return [finding("R6", Severity.BLOCK, f"{kind_zh}不能作为报销凭证，请提供正式发票",
                        f"A {kind_en} is not accepted as a voucher; please provide a proper invoice.",
                        line, kind=kind.value)]
    findings = []
    if line.category is not None:
        allowed = rules.by_category.get(line.category, rules.default)
    else:
        allowed = ctx.index.kinds_anywhere
    if kind not in allowed:
        cat_zh, cat_en = category_name(line.category)
        findings.append(finding(
            "R6", Severity.WARN, f"{kind_zh}不是“{cat_zh}”费用可接受的票据类型，请换开合适的发票",
            f"A {kind_en} is not an accepted voucher for {cat_en} expenses; please get a suitable invoice.",
            line, kind=kind.value, category=line.category, allowed=sorted(k.value for k in allowed)))
    if kind is InvoiceKind.QUOTA and rules.quota_max is not None and line.total is not None \
            and line.total > rules.quota_max:
        findings.append(finding(
            "R6", Severity.WARN, f"定额发票合计 {money(line.total)} 元超过 {money(rules.quota_max)} 元，请提供机打发票",
            f"Fixed-denomination invoices over {money(rules.quota_max)} are not accepted "
            f"({money(line.total)}); please get a printed invoice.", line, total=line.total, limit=rules.quota_max))
    if line.category in rules.special_required and kind not in SPECIAL_KINDS:
        cat_zh, cat_en = category_name(line.category)
        findings.append(finding(
            "R6", Severity.WARN, f"“{cat_zh}”费用需要增值税专用发票（用于抵扣进项税）",
            f"{cat_en} expenses need a special VAT invoice (专票) so the input VAT can be deducted.",
            line, kind=kind.value, category=line.category))
    return findings


def _fiscal_year(day: date, start: tuple[int, int]) -> int:
    return day.year if (day.month, day.day) >= start else day.year - 1


@lru_cache(maxsize=64)
def _md(text: str) -> tuple[int, int]:
    month, day = text.split("-")
    return int(month), int(day)


def _cutoff(fiscal_year: int, start: tuple[int, int], cutoff: tuple[int, int]) -> date:
    first = date(fiscal_year, *start)
    day = date(fiscal_year, *cutoff)
    return day if day >= first else date(fiscal_year + 1, *cutoff)


def _year_end(ctx: CheckContext) -> tuple[tuple[int, int], int, date]:
    """(fiscal-year start, the submission's fiscal year, last year's cut-off), once per claim."""
    found = ctx.cache.get("R11")
    if found is None:
        rules = ctx.policy.submission
        start, cutoff = _md(rules.fiscal_year_start), _md(rules.fiscal_year_cutoff)
        fy_now = _fiscal_year(ctx.claim.submitted_on, start)
        found = ctx.cache["R11"] = (start, fy_now, _cutoff(fy_now, start, cutoff))
    return found


def r11_stale(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    day = line.service_date
    if day is None:
        return []
    rules = ctx.policy.submission
    submitted = ctx.claim.submitted_on
    trip = ctx.claim.trip
    if day > submitted:
        return [finding("R11", Severity.WARN, f"票据日期 {day} 晚于报销日期 {submitted}，请核对日期",
                        f"The invoice date {day} is after the claim date {submitted}; check the date.",
                        line, service_date=day, submitted_on=submitted)]
    findings = []
    from_trip = trip is not None and ctx.in_trip(line)
    reference = trip.end if from_trip else day
    late = (submitted - reference).days
    if late > rules.deadline_days:
        since = "出差结束" if from_trip else "消费"
        findings.append(finding(
            "R11", Severity.WARN,
            f"超过报销时限：{since}（{reference}）后 {late} 天才报销，规定为 {rules.deadline_days} 天内，需说明原因",
            f"Submitted {late} days after {'the trip ended' if from_trip else 'the expense'} "
            f"({reference}); the limit is {rules.deadline_days} days, so an explanation is needed.",
            line, reference_date=reference, submitted_on=submitted, days=late, limit_days=rules.deadline_days))
    start, fy_now, cutoff_now = _year_end(ctx)
    fy_day = _fiscal_year(day, start)
    if fy_day < fy_now and (fy_now - fy_day > 1 or submitted > cutoff_now):
        deadline = _cutoff(fy_day + 1, start, _md(rules.fiscal_year_cutoff))
        findings.append(finding(
            "R11", Severity(rules.cross_year_severity),
            f"跨年度票据：{day} 属于 {fy_day} 会计年度，已过 {deadline} 的年度截止日",
            f"This invoice belongs to fiscal year {fy_day} ({day}); last year's invoices had to be claimed by "
            f"{deadline}.", line, service_date=day, fiscal_year=fy_day, cutoff=deadline))
    return findings


def r14_non_workday(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    day = line.service_date
    if day is None:
        return []
    workday = is_workday(day)
    if workday is None:
        if ctx.once(f"R14:{day.year}"):
            return [finding("R14", Severity.INFO, f"缺少 {day.year} 年的节假日数据，未检查周末/节假日",
                            f"No holiday calendar is available for {day.year}; the weekend/holiday check was "
                            "skipped.", line, year=day.year)]
        return []
    if workday:
        return []
    holiday = holiday_name(day)
    zh = _HOLIDAYS_ZH.get(holiday, holiday) if holiday else "周末"
    return [finding("R14", Severity.WARN, f"消费日期 {day} 是非工作日（{zh}），请说明业务原因",
                    f"The expense date {day} is not a working day ({holiday or 'weekend'}); please give the "
                    "business reason.", line, service_date=day, day_off=holiday or "weekend")]


@lru_cache(maxsize=64)
def _keyword_pattern(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    return re.compile("|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True)), re.IGNORECASE)


def r15_personal(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    rules = ctx.policy.personal_consumption
    pattern = _keyword_pattern(tuple(rules.keywords))
    jiancheng = rules.jiancheng
    hits = []
    for item in line.items:
        if item.jiancheng is not None and item.jiancheng in jiancheng:
            hits.append((item.line.name, item.jiancheng))
        elif pattern is not None:
            m = pattern.search(item.line.name)
            if m:
                hits.append((item.line.name, m.group(0)))
    if not hits:
        return []
    names = [name for name, _ in hits]
    return [finding("R15", Severity(rules.severity),
                    f"发票含个人消费项目（{'、'.join(names)}），不能作为公司费用报销",
                    f"The invoice contains personal-consumption items ({', '.join(names)}), which the company does "
                    "not reimburse.", line, items=names, matched=[m for _, m in hits])]


_GENERIC_STRIP = str.maketrans("", "", "()（）[]【】 ")


def r17_generic_items(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    if line.has_goods_list or not line.items:
        return []
    names = set(ctx.policy.generic_items.names)
    generic, listed = [], False
    for item in line.items:
        text = item.text.translate(_GENERIC_STRIP)
        if "清单" in text and text in names:
            listed = True
            generic.append(item.line.name)
        elif text in names or (item.jiancheng in names and text in ("", item.jiancheng)):
            generic.append(item.line.name)
    if not (listed or len(generic) == len(line.items)):
        return []
    return [finding("R17", Severity.WARN,
                    f"发票只写了笼统品名（{'、'.join(generic)}），请附税控系统开具的销货清单",
                    f"The invoice only names generic goods ({', '.join(generic)}); attach the goods list "
                    "(销货清单) issued with it.", line, items=generic)]


def r18_rate_sanity(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    findings = []
    for item in line.items:
        if item.jiancheng is None:
            continue
        allowed = ctx.index.rates.get(item.jiancheng)
        rate = rate_text(item.line.tax_rate)
        if allowed is None or rate is None or rate in allowed:
            continue
        findings.append(finding(
            "R18", Severity.WARN,
            f"“{item.line.name}”的税率 {item.line.tax_rate} 与“{item.jiancheng}”常见税率不符，请核对发票",
            f"The tax rate {item.line.tax_rate} on '{item.line.name}' is unusual for {item.jiancheng}; "
            "check the invoice (misread, or wrongly issued).",
            line, item=item.line.name, tax_rate=rate, expected=sorted(allowed)))
    return findings

