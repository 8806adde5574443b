"""Travel rules (DOMAIN §6.1–6.3): R7 trip dates, R8 route/city, R9 lodging caps, R10 class of travel.

A travel line is one whose category is in ``travel.travel_categories``, a rail/air ticket, or a lodging line
(category in ``lodging.categories`` or an item with a lodging 简称 such as ``*住宿服务*``).

* R7: a travel line on a claim without a travel request -> ``travel.missing_request`` (once per claim); an
  unapproved request -> ``travel.unapproved_request`` (once); a travel date (乘车/航班 date, check-in, else the issue
  date) outside ``[start - tolerance, end + tolerance]`` -> warn; a stay longer than the trip or checking out after
  it -> warn; a rail/air e-invoice issued before the travel date or more than ``ticket_issue_max_days`` after it
  -> warn.
* R8: a ticket whose departure or arrival station is neither a destination nor the origin, or a hotel/service city
  that is not a destination -> warn.
* R9: lodging above ``cap × nights`` (cap per room-night by band × city/region/tier × season, night by night) ->
  reduce, ``suggested_amount`` = the invoice total minus the excess; nights unknown -> info. An invoice claimed as
  ``travel.allowance`` -> block (allowances are computed, not claimed).
* R10: a seat/cabin class above the band's entitlement, or a flight where the train takes no longer than
  ``flight_if_rail_hours_gt`` -> per ``transport.over_standard`` (``reimburse_at_standard``: reduce, the excess
  over the standard fare is the employee's; finance sets the amount).
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pipeline.policy.base import finding, money
from pipeline.policy.facts import AIR_KINDS, RAIL_KINDS, TICKET_KINDS, service_date
from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.policy.schema import Policy
from pipeline.policy.travel import ALLOWANCE_CATEGORY, place_matches, station_city
from pipeline.types import Finding, InvoiceKind, Severity

E_TICKET_KINDS = frozenset({InvoiceKind.RAIL_E_TICKET, InvoiceKind.AIR_E_ITINERARY})
_OVER = {"reimburse_at_standard": Severity.REDUCE, "warn": Severity.WARN, "block": Severity.BLOCK}


def is_lodging(line: ClaimLine, policy: Policy) -> bool:
    found = line.memo.get("lodging")
    if found is None:
        lodging = policy.lodging
        found = line.memo["lodging"] = line.category in lodging.categories or any(
            i.jiancheng in lodging.item_jiancheng for i in line.items)
    return found


def is_travel(line: ClaimLine, policy: Policy) -> bool:
    return line.category in policy.travel.travel_categories or line.kind in TICKET_KINDS or is_lodging(line, policy)


def _ends(line: ClaimLine) -> tuple[str | None, str | None]:
    inv = line.invoice
    return inv.get("from_station") or inv.get("from_city"), inv.get("to_station") or inv.get("to_city")


def r7_trip_dates(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    policy = ctx.policy
    if not is_travel(line, policy):
        return []
    trip = ctx.claim.trip
    if trip is None:
        if ctx.once("R7:no-trip"):
            return [finding("R7", Severity(policy.travel.missing_request),
                            "差旅费用需要关联出差申请，请选择对应的出差申请单",
                            "Travel expenses must be attached to a travel request; please pick yours.", line)]
        return []
    findings = []
    if not trip.approved and ctx.once("R7:unapproved"):
        findings.append(finding("R7", Severity(policy.travel.unapproved_request),
                                f"出差申请 {trip.request_no or ''} 尚未审批，审批通过后才能报销",
                                f"The travel request {trip.request_no or ''} is not approved yet; it must be "
                                "approved before the trip can be claimed.", line, request_no=trip.request_no))
    tolerance = policy.travel.date_tolerance_days
    day = line.service_date
    if day is not None and not trip.covers(day, tolerance):
        findings.append(finding(
            "R7", Severity.WARN, f"出行/入住日期 {day} 不在出差期间（{trip.start} 至 {trip.end}）内",
            f"The travel or stay date {day} is outside the approved trip ({trip.start} to {trip.end}).",
            line, service_date=day, trip_start=trip.start, trip_end=trip.end))
    if is_lodging(line, policy):
        late = line.check_out is not None and line.check_out > trip.end + timedelta(days=tolerance)
        if late or (line.nights is not None and line.nights > trip.nights):
            findings.append(finding(
                "R7", Severity.WARN, f"住宿 {line.nights} 晚超出出差天数（{trip.nights} 晚，{trip.start} 至 {trip.end}）",
                f"The stay ({line.nights} nights) is longer than the trip ({trip.nights} nights, {trip.start} to "
                f"{trip.end}).", line, nights=line.nights, trip_nights=trip.nights, check_out=line.check_out))
    if line.kind in E_TICKET_KINDS:
        issued, travelled = line.invoice.get("issue_date"), service_date(line.invoice)
        if issued is not None and travelled is not None and issued != travelled:
            after = (issued - travelled).days
            limit = policy.submission.ticket_issue_max_days
            if after < 0 or after > limit:
                findings.append(finding(
                    "R7", Severity.WARN,
                    f"电子客票开票日期 {issued} 与乘车/乘机日期 {travelled} 不符（应在出行后 {limit} 天内开具）",
                    f"The ticket was invoiced on {issued}, which does not fit the travel date {travelled} (it is "
                    f"issued after travel, within {limit} days).", line, issue_date=issued, travel_date=travelled))
    return findings


def r8_route(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    trip = ctx.claim.trip
    if trip is None:
        return []
    if line.kind in TICKET_KINDS:
        start, end = _ends(line)
        places = ctx.route_places
        if (start and not place_matches(start, places)) or (end and not place_matches(end, places)):
            allowed = ", ".join(sorted(trip.cities_set | {trip.origin or ctx.policy.home_city or "?"}))
            return [finding("R8", Severity.WARN,
                            f"行程 {start or '?'}→{end or '?'} 与出差申请的地点（{allowed}）不一致，请说明原因",
                            f"The journey {start or '?'} → {end or '?'} does not match the places on the travel "
                            f"request ({allowed}); please explain.", line, route=f"{start or '?'}-{end or '?'}",
                            approved_places=allowed)]
        return []
    if line.city and is_travel(line, ctx.policy) and not place_matches(line.city, ctx.trip_places):
        return [finding("R8", Severity.WARN,
                        f"消费城市 {line.city} 不在出差申请的目的地（{'、'.join(trip.cities)}）内",
                        f"The city {line.city} is not a destination on the travel request "
                        f"({', '.join(trip.cities)}).", line, city=line.city, destinations=list(trip.cities))]
    return []


def _lodging_amount(line: ClaimLine, policy: Policy) -> Decimal | None:
    """The room charge: the lodging lines incl. tax when every one shows its amount, else the invoice total."""
    rooms = [i.line for i in line.items if i.jiancheng in policy.lodging.item_jiancheng]
    if rooms and all(r.amount is not None for r in rooms):
        return sum((r.amount + (r.tax_amount or 0) for r in rooms), Decimal("0.00"))
    return line.total


def r9_caps(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    policy = ctx.policy
    if line.category == ALLOWANCE_CATEGORY:
        return [finding("R9", Severity.BLOCK, "出差补助按标准自动计算，不需要也不能用发票报销",
                        "Travel allowances are computed from the trip; they cannot be claimed with an invoice.",
                        line, category=line.category)]
    if not is_lodging(line, policy) or line.total is None:
        return []
    trip = ctx.claim.trip
    nights, first_night, source = line.nights, line.check_in, "folio"
    if nights is None and trip is not None:
        if "lodging_lines" not in ctx.cache:
            ctx.cache["lodging_lines"] = sum(1 for ln in ctx.claim.lines if is_lodging(ln, policy))
        if ctx.cache["lodging_lines"] == 1:
            nights, first_night, source = trip.nights, trip.start, "trip"
    if nights is None:
        return [finding("R9", Severity.INFO, "未提供住宿晚数（请附酒店结账单），无法核对住宿标准",
                        "The number of nights is unknown (attach the hotel folio), so the lodging cap could not be "
                        "checked.", line)]
    if nights <= 0:
        return [finding("R9", Severity.WARN, "当天往返的出差不应有住宿费，请说明",
                        "A same-day trip should have no lodging; please explain.", line, nights=nights)]
    band = ctx.band
    candidates = [line.city] if line.city else list(trip.cities) if trip is not None else [None]
    best = None
    index = ctx.index
    for city in candidates:  # several destinations and no hotel city: the most generous cap applies
        per_night = [index.lodging_cap(city, band, first_night + timedelta(days=n) if first_night else None)
                     for n in range(nights)]
        cap = sum((c for c, _, _ in per_night), Decimal("0.00"))
        if best is None or cap > best[0]:
            best = (cap, city, per_night)
    cap, city, per_night = best
    amount = _lodging_amount(line, policy)
    if amount is None or amount <= cap:
        return []
    allowed = line.total - (amount - cap)
    rates = sorted({c for c, _, _ in per_night})
    seasons = sorted({s for _, _, s in per_night if s})
    rate_text = "/".join(money(r) for r in rates)
    return [finding(
        "R9", Severity.REDUCE,
        f"住宿费 {money(amount)} 元超过标准：{city or '该地'} {rate_text} 元/晚 × {nights} 晚 = {money(cap)} 元，"
        f"超出的 {money(amount - cap)} 元由个人承担",
        f"Lodging of {money(amount)} is over the limit for {city or 'this city'}: {rate_text} per night × {nights} "
        f"nights = {money(cap)}; the {money(amount - cap)} above it is not reimbursed.",
        line, suggested=allowed, lodging_amount=amount, cap=cap, nights=nights, nights_from=source,
        cap_per_night=rates, city=city or "", band=band, season=seasons or None)]


def _over(rule_severity: str) -> Severity:
    return _OVER[rule_severity]


def r10_class(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    kind = line.kind
    if kind not in TICKET_KINDS:
        return []
    policy, band = ctx.policy, ctx.band
    transport = policy.transport
    severity = _over(transport.over_standard)
    inv = line.invoice
    findings = []
    if kind in RAIL_KINDS:
        seat = (inv.get("seat_class") or "").replace("新空调", "").strip()
        allowed = transport.rail_classes.get(band, ())
        if seat and seat not in allowed:
            findings.append(finding(
                "R10", severity, f"席别“{seat}”超出您的乘车标准（{'、'.join(allowed)}），超标部分按标准报销",
                f"The seat class '{seat}' is above your entitlement ({', '.join(allowed)}); it is reimbursed at "
                "the standard fare.", line, seat_class=seat, allowed=list(allowed), band=band))
        return findings
    cabin = (inv.get("cabin_class") or inv.get("seat_class") or "").strip()
    allowed = transport.flight_cabins.get(band, ())
    if cabin and cabin not in allowed:
        findings.append(finding(
            "R10", severity, f"舱位“{cabin}”超出您的乘机标准（{'、'.join(allowed)}），超标部分按标准报销",
            f"The cabin '{cabin}' is above your entitlement ({', '.join(allowed)}); it is reimbursed at the "
            "standard fare.", line, cabin_class=cabin, allowed=list(allowed), band=band))
    threshold = transport.flight_if_rail_hours_gt
    if threshold is None or band in transport.flight_always_bands:
        return findings
    start, end = _ends(line)
    trip = ctx.claim.trip
    hours = trip.rail_hours if trip is not None and trip.rail_hours is not None else (
        policy.rail_hours_between(station_city(start), station_city(end)) if start and end else None)
    if hours is None:
        findings.append(finding("R10", Severity.INFO, "无法确定该航线的火车时长，未检查是否符合乘机条件",
                                "The train time for this route is unknown, so whether flying was allowed "
                                "was not checked.", line, route=f"{start or '?'}-{end or '?'}"))
    elif hours <= threshold:
        findings.append(finding(
            "R10", severity, f"{start}→{end} 乘火车约 {hours} 小时，未超过 {threshold} 小时，按规定应乘火车，"
                             "超出火车票价的部分由个人承担",
            f"{start} → {end} takes about {hours} h by train, not more than {threshold} h, so the train was the "
            "standard; the excess over the train fare is not reimbursed.",
            line, route=f"{start}-{end}", rail_hours=hours, threshold_hours=threshold, band=band))
    return findings


__all__ = ["AIR_KINDS", "is_lodging", "is_travel", "r7_trip_dates", "r8_route", "r9_caps", "r10_class"]
