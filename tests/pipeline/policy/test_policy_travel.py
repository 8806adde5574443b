from datetime import date, datetime
from decimal import Decimal

import pytest

from pipeline.policy import ClaimLine, Stop, TravelRequest, compute_allowances
from pipeline.types import InvoiceKind, LineItem, Severity

from .policy_helpers import make_invoice, only, vat

BEIJING = TravelRequest(date(2026, 3, 2), date(2026, 3, 4), ("北京",), "客户现场实施")
LHASA = TravelRequest(date(2026, 7, 10), date(2026, 7, 12), ("拉萨",), "设备巡检")


def hotel(total="1200.00", day=date(2026, 3, 4), number="26112000000000000101", **fields):
    room = Decimal(total) / Decimal("1.06")
    room = room.quantize(Decimal("0.01"))
    return vat(number, total, day, items=[LineItem("*住宿服务*住宿费", room, "0.06", Decimal(total) - room)],
               seller="北京某酒店有限公司", seller_tax_id="91110105MA00HOTEL1", **fields)


def rail(seat="二等座", start="武汉", end="北京西", when=datetime(2026, 3, 2, 8, 5), issued=date(2026, 3, 5),
         number="26429000000000000201", train="G80", seat_no="05车12A号", total="520.00"):
    return make_invoice(InvoiceKind.RAIL_E_TICKET, invoice_number=number, issue_date=issued, total_incl_tax=total,
                        depart_datetime=when, from_station=start, to_station=end, seat_class=seat, train_no=train,
                        seat_no=seat_no, passenger_name="张三")


def flight(cabin="经济舱", start="武汉", end="北京", when=datetime(2026, 3, 2, 9, 0), total="1100.00",
           number="26429000000000000301"):
    return make_invoice(InvoiceKind.AIR_E_ITINERARY, invoice_number=number, issue_date=date(2026, 3, 5),
                        total_incl_tax=total, depart_datetime=when, from_city=start, to_city=end, cabin_class=cabin,
                        flight_no="CZ3105", e_ticket_no="7841234567890", passenger_name="张三")


# ---------------------------------------------------------------- allowances

def test_beijing_vector_per_diem_by_calendar_days(policy, org):
    lines = compute_allowances(BEIJING, org.employee("E001"), policy)
    assert [(a.kind, a.days, a.rate, a.amount) for a in lines] == [
        ("meal", 3, Decimal("100.00"), Decimal("300.00")), ("local_transport", 3, Decimal("80.00"), Decimal("240.00"))]
    assert all(a.category == "travel.allowance" for a in lines)


def test_lhasa_vector_remote_region_meal_rate(policy, org):
    meal = [a for a in compute_allowances(LHASA, org.employee("E001"), policy) if a.kind == "meal"]
    assert [(a.days, a.rate, a.amount, a.region) for a in meal] == [(3, Decimal("120.00"), Decimal("360.00"), "西藏")]


def test_a_trip_given_as_a_region_uses_its_rate(policy, org):
    trip = TravelRequest(date(2026, 5, 1), date(2026, 5, 1), ("新疆",))
    assert compute_allowances(trip, org.employee("E001"), policy)[0].amount == Decimal("120.00")


def test_stops_split_days_by_rate_and_host_days_are_deducted(policy, org):
    trip = TravelRequest(date(2026, 6, 1), date(2026, 6, 5), ("成都", "拉萨"),
                         stops=(Stop("成都", date(2026, 6, 1), date(2026, 6, 2)), Stop("拉萨", date(2026, 6, 3),
                                                                                     date(2026, 6, 5))),
                         host_meal_days=1)
    meal = [a for a in compute_allowances(trip, org.employee("E001"), policy) if a.kind == "meal"]
    assert [(a.city, a.days, a.rate, a.deducted_days, a.amount) for a in meal] == [
        ("成都", 2, Decimal("100.00"), 1, Decimal("100.00")), ("拉萨", 3, Decimal("120.00"), 0, Decimal("360.00"))]


def test_a_transit_day_in_two_places_gets_the_higher_rate(policy, org):
    trip = TravelRequest(date(2026, 6, 1), date(2026, 6, 3), ("成都", "拉萨"),
                         stops=(Stop("成都", date(2026, 6, 1), date(2026, 6, 2)), Stop("拉萨", date(2026, 6, 2),
                                                                                     date(2026, 6, 3))))
    meal = [a for a in compute_allowances(trip, org.employee("E001"), policy) if a.kind == "meal"]
    assert [(a.days, a.rate) for a in meal] == [(1, Decimal("100.00")), (2, Decimal("120.00"))]


@pytest.mark.parametrize("kwargs", [{"start": date(2026, 3, 4), "end": date(2026, 3, 2), "cities": ("北京",)},
                                    {"start": date(2026, 3, 2), "end": date(2026, 3, 4), "cities": ()}])
def test_an_impossible_trip_is_refused(kwargs):
    with pytest.raises(ValueError):
        TravelRequest(**kwargs)


# ---------------------------------------------------------------- R9 lodging caps

def test_r9_beijing_staff_two_nights_reduces_to_1000(check):
    [f] = only(check([ClaimLine(hotel("1200.00"), "travel.lodging")], trip=BEIJING), "R9")
    assert f.severity is Severity.REDUCE and f.suggested_amount == Decimal("1000.00")
    assert f.evidence["cap"] == "1000.00" and f.evidence["nights"] == "2" and "500.00" in f.message_zh


def test_r9_within_cap_passes(check):
    assert only(check([ClaimLine(hotel("980.00"), "travel.lodging")], trip=BEIJING), "R9") == []


def test_r9_director_has_a_higher_cap(check):
    assert only(check([ClaimLine(hotel("1200.00"), "travel.lodging")], employee="E003", trip=BEIJING), "R9") == []


def test_r9_lhasa_peak_season_cap_night_by_night(check):
    line = ClaimLine(hotel("1100.00", day=date(2026, 7, 12)), "travel.lodging", city="拉萨",
                     check_in=date(2026, 7, 10), check_out=date(2026, 7, 12))
    [f] = only(check([line], trip=LHASA, submitted_on=date(2026, 7, 20)), "R9")
    assert f.suggested_amount == Decimal("1060.00") and f.evidence["season"] == "06-01..09-30"


def test_r9_only_the_room_charge_is_capped(check):
    inv = vat("26112000000000000102", "1300.00", date(2026, 3, 4),
              items=[LineItem("*住宿服务*住宿费", Decimal("1132.08"), "0.06", Decimal("67.92")),
                     LineItem("*餐饮服务*早餐", Decimal("94.34"), "0.06", Decimal("5.66"))])
    [f] = only(check([ClaimLine(inv, "travel.lodging")], trip=BEIJING), "R9")
    assert f.suggested_amount == Decimal("1100.00")  # 1300 - (1200 - 1000): breakfast kept


def test_r9_unknown_nights_is_info_and_allowance_invoices_block(check):
    two = [ClaimLine(hotel("600.00"), "travel.lodging"),
           ClaimLine(hotel("600.00", number="26112000000000000109"), "travel.lodging")]
    assert [f.severity for f in only(check(two, trip=BEIJING), "R9")] == [Severity.INFO, Severity.INFO]
    [f] = only(check([ClaimLine(vat("1", "100.00", date(2026, 3, 3)), "travel.allowance")], trip=BEIJING), "R9")
    assert f.severity is Severity.BLOCK


# ---------------------------------------------------------------- R7 trip dates

def test_r7_travel_date_is_the_departure_not_the_issue_date(check):
    ticket = rail(when=datetime(2026, 3, 2, 8, 5), issued=date(2026, 3, 20))  # invoiced after the trip: fine
    assert only(check([ticket], trip=BEIJING), "R7") == []


def test_r7_travel_outside_the_trip_warns(check):
    [f] = only(check([rail(when=datetime(2026, 2, 27, 8, 5), issued=date(2026, 3, 1))], trip=BEIJING), "R7")
    assert f.severity is Severity.WARN and f.evidence["service_date"] == "2026-02-27"


def test_r7_one_day_tolerance(check):
    assert only(check([rail(when=datetime(2026, 3, 1, 20, 0))], trip=BEIJING), "R7") == []


def test_r7_e_ticket_issued_before_travel_or_too_late_warns(check):
    early = rail(issued=date(2026, 3, 1))
    late = rail(issued=date(2026, 9, 30), number="26429000000000000202", seat_no="05车12B号")
    found = only(check([early, late], trip=BEIJING, submitted_on=date(2026, 10, 1)), "R7")
    assert [f.evidence.get("issue_date") for f in found] == ["2026-03-01", "2026-09-30"]


def test_r7_missing_or_unapproved_request(check):
    [f] = only(check([rail(), rail(number="26429000000000000203", seat_no="05车12C号")]), "R7")  # once per claim
    assert f.severity is Severity.WARN and "出差申请" in f.message_zh
    unapproved = TravelRequest(date(2026, 3, 2), date(2026, 3, 4), ("北京",), approved=False, request_no="CC1")
    assert [f.severity for f in only(check([rail()], trip=unapproved), "R7")] == [Severity.BLOCK]


def test_r7_stay_longer_than_the_trip(check):
    line = ClaimLine(hotel("900.00"), "travel.lodging", check_in=date(2026, 3, 2), check_out=date(2026, 3, 6))
    assert any("晚" in f.message_zh for f in only(check([line], trip=BEIJING), "R7"))


def test_r7_non_travel_expenses_are_not_checked(check):
    assert only(check([vat("26112000000000000103", "80.00", date(2026, 3, 3))]), "R7") == []


# ---------------------------------------------------------------- R8 route

def test_r8_stations_match_trip_cities_and_origin(check):
    tickets = [rail(), rail(start="北京西", end="武汉", when=datetime(2026, 3, 4, 18, 0), number="26429000000000000204",
                            seat_no="06车1A号")]
    assert only(check(tickets, trip=BEIJING), "R8") == []


def test_r8_a_ticket_elsewhere_warns(check):
    [f] = only(check([rail(start="武汉", end="上海虹桥")], trip=BEIJING), "R8")
    assert f.severity is Severity.WARN and "上海虹桥" in f.message_zh


def test_r8_hotel_city_must_be_a_destination(check):
    [f] = only(check([ClaimLine(hotel("800.00"), "travel.lodging", city="天津")], trip=BEIJING), "R8")
    assert f.evidence["city"] == "天津"


def test_r8_region_destination_accepts_its_cities(check):
    trip = TravelRequest(date(2026, 7, 10), date(2026, 7, 12), ("西藏",), origin="成都")
    assert only(check([flight(start="成都双流", end="拉萨贡嘎", when=datetime(2026, 7, 10, 9, 0))], trip=trip,
                      submitted_on=date(2026, 7, 20)), "R8") == []


# ---------------------------------------------------------------- R10 class of travel

def test_r10_staff_second_class_passes_first_class_is_reduced(check):
    assert only(check([rail(seat="二等座")], trip=BEIJING), "R10") == []
    [f] = only(check([rail(seat="一等座")], trip=BEIJING), "R10")
    assert f.severity is Severity.REDUCE and f.suggested_amount is None and f.evidence["seat_class"] == "一等座"


def test_r10_director_may_take_first_class(check):
    assert only(check([rail(seat="一等座")], employee="E003", trip=BEIJING), "R10") == []


def test_r10_flight_allowed_only_when_the_train_is_slow(check):
    assert only(check([flight(start="武汉", end="北京")], trip=BEIJING), "R10") == []  # 4.5 h > 4 h
    trip = TravelRequest(date(2026, 3, 2), date(2026, 3, 3), ("长沙",))
    [f] = only(check([flight(start="武汉", end="长沙")], trip=trip), "R10")
    assert f.severity is Severity.REDUCE and f.evidence["rail_hours"] == "1.5"
    assert only(check([flight(start="武汉", end="长沙")], employee="E004", trip=trip), "R10") == []  # exec flies


def test_r10_business_cabin_above_entitlement_and_unknown_route_is_info(check):
    trip = TravelRequest(date(2026, 3, 2), date(2026, 3, 3), ("乌鲁木齐",))
    found = only(check([flight(cabin="公务舱", start="武汉", end="乌鲁木齐")], trip=trip), "R10")
    assert [f.severity for f in found] == [Severity.REDUCE, Severity.INFO]


def test_r10_over_standard_can_be_configured_to_block(check, policy_with, policy_data):
    strict = policy_with(transport={**policy_data["transport"], "over_standard": "block"})
    [f] = only(check([rail(seat="商务座")], trip=BEIJING, using=strict), "R10")
    assert f.severity is Severity.BLOCK
