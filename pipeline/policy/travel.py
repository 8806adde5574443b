"""Travel requests (出差申请) that claims attach to, and the allowances they earn.

``TravelRequest``: approved dates, destination cities, purpose, origin, optional per-city stops. Days are calendar
days inclusive (``2026-03-02 -> 03-04`` is 3 days, 2 nights).

``compute_allowances(trip, employee, policy) -> list[AllowanceLine]``: 伙食补助 and 市内交通 per calendar day at
the rate of the place the employee is that day (a stop covering the day, else the trip's destinations; where
several places apply the highest rate counts, as the employee spends the day there). Remote regions (西藏/青海/新疆
in the demo policy) have their own rates. Days the host provides meals or transport are deducted when the policy says
so. Consecutive days with the same rate form one line. Allowances are computed, never claimed with invoices.

``place_matches(name, places, policy)``: whether a station / airport / city name is one of the places (a city, or a
region whose cities are listed in the policy); ``station_city`` strips the station suffix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from pipeline.policy.company import Employee
from pipeline.policy.schema import Policy

ALLOWANCE_CATEGORY = "travel.allowance"


@dataclass(frozen=True)
class Stop:
    city: str
    start: date
    end: date


@dataclass(frozen=True)
class TravelRequest:
    start: date
    end: date
    cities: tuple[str, ...]
    purpose: str = ""
    approved: bool = True
    request_no: str | None = None
    origin: str | None = None  # default: the policy's home city
    stops: tuple[Stop, ...] = ()
    rail_hours: Decimal | None = None  # the request's own rail-time estimate (beats the policy table)
    host_meal_days: int = 0  # days the host provides all meals
    host_transport_days: int = 0  # days the host provides local transport
    cities_set: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the trip ends ({self.end}) before it starts ({self.start})")
        if not self.cities:
            raise ValueError("a trip needs at least one destination city")
        for stop in self.stops:
            if stop.end < stop.start or stop.start < self.start or stop.end > self.end:
                raise ValueError(f"the stop in {stop.city} ({stop.start}..{stop.end}) is outside the trip")
        if min(self.host_meal_days, self.host_transport_days) < 0 or \
                max(self.host_meal_days, self.host_transport_days) > self.days:
            raise ValueError("host-provided days must be between 0 and the trip's days")
        object.__setattr__(self, "cities_set", frozenset(self.cities) | {s.city for s in self.stops})

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def nights(self) -> int:
        return (self.end - self.start).days

    def covers(self, day: date, tolerance_days: int = 0) -> bool:
        slack = timedelta(days=tolerance_days)
        return self.start - slack <= day <= self.end + slack

    def places_on(self, day: date) -> tuple[str, ...]:
        here = tuple(s.city for s in self.stops if s.start <= day <= s.end)
        return here or self.cities


@dataclass(frozen=True)
class AllowanceLine:
    kind: str  # "meal" (伙食补助) or "local_transport" (市内交通)
    start: date
    end: date
    days: int
    rate: Decimal
    amount: Decimal
    city: str | None = None
    region: str | None = None  # the remote region whose rate applied
    deducted_days: int = 0  # host-provided days not paid
    category: str = ALLOWANCE_CATEGORY

    @property
    def name_zh(self) -> str:
        return "伙食补助费" if self.kind == "meal" else "市内交通费"


def _day_rates(places: tuple[str, ...], band: str | None, policy: Policy) -> tuple[tuple, tuple]:
    """The best (rate, city, remote region) for meals and for local transport among ``places``."""
    best_meal = best_local = None
    for city in places:
        meal, meal_region, local, local_region = policy.per_diem_rates(city, band)
        if best_meal is None or meal > best_meal[0]:
            best_meal = (meal, city, meal_region)
        if best_local is None or local > best_local[0]:
            best_local = (local, city, local_region)
    return best_meal, best_local


def compute_allowances(trip: TravelRequest, employee: Employee, policy: Policy) -> list[AllowanceLine]:
    band = policy.band_of(employee.grade)
    runs: dict[str, list[list]] = {"meal": [], "local_transport": []}  # [rate, city, region, first, last, days]
    if not trip.stops:  # the same places every day: one run per kind
        for kind, (rate, city, region) in zip(("meal", "local_transport"), _day_rates(trip.cities, band, policy),
                                               strict=True):
            runs[kind].append([rate, city, region, trip.start, trip.end, trip.days])
        return _lines(runs, trip, policy)
    rates: dict[tuple[str, ...], tuple] = {}  # places -> day rates
    day = trip.start
    while day <= trip.end:
        places = trip.places_on(day)
        day_rates = rates.get(places)
        if day_rates is None:
            day_rates = rates[places] = _day_rates(places, band, policy)
        for kind, (rate, city, region) in zip(("meal", "local_transport"), day_rates, strict=True):
            run = runs[kind]
            if run and run[-1][0] == rate and run[-1][2] == region:
                run[-1][4] = day
                run[-1][5] += 1
                if run[-1][1] != city:
                    run[-1][1] = None  # several cities at one rate: the line names none
            else:
                run.append([rate, city, region, day, day, 1])
        day += timedelta(days=1)
    return _lines(runs, trip, policy)


def _lines(runs: dict[str, list[list]], trip: TravelRequest, policy: Policy) -> list[AllowanceLine]:
    deduct = {"meal": trip.host_meal_days if policy.per_diem.deduct_if_host_provides.meal else 0,
              "local_transport": trip.host_transport_days
              if policy.per_diem.deduct_if_host_provides.local_transport else 0}
    lines = []
    for kind in ("meal", "local_transport"):
        remaining = deduct[kind]
        for rate, city, region, first, last, days in runs[kind]:
            taken = min(remaining, days)  # host days are deducted from the earliest runs first
            remaining -= taken
            lines.append(AllowanceLine(kind=kind, start=first, end=last, days=days, rate=rate,
                                       amount=(rate * (days - taken)).quantize(Decimal("0.01")), city=city,
                                       region=region, deducted_days=taken))
    return lines


_STATION_SUFFIXES = ("站", "机场", "国际机场")


def station_city(name: str | None) -> str:
    text = (name or "").strip().replace(" ", "")
    for suffix in _STATION_SUFFIXES:
        text = text.removesuffix(suffix)
    return text.removesuffix("市")


def expand_places(places: frozenset[str] | set[str], policy: Policy) -> tuple[str, ...]:
    """The names that count as being in ``places``: each place, and the cities of a place that is a region."""
    names = set()
    for place in places:
        names.add(station_city(place))
        names.update(policy.regions.get(place, ()))
    return tuple(sorted((n for n in names if n), key=len, reverse=True))


def place_matches(name: str | None, names: tuple[str, ...]) -> bool:
    """A station (北京南, 上海虹桥), airport or city name belongs to one of ``names`` (from ``expand_places``)."""
    text = station_city(name)
    return bool(text) and any(text.startswith(n) for n in names)
