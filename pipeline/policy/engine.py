"""Runs the rules over a claim in a fixed order, applying the policy's per-rule switches.

* ``check_invoices(invoices, company, is_duplicate)``: the integrity rules that need no policy (R1, R3, R4, R5) —
  what the API runs today; ``is_duplicate(key) -> doc_no | None`` is the history of other claims.
* ``check_claim(claim, policy, company, history=None) -> list[Finding]``: every rule. Per invoice, in rule order
  (``LINE_RULES``; rules that cannot apply to the invoice's kind/category are not called), then the claim rules
  (``CLAIM_RULES``: agency double-claims, splitting). ``policy.rules.<id>`` may disable a rule, restrict it with a
  ``when`` condition, or replace the severity of its non-info findings.
* ``evaluate_claim(claim, policy, company, history=None, budgets=None) -> ClaimEvaluation``: ``check_claim`` plus
  the amounts after caps, the computed allowances, budget findings for the given ``BudgetState``s (checked against
  the payable amount: invoices after caps plus allowances) and the route.

Trip tables (行程单) are evidence only and are never checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import NamedTuple

from pipeline.policy.base import ClaimRule, LineRule
from pipeline.policy.budget import BudgetState, check_budget
from pipeline.policy.company import CompanyInfo
from pipeline.policy.history import CallableHistory, InvoiceHistory, NoHistory
from pipeline.policy.inputs import CheckContext, ClaimInput, ClaimLine
from pipeline.policy.facts import TICKET_KINDS
from pipeline.policy.routing import Route, routing_reasons
from pipeline.policy.rules import (
    BUYER_TITLED_KINDS, r1_qr_agreement, r3_agency_double, r3_duplicate, r4_amounts, r5_buyer,
)
from pipeline.policy.rules_entertainment import r20_entertainment
from pipeline.policy.rules_history import r12_splitting, r13_sequential
from pipeline.policy.rules_invoice import (
    r6_invoice_kind, r11_stale, r14_non_workday, r15_personal, r17_generic_items, r18_rate_sanity,
)
from pipeline.policy.rules_travel import is_lodging, r7_trip_dates, r8_route, r9_caps, r10_class
from pipeline.policy.schema import Policy
from pipeline.policy.travel import ALLOWANCE_CATEGORY, AllowanceLine, compute_allowances
from pipeline.types import Finding, Invoice, InvoiceKind, Severity

# Rules that need only the company and the history (no policy file).
RULES: dict[str, LineRule] = {"R1": r1_qr_agreement, "R3": r3_duplicate, "R4": r4_amounts, "R5": r5_buyer}
LINE_RULES: dict[str, LineRule] = {
    **RULES, "R6": r6_invoice_kind, "R7": r7_trip_dates, "R8": r8_route, "R9": r9_caps, "R10": r10_class,
    "R11": r11_stale, "R13": r13_sequential, "R14": r14_non_workday, "R15": r15_personal,
    "R17": r17_generic_items, "R18": r18_rate_sanity, "R20": r20_entertainment,
}
CLAIM_RULES: dict[str, ClaimRule] = {"R3": r3_agency_double, "R12": r12_splitting}


def _no_history(_key: str) -> str | None:
    return None


def check_invoices(invoices: Iterable[Invoice], company: CompanyInfo,
                   is_duplicate: Callable[[str], str | None] = _no_history) -> list[Finding]:
    ctx = CheckContext(company=company, history=CallableHistory(is_duplicate))
    findings: list[Finding] = []
    for inv in invoices:
        if inv.kind is InvoiceKind.TRIP_TABLE:  # evidence only: nothing to reimburse, nothing to check
            continue
        line = ClaimLine(inv)
        for rule in RULES.values():
            findings.extend(rule(line, ctx))
    return findings


class _Shape(NamedTuple):
    """What decides which rules can apply to a line; lines of one shape share one rule list."""

    kind: InvoiceKind
    category: str | None
    items: bool
    issues: bool
    lodging: bool
    city: bool
    trip: bool


def _gates(policy: Policy) -> dict[str, Callable[[_Shape], bool]]:
    """Rules that cannot apply to a shape are not called (each rule still checks for itself: this only saves calls)."""
    travel = set(policy.travel.travel_categories)
    entertainment = set(policy.entertainment.categories)
    sequential = set(policy.sequential.kinds)
    return {
        "R1": lambda s: s.issues,
        "R5": lambda s: s.kind in BUYER_TITLED_KINDS,
        "R7": lambda s: s.category in travel or s.kind in TICKET_KINDS or s.lodging,
        "R8": lambda s: s.trip and (s.kind in TICKET_KINDS or s.city),
        "R9": lambda s: s.lodging or s.category == ALLOWANCE_CATEGORY,
        "R10": lambda s: s.kind in TICKET_KINDS,
        "R13": lambda s: s.kind in sequential,
        "R15": lambda s: s.items, "R17": lambda s: s.items, "R18": lambda s: s.items,
        "R20": lambda s: s.category in entertainment,
    }


Entry = tuple[str, LineRule, Callable | None, Severity | None]


@dataclass
class _Plan:
    """The enabled rules with their condition and severity override, resolved once per policy."""

    line: tuple[Entry, ...]
    claim: tuple[tuple[str, ClaimRule, Callable | None, Severity | None], ...]
    budget: tuple[bool, Callable | None, Severity | None]
    gates: dict[str, Callable[[_Shape], bool]]
    by_shape: dict[tuple, tuple[Entry, ...]] = field(default_factory=dict)

    def for_line(self, line: ClaimLine, ctx: CheckContext) -> tuple[Entry, ...]:
        key = (line.kind, line.category, bool(line.items), bool(line.invoice.issues), is_lodging(line, ctx.policy),
               bool(line.city), ctx.claim.trip is not None)
        entries = self.by_shape.get(key)
        if entries is None:
            shape = _Shape(*key)
            entries = self.by_shape[key] = tuple(
                e for e in self.line if e[0] not in self.gates or self.gates[e[0]](shape))
        return entries


_PLANS: dict[int, tuple[Policy, _Plan]] = {}


def _plan(policy: Policy) -> _Plan:
    cached = _PLANS.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]

    def resolved(rule_id: str):
        cfg = policy.rule(rule_id)
        if cfg is None:
            return True, None, None
        return cfg.enabled, cfg.condition, cfg.severity

    line, claim = [], []
    for rule_id, fn in LINE_RULES.items():
        enabled, cond, sev = resolved(rule_id)
        if enabled:
            line.append((rule_id, fn, cond, sev))
    for rule_id, fn in CLAIM_RULES.items():
        enabled, cond, sev = resolved(rule_id)
        if enabled:
            claim.append((rule_id, fn, cond, sev))
    plan = _Plan(tuple(line), tuple(claim), resolved("BUDGET"), _gates(policy))
    _PLANS[id(policy)] = (policy, plan)
    return plan


def _override(found: list[Finding], severity: Severity | None) -> list[Finding]:
    if severity is None:
        return found
    return [f if f.severity is Severity.INFO else replace(f, severity=severity) for f in found]


def _context(claim: ClaimInput, policy: Policy, company: CompanyInfo,
             history: InvoiceHistory | None) -> CheckContext:
    return CheckContext(company=company, history=history or NoHistory(), policy=policy, claim=claim)


def _run(ctx: CheckContext, plan: _Plan) -> list[tuple[ClaimLine | None, Finding]]:
    out: list[tuple[ClaimLine | None, Finding]] = []
    append = out.append
    for line in ctx.claim.lines:
        line.memo.clear()
    for line in ctx.claim.lines:
        if line.kind is InvoiceKind.TRIP_TABLE:
            continue
        env = None
        for _rule_id, fn, cond, sev in plan.for_line(line, ctx):
            if cond is not None:
                env = env or ctx.variables(line)
                if not cond(env):
                    continue
            found = fn(line, ctx)
            if found:
                for f in (found if sev is None else _override(found, sev)):
                    append((line, f))
    claim_env = None
    for _rule_id, fn, cond, sev in plan.claim:
        if cond is not None:
            claim_env = claim_env or ctx.variables(None)
            if not cond(claim_env):
                continue
        out.extend((None, f) for f in _override(fn(ctx), sev))
    return out


def check_claim(claim: ClaimInput, policy: Policy, company: CompanyInfo,
                history: InvoiceHistory | None = None) -> list[Finding]:
    return [f for _, f in _run(_context(claim, policy, company, history), _plan(policy))]


@dataclass
class ClaimEvaluation:
    findings: list[Finding]
    allowances: list[AllowanceLine]
    route: Route
    route_reasons: list[str]
    amount_claimed: Decimal  # invoice totals
    amount_after_caps: Decimal  # invoice totals with every reduce finding's suggested amount applied
    allowance_total: Decimal
    line_amounts: list[tuple[Decimal | None, Decimal | None]] = field(default_factory=list)  # (claimed, after caps)

    @property
    def amount_payable(self) -> Decimal:
        return self.amount_after_caps + self.allowance_total


def evaluate_claim(claim: ClaimInput, policy: Policy, company: CompanyInfo, history: InvoiceHistory | None = None,
                   budgets: Sequence[BudgetState] | None = None) -> ClaimEvaluation:
    ctx = _context(claim, policy, company, history)
    plan = _plan(policy)
    pairs = _run(ctx, plan)
    findings = [f for _, f in pairs]
    reduced: dict[int, Decimal] = {}
    for line, f in pairs:
        if line is not None and f.severity is Severity.REDUCE and f.suggested_amount is not None:
            reduced[id(line)] = min(reduced.get(id(line), f.suggested_amount), f.suggested_amount)
    line_amounts = []
    for line in claim.lines:
        if line.kind is InvoiceKind.TRIP_TABLE:
            continue
        line_amounts.append((line.total, reduced.get(id(line), line.total)))
    claimed = sum((c for c, _ in line_amounts if c is not None), Decimal("0.00"))
    after = sum((a for _, a in line_amounts if a is not None), Decimal("0.00"))
    allowances = compute_allowances(claim.trip, claim.employee, policy) if claim.trip is not None else []
    allowance_total = sum((a.amount for a in allowances), Decimal("0.00"))
    enabled, cond, sev = plan.budget
    if budgets and enabled and (cond is None or cond(ctx.variables(None))):
        for state in budgets:
            f = check_budget(state, after + allowance_total, policy.budgets)
            if f is not None:
                findings.extend(_override([f], sev))
    invoices = [ln.invoice for ln in claim.lines]
    reasons = routing_reasons(findings, invoices, [ln.classification for ln in claim.lines], policy.routing)
    return ClaimEvaluation(
        findings=findings, allowances=allowances, route=Route.FINANCE_REVIEW if reasons else Route.OA,
        route_reasons=reasons, amount_claimed=claimed, amount_after_caps=after, allowance_total=allowance_total,
        line_amounts=line_amounts)
