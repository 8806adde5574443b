"""What a policy check looks at: a claim (employee, optional trip, lines) and the context rules share.

``ClaimLine`` wraps one ``Invoice`` with what the claim says about it beyond the invoice itself: its expense
category (or the model's ``Classification``), the hotel city / stay dates / room-nights from the folio (水单), the
number of guests and the pre-approval number of a business meal, and whether a 销货清单 is attached. Facts derived
from the invoice (service date, duplicate keys, seller, parsed items) are computed once and cached on the line.

``ClaimInput``: the claimant (``company.Employee``), the lines, the submission date, the optional ``TravelRequest``,
project and claim number. ``CheckContext`` carries the company, policy, history, the employee's band and the keys
seen so far on the claim; rules read it and never change anything but ``seen_keys``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from pipeline.policy import facts
from pipeline.policy.company import CompanyInfo, Employee
from pipeline.policy.history import InvoiceHistory, NoHistory
from pipeline.policy.schema import Policy, PolicyIndex
from pipeline.policy.travel import TravelRequest, expand_places
from pipeline.types import Classification, Invoice, InvoiceKind, LineItem


class lazy:
    """A computed attribute stored on the instance at first use (``functools.cached_property`` without its lock)."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.name = fn, fn.__name__
        self.__doc__ = fn.__doc__

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.fn(obj)
        return value


@dataclass(frozen=True)
class Item:
    jiancheng: str | None  # the *简称* (None when printed without asterisks)
    text: str  # the free-text name after the 简称
    line: LineItem


@dataclass(eq=False)
class ClaimLine:
    invoice: Invoice
    category: str | None = None  # explicit category; else the classification's
    classification: Classification | None = None
    city: str | None = None  # where the service was used (hotel city)
    check_in: date | None = None
    check_out: date | None = None
    nights: int | None = None  # room-nights from the folio
    attendees: int | None = None  # business meal: number of people
    pre_approval: str | None = None  # business meal: pre-approval (事前审批) number
    has_goods_list: bool = False  # a 销货清单 is attached
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # per-check facts rules derive once

    def __post_init__(self) -> None:
        if self.category is None and self.classification is not None:
            self.category = self.classification.category
        if self.nights is None and self.check_in and self.check_out:
            self.nights = (self.check_out - self.check_in).days

    @lazy
    def kind(self) -> InvoiceKind:
        return self.invoice.kind

    @lazy
    def total(self) -> Decimal | None:
        return self.invoice.total

    @lazy
    def key(self) -> str | None:
        return self.invoice.business_key

    @lazy
    def items(self) -> list[Item]:
        out = []
        for li in self.invoice.items:
            jc, text = facts.item_parts(li.name)
            out.append(Item(jc, text, li))
        return out

    @lazy
    def service_date(self) -> date | None:
        return self.check_in or facts.service_date(self.invoice)

    @lazy
    def duplicate_keys(self) -> list[str]:
        return facts.duplicate_keys(self.invoice)

    @lazy
    def seller(self) -> str | None:
        return facts.seller_ref(self.invoice)

    @lazy
    def number(self) -> str | None:
        """The normalised invoice number."""
        raw = self.invoice.get("invoice_number")
        return facts.normalize_id(raw) if raw else None

    @lazy
    def code(self) -> str | None:
        """The normalised 发票代码 (legacy invoices only)."""
        raw = self.invoice.get("invoice_code")
        return facts.normalize_id(raw) if raw else None


@dataclass
class ClaimInput:
    employee: Employee
    lines: list[ClaimLine]
    submitted_on: date
    trip: TravelRequest | None = None
    project: str | None = None
    claim_no: str | None = None

    @property
    def amount(self) -> Decimal:
        return sum((ln.total for ln in self.lines if ln.total is not None), Decimal("0.00"))


@dataclass
class CheckContext:
    company: CompanyInfo
    history: InvoiceHistory = field(default_factory=NoHistory)
    policy: Policy | None = None
    claim: ClaimInput | None = None
    seen_keys: dict[str, int] = field(default_factory=dict)  # key -> index of the line that used it
    reported: set[str] = field(default_factory=set)  # claim-wide notes already made (report once)
    cache: dict[str, Any] = field(default_factory=dict)  # per-claim values rules compute once

    def once(self, note: str) -> bool:
        """True the first time ``note`` is asked for on this claim."""
        if note in self.reported:
            return False
        self.reported.add(note)
        return True

    @lazy
    def index(self) -> PolicyIndex:
        return self.policy.index

    @lazy
    def band(self) -> str | None:
        if self.policy is None or self.claim is None:
            return None
        return self.policy.band_of(self.claim.employee.grade)

    @lazy
    def trip_places(self) -> tuple[str, ...]:
        """Names that are the trip's destinations (cities, and cities of a destination region)."""
        trip = self.claim.trip if self.claim else None
        if trip is None or self.policy is None:
            return ()
        return expand_places(trip.cities_set, self.policy)

    @lazy
    def route_places(self) -> tuple[str, ...]:
        """Destinations plus the origin: where a ticket may start or end."""
        trip = self.claim.trip if self.claim else None
        if trip is None or self.policy is None:
            return ()
        origin = trip.origin or self.policy.home_city
        return expand_places(trip.cities_set | ({origin} if origin else set()), self.policy)

    def in_trip(self, line: ClaimLine) -> bool:
        """The line's service date is within the trip (with the policy's tolerance); undated lines count as in."""
        found = line.memo.get("in_trip")
        if found is None:
            trip = self.claim.trip if self.claim else None
            day = line.service_date
            tolerance = self.policy.travel.date_tolerance_days if self.policy else 0
            found = line.memo["in_trip"] = trip is not None and (day is None or trip.covers(day, tolerance))
        return found

    def variables(self, line: ClaimLine | None) -> Variables:
        """The values a ``when`` condition sees for ``line`` (None: the claim as a whole), computed on demand."""
        return Variables(self, line)


def _employee(ctx: CheckContext) -> Employee | None:
    return ctx.claim.employee if ctx.claim else None


_LINE_VARIABLES = {
    "amount": lambda ctx, ln: ln.total,
    "category": lambda ctx, ln: ln.category or "",
    "kind": lambda ctx, ln: ln.kind.value,
    "in_trip": lambda ctx, ln: ctx.in_trip(ln),
    "seller_name": lambda ctx, ln: ln.invoice.get("seller_name") or "",
    "city": lambda ctx, ln: ln.city or "",
    "weekday": lambda ctx, ln: Decimal(ln.service_date.isoweekday()) if ln.service_date else None,
}
_CLAIM_VARIABLES = {
    "amount": lambda ctx, ln: ctx.claim.amount if ctx.claim else None,
    "category": lambda ctx, ln: "", "kind": lambda ctx, ln: "", "seller_name": lambda ctx, ln: "",
    "city": lambda ctx, ln: "", "weekday": lambda ctx, ln: None,
    "in_trip": lambda ctx, ln: bool(ctx.claim and ctx.claim.trip),
}
_SHARED_VARIABLES = {
    "grade": lambda ctx, ln: (_employee(ctx).grade if _employee(ctx) else "") or "",
    "band": lambda ctx, ln: ctx.band or "",
    "department": lambda ctx, ln: (_employee(ctx).department if _employee(ctx) else "") or "",
    "cost_center": lambda ctx, ln: (_employee(ctx).cost_center if _employee(ctx) else "") or "",
    "project": lambda ctx, ln: (ctx.claim.project if ctx.claim else "") or "",
}


class Variables:
    """A read-only mapping of the ``when`` variables that computes each one when a condition first asks."""

    __slots__ = ("_ctx", "_line", "_values")

    def __init__(self, ctx: CheckContext, line: ClaimLine | None) -> None:
        self._ctx, self._line, self._values = ctx, line, {}

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self._values[name]
        except KeyError:
            pass
        getter = _SHARED_VARIABLES.get(name) or (_LINE_VARIABLES if self._line is not None
                                                 else _CLAIM_VARIABLES).get(name)
        if getter is None:
            return default
        value = self._values[name] = getter(self._ctx, self._line)
        return value

    def __getitem__(self, name: str) -> Any:
        if name not in _SHARED_VARIABLES and name not in _LINE_VARIABLES:
            raise KeyError(name)
        return self.get(name)

    def as_dict(self) -> dict[str, Any]:
        return {name: self.get(name) for name in (*_LINE_VARIABLES, *_SHARED_VARIABLES)}
