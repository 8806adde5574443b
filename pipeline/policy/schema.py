"""The expense policy as data: pydantic models of ``samples/policy/policy.yaml``, validated at load.

``load_policy(path) -> Policy`` reads and validates the YAML; ``policy_from_dict(data)`` does the same for a mapping.
Every section forbids unknown keys; bands, regions, categories, invoice kinds, seasons and ``rules.<id>.when``
conditions are checked, and a failure raises ``PolicyError`` whose message names the file, the key path and the rule
id(s) the section serves (e.g. ``lodging.caps.2.caps.司局: unknown band (rule R9)``). Money is ``Decimal``.

Lookups the rules use are methods here (``band_of``, ``tier_of``, ``region_of``, ``lodging_cap``, ``per_diem_rates``
…), served by a ``PolicyIndex`` of plain dicts built once at load (``policy.index``), so a lookup is a few dict
accesses.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from pipeline.policy.expr import Condition, ExprError, compile_condition
from pipeline.types import InvoiceKind, Severity
from pipeline.yamlfile import read_yaml

# Every rule id the engine knows; ``rules:`` in the policy may only configure these.
RULE_IDS = ("R1", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "R17",
            "R18", "R20", "BUDGET")
# Variables a ``when`` condition may use (see ``pipeline.policy.inputs.ClaimLine.variables``).
WHEN_VARIABLES = {"amount": "num", "category": "str", "kind": "str", "grade": "str", "band": "str",
                  "department": "str", "cost_center": "str", "project": "str", "in_trip": "bool",
                  "seller_name": "str", "city": "str", "weekday": "num"}
# The rules each top-level section configures, named in error messages.
SECTION_RULES = {
    "grades": "R9, R10", "bands": "R9, R10", "city_tiers": "R9", "default_tier": "R9", "regions": "R9, allowances",
    "lodging": "R9", "per_diem": "allowances", "transport": "R10", "travel": "R7, R8",
    "entertainment": "R20", "budgets": "BUDGET", "submission": "R11", "invoice_kinds": "R6",
    "personal_consumption": "R15", "generic_items": "R17", "rate_sanity": "R18", "splitting": "R12",
    "sequential": "R13", "routing": "routing",
}
CENT = Decimal("0.01")


class PolicyError(ValueError):
    """The policy file is invalid; raised at start-up, the message names the key path and the rule id."""


def _decimal(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("expected a number, not true/false")  # noqa: TRY004 - pydantic reports ValueError only
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, int | str):
        return Decimal(str(value).strip())
    return value


def _money(value: Decimal) -> Decimal:
    if value < 0 or not value.is_finite():
        raise ValueError("an amount must be zero or more")
    return value.quantize(CENT)


def _ratio(value: Decimal) -> Decimal:
    if not Decimal(0) <= value <= Decimal(1):
        raise ValueError("a ratio must be between 0 and 1")
    return value


Money = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_money)]
Ratio = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_ratio)]
Hours = Annotated[Decimal, BeforeValidator(_decimal), Field(gt=0)]


def _month_day(text: str) -> tuple[int, int]:
    try:
        month, day = (int(p) for p in str(text).split("-"))
        date(2024, month, day)  # a leap year, so 02-29 is accepted
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a month-day like '07-01'") from None
    return month, day


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Season(Strict):
    """A yearly window ``MM-DD..MM-DD`` (may wrap over the new year)."""

    start: tuple[int, int]
    end: tuple[int, int]

    @classmethod
    def parse(cls, text: str) -> Season:
        first, sep, last = str(text).partition("..")
        if not sep:
            raise ValueError(f"season {text!r} must look like '07-01..09-30'")
        return cls(start=_month_day(first), end=_month_day(last))

    def contains(self, day: date) -> bool:
        md = (day.month, day.day)
        if self.start <= self.end:
            return self.start <= md <= self.end
        return md >= self.start or md <= self.end

    def __str__(self) -> str:
        return f"{self.start[0]:02d}-{self.start[1]:02d}..{self.end[0]:02d}-{self.end[1]:02d}"


class LodgingCap(Strict):
    where: str  # a city, a region (province) or a tier
    season: Season | None = None
    caps: dict[str, Money]  # band -> cap per room-night

    @field_validator("season", mode="before")
    @classmethod
    def _season(cls, value: Any) -> Any:
        return Season.parse(value) if isinstance(value, str) else value


class Lodging(Strict):
    categories: list[str] = ["travel.lodging"]
    item_jiancheng: list[str] = ["住宿服务"]  # lines whose 简称 is one of these are the room charge
    caps: list[LodgingCap]


class PerDiemRates(Strict):
    meal: Money
    local_transport: Money


class HostDeduction(Strict):
    meal: bool = True
    local_transport: bool = True


class PerDiem(Strict):
    meal: Money
    local_transport: Money
    remote_meal: dict[str, Money] = {}  # region -> meal rate
    remote_local_transport: dict[str, Money] = {}
    by_band: dict[str, PerDiemRates] = {}  # a band with its own base rates
    deduct_if_host_provides: HostDeduction = HostDeduction()


class Transport(Strict):
    rail_classes: dict[str, list[str]]  # band -> seat classes allowed
    flight_cabins: dict[str, list[str]]  # band -> cabins allowed
    flight_always_bands: list[str] = []  # bands that may fly whatever the rail time
    flight_if_rail_hours_gt: Hours | None = None
    rail_hours: dict[str, Hours] = {}  # "北京-上海": hours by rail, either direction
    over_standard: Literal["reimburse_at_standard", "warn", "block"] = "reimburse_at_standard"


class Travel(Strict):
    date_tolerance_days: int = Field(1, ge=0)
    travel_categories: list[str] = ["travel.transport", "travel.lodging"]
    missing_request: Literal["info", "warn", "block"] = "warn"
    unapproved_request: Literal["warn", "block"] = "block"


class ApprovalLevel(Strict):
    up_to: Money | None  # None: no upper bound
    approver: str


class Entertainment(Strict):
    categories: list[str] = ["entertainment"]
    pre_approval_required: bool = True
    pre_approval_above: Money = Decimal("0.00")
    per_head_cap: Money | None = None
    attendees_required: bool = True
    approval_levels: list[ApprovalLevel] = []


class Budgets(Strict):
    warn_at: Ratio = Decimal("0.9")
    over_budget: Literal["warn", "block"] = "block"
    department: dict[str, Money] = {}
    cost_center: dict[str, Money] = {}
    project: dict[str, Money] = {}


class Submission(Strict):
    deadline_days: int = Field(ge=1)
    fiscal_year_start: str = "01-01"
    fiscal_year_cutoff: str  # month-day of the next fiscal year after which last year's invoices are refused
    cross_year_severity: Literal["warn", "block"] = "warn"
    ticket_issue_max_days: int = Field(180, ge=1)

    @field_validator("fiscal_year_start", "fiscal_year_cutoff")
    @classmethod
    def _md(cls, value: str) -> str:
        _month_day(value)
        return value


class InvoiceKinds(Strict):
    never: list[InvoiceKind] = []
    default: list[InvoiceKind]
    by_category: dict[str, list[InvoiceKind]] = {}
    quota_max: Money | None = None  # 定额发票 above this need another voucher
    special_required: list[str] = []  # categories that need a 专票 (input VAT deduction)


class PersonalConsumption(Strict):
    jiancheng: list[str] = []  # *简称* matched exactly
    keywords: list[str] = []  # substrings of the item name (choose words that cannot occur innocently)
    severity: Literal["warn", "block"] = "block"


class GenericItems(Strict):
    names: list[str] = ["详见销货清单", "详见清单", "办公用品"]


class Splitting(Strict):
    thresholds: list[Money]
    window_days: int = Field(1, ge=0)  # same day (0) or consecutive days (1)
    min_count: int = Field(2, ge=2)


class Sequential(Strict):
    max_gap: int = Field(5, ge=1)
    window_days: int = Field(180, ge=1)
    kinds: list[InvoiceKind]


class Routing(Strict):
    min_field_confidence: float = Field(0.85, ge=0, le=1)
    key_fields: list[str] = ["invoice_number", "invoice_code", "issue_date", "total_incl_tax", "buyer_tax_id",
                             "seller_tax_id"]
    review_reduce_without_amount: bool = True


class RuleConfig(Strict):
    enabled: bool = True
    severity: Severity | None = None  # replaces the severity of the rule's non-info findings
    when: str | None = None  # the rule runs only where this condition holds
    _condition: Condition | None = PrivateAttr(default=None)

    @field_validator("when")
    @classmethod
    def _check_when(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                compile_condition(value, WHEN_VARIABLES)
            except ExprError as exc:
                raise ValueError(f"bad condition {value!r}: {exc}") from None
        return value

    def model_post_init(self, context: Any, /) -> None:
        if self.when is not None:
            self._condition = compile_condition(self.when, WHEN_VARIABLES)

    @property
    def condition(self) -> Condition | None:
        return self._condition


def _rate(text: str) -> str:
    """Canonical tax-rate text: a fraction like '0.06', or a label (免税, 不征税)."""
    text = str(text).strip().replace("％", "%")
    if text in ("免税", "不征税", "***"):
        return "不征税" if text == "***" else text
    try:
        value = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except ArithmeticError:
        raise ValueError(f"{text!r} is not a tax rate") from None
    if value > 1:
        value = value / 100  # "6" means 6%
    return str(value.normalize()) if value else "0"


class Policy(Strict):
    version: str
    policy_id: str
    effective_from: date | None = None
    master_data: str | None = None  # the org file, relative to the policy file
    home_city: str | None = None
    bands: list[str]
    grades: dict[str, str]  # company grade -> band
    city_tiers: dict[str, list[str]]
    default_tier: str
    regions: dict[str, list[str]] = {}  # province / region -> its cities
    lodging: Lodging
    per_diem: PerDiem
    transport: Transport
    travel: Travel = Travel()
    entertainment: Entertainment = Entertainment()
    budgets: Budgets = Budgets()
    submission: Submission
    invoice_kinds: InvoiceKinds
    personal_consumption: PersonalConsumption = PersonalConsumption()
    generic_items: GenericItems = GenericItems()
    rate_sanity: dict[str, list[str]] = {}  # 简称 -> tax rates that fit it
    splitting: Splitting
    sequential: Sequential
    routing: Routing = Routing()
    rules: dict[str, RuleConfig] = {}

    _index: PolicyIndex = PrivateAttr()
    _source: Path | None = PrivateAttr(default=None)

    @field_validator("rate_sanity")
    @classmethod
    def _rates_ok(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        return {k: [_rate(r) for r in rates] for k, rates in value.items()}

    @model_validator(mode="after")
    def _cross_check(self) -> Policy:
        bands = set(self.bands)

        def need_band(band: str, where: str) -> None:
            if band not in bands:
                raise ValueError(f"{where}: unknown band {band!r} (bands: {', '.join(self.bands)})")

        for grade, band in self.grades.items():
            need_band(band, f"grades.{grade}")
        seen: dict[str, str] = {}
        for tier, cities in self.city_tiers.items():
            for city in cities:
                if city in seen:
                    raise ValueError(f"city_tiers: {city} is in both {seen[city]} and {tier}")
                seen[city] = tier
        if self.city_tiers.get(self.default_tier):
            raise ValueError(f"default_tier: {self.default_tier!r} must be a tier without a city list")
        for n, cap in enumerate(self.lodging.caps):
            for band in cap.caps:
                need_band(band, f"lodging.caps.{n}.caps")
        base = [c for c in self.lodging.caps if c.where == self.default_tier and c.season is None]
        if not base or set(base[0].caps) != bands:
            raise ValueError(f"lodging.caps: the default tier {self.default_tier!r} needs a cap for every band "
                             "without a season, so every city has a cap")
        for key in ("rail_classes", "flight_cabins"):
            table = getattr(self.transport, key)
            for band in table:
                need_band(band, f"transport.{key}")
            missing = bands - set(table)
            if missing:
                raise ValueError(f"transport.{key}: no entry for band(s) {', '.join(sorted(missing))}")
        for band in self.transport.flight_always_bands:
            need_band(band, "transport.flight_always_bands")
        for pair in self.transport.rail_hours:
            if len(pair.split("-")) != 2:
                raise ValueError(f"transport.rail_hours: {pair!r} must look like '北京-上海'")
        for band in self.per_diem.by_band:
            need_band(band, "per_diem.by_band")
        for key in ("remote_meal", "remote_local_transport"):
            for region in getattr(self.per_diem, key):
                if region not in self.regions:
                    raise ValueError(f"per_diem.{key}: {region!r} is not in 'regions'")
        for rule_id in self.rules:
            if rule_id not in RULE_IDS:
                raise ValueError(f"rules.{rule_id}: unknown rule id (known: {', '.join(RULE_IDS)})")
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._index = PolicyIndex(self)

    # ------------------------------------------------------------ lookups (see PolicyIndex)

    @property
    def source(self) -> Path | None:
        return self._source

    @property
    def index(self) -> PolicyIndex:
        """The lookup tables; hot code fetches this once and calls its methods directly."""
        return self._index

    def band_of(self, grade: str) -> str | None:
        return self.grades.get(grade)

    def rule(self, rule_id: str) -> RuleConfig | None:
        return self.rules.get(rule_id)

    def tier_of(self, city: str) -> str:
        return self._index.tier_of(city)

    def region_of(self, city: str) -> str | None:
        return self._index.region_of(city)

    def rates_for(self, jiancheng: str) -> frozenset[str] | None:
        return self._index.rates.get(jiancheng)

    def rail_hours_between(self, a: str, b: str) -> Decimal | None:
        return self._index.rail_hours_between(a, b)

    def lodging_cap(self, city: str | None, band: str, night: date | None) -> tuple[Decimal, str, str | None]:
        return self._index.lodging_cap(city, band, night)

    def per_diem_rates(self, city: str | None, band: str | None) -> tuple[Decimal, str | None, Decimal, str | None]:
        return self._index.per_diem_rates(city, band)


class PolicyIndex:
    """Lookup tables built once from a validated ``Policy`` (plain dicts: the rules call these per invoice)."""

    __slots__ = ("_caps", "_memo", "_rail", "_rail_cities", "_region", "_tier", "default_tier", "kinds_anywhere",
                 "per_diem", "rates")

    def __init__(self, policy: Policy) -> None:
        self.default_tier = policy.default_tier
        self.per_diem = policy.per_diem
        self._tier = {city: tier for tier, cities in policy.city_tiers.items() for city in cities}
        self._region = {city: region for region, cities in policy.regions.items() for city in cities}
        for region in policy.regions:
            self._region.setdefault(region, region)
        self._caps: dict[str, list[LodgingCap]] = {}
        for cap in policy.lodging.caps:
            self._caps.setdefault(cap.where, []).append(cap)
        for rows in self._caps.values():
            rows.sort(key=lambda c: c.season is None)  # seasonal rows first
        self.rates = {k: frozenset(v) for k, v in policy.rate_sanity.items()}
        self._rail = {frozenset(p.strip() for p in pair.split("-")): hours
                      for pair, hours in policy.transport.rail_hours.items()}
        self._rail_cities = tuple(sorted({c for key in self._rail for c in key}, key=len, reverse=True))
        kinds = policy.invoice_kinds
        self.kinds_anywhere = frozenset(kinds.default).union(*kinds.by_category.values())
        self._memo: dict[tuple, tuple[Decimal, str, str | None]] = {}

    def tier_of(self, city: str) -> str:
        return self._tier.get(city, self.default_tier)

    def region_of(self, city: str) -> str | None:
        return self._region.get(city)

    def rail_hours_between(self, a: str, b: str) -> Decimal | None:
        """Rail hours between two places (cities or station names like 北京南), either direction, if listed."""
        ca = next((c for c in self._rail_cities if a.startswith(c)), None)
        cb = next((c for c in self._rail_cities if b.startswith(c)), None)
        if ca is None or cb is None:
            return None
        return self._rail.get(frozenset((ca, cb)))

    def lodging_cap(self, city: str | None, band: str, night: date | None) -> tuple[Decimal, str, str | None]:
        """The cap per room-night: city row, else its region's, else its tier's, else the default tier's.

        Returns ``(cap, where, season)``; a seasonal row applies when ``night`` falls in its window.
        """
        key = (city, band, night)
        found = self._memo.get(key)
        if found is not None:
            return found
        places = [city, self._region.get(city), self.tier_of(city)] if city else []
        places.append(self.default_tier)
        for place in places:
            for cap in self._caps.get(place or "", ()):
                if band not in cap.caps:
                    continue
                if cap.season is None:
                    found = (cap.caps[band], cap.where, None)
                elif night is not None and cap.season.contains(night):
                    found = (cap.caps[band], cap.where, str(cap.season))
                else:
                    continue
                if len(self._memo) < 100_000:
                    self._memo[key] = found
                return found
        raise LookupError(f"no lodging cap for band {band}")  # unreachable: the default tier covers every band

    def per_diem_rates(self, city: str | None, band: str | None) -> tuple[Decimal, str | None, Decimal, str | None]:
        """(meal rate, its remote region, local-transport rate, its remote region) per day in ``city``."""
        per_diem = self.per_diem
        base = per_diem.by_band.get(band or "")
        meal = base.meal if base else per_diem.meal
        local = base.local_transport if base else per_diem.local_transport
        region = self._region.get(city) if city else None
        meal_region = local_region = None
        if region in per_diem.remote_meal:
            meal, meal_region = per_diem.remote_meal[region], region
        if region in per_diem.remote_local_transport:
            local, local_region = per_diem.remote_local_transport[region], region
        return meal, meal_region, local, local_region


def _format_errors(exc: ValidationError, where: str) -> str:
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        if loc and loc[0] == "rules" and len(loc) > 1:
            rule = loc[1]
        elif loc:
            rule = SECTION_RULES.get(loc[0], "policy")
        else:  # a cross-check: the message starts with the key path
            rule = SECTION_RULES.get(message.split(".")[0].split(":")[0].split(" ")[0], "policy")
        lines.append(f"{'.'.join(loc) or '(policy)'}: {message} (rule {rule})")
    return f"{where}: invalid policy:\n  " + "\n  ".join(lines)


def _known_categories() -> frozenset[str] | None:
    try:
        from models.taxonomy import load_taxonomy
    except ImportError:  # the pipeline without the model package: categories are not checked
        return None
    return frozenset(load_taxonomy().codes)


def _check_categories(policy: Policy, known: frozenset[str], where: str) -> None:
    uses = {
        "lodging.categories (rule R9)": policy.lodging.categories,
        "travel.travel_categories (rule R7, R8)": policy.travel.travel_categories,
        "entertainment.categories (rule R20)": policy.entertainment.categories,
        "invoice_kinds.by_category (rule R6)": list(policy.invoice_kinds.by_category),
        "invoice_kinds.special_required (rule R6)": policy.invoice_kinds.special_required,
    }
    bad = [f"{key}: unknown expense category {code!r}" for key, codes in uses.items() for code in codes
           if code not in known]
    if bad:
        raise PolicyError(f"{where}: invalid policy:\n  " + "\n  ".join(bad))


def policy_from_dict(data: Any, where: str = "policy", categories: frozenset[str] | None = None) -> Policy:
    """``categories``: the expense-category codes the policy may name (default: ``models/taxonomy.yaml``)."""
    if not isinstance(data, dict):
        raise PolicyError(f"{where}: the policy must be a mapping of sections")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_format_errors(exc, where)) from None
    known = categories if categories is not None else _known_categories()
    if known is not None:
        _check_categories(policy, known, where)
    return policy


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    policy = policy_from_dict(read_yaml(path, "the policy file", PolicyError), str(path))
    policy._source = path.resolve()
    return policy


def master_data_path(policy: Policy) -> Path | None:
    """The org file the policy names, resolved against the policy file's folder."""
    if policy.master_data is None:
        return None
    base = policy.source.parent if policy.source else Path.cwd()
    return (base / policy.master_data).resolve()
