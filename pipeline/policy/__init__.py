"""Compliance checks (DOMAIN §6): the policy as data, independent rules returning findings, allowances, budget
control and routing.

Entry points:
* ``load_policy(path) -> Policy`` — validated at load; ``load_org(path) -> Org`` — company master data.
* ``check_invoices(invoices, company, is_duplicate)`` — integrity rules only (R1, R3, R4, R5), no policy needed.
* ``check_claim(claim, policy, company, history=None) -> list[Finding]`` — every rule over a ``ClaimInput``.
* ``evaluate_claim(...) -> ClaimEvaluation`` — findings, budget findings, allowances, amounts after caps, route.
* ``compute_allowances(trip, employee, policy)``, ``route(findings, invoices, classifications, settings)``,
  ``budget_lines`` / ``check_budget`` / ``reserve`` / ``consume`` / ``release``.
* History for R3/R12/R13: the ``InvoiceHistory`` protocol; ``InMemoryHistory`` for the CLI and tests.

Rules never raise on missing fields: a field a rule needs but the invoice lacks is reported when it matters, and
otherwise the check is skipped.
"""

from pipeline.policy.budget import BudgetState, budget_lines, check_budget, consume, release, reserve
from pipeline.policy.company import CompanyInfo, Employee, Org, OrgError, load_org
from pipeline.policy.engine import (
    CLAIM_RULES, LINE_RULES, RULES, ClaimEvaluation, check_claim, check_invoices, evaluate_claim,
)
from pipeline.policy.facts import duplicate_keys, seller_ref, service_date
from pipeline.policy.history import InMemoryHistory, InvoiceHistory, NoHistory, PastInvoice
from pipeline.policy.inputs import ClaimInput, ClaimLine
from pipeline.policy.routing import Route, route, routing_reasons
from pipeline.policy.schema import Policy, PolicyError, load_policy, master_data_path, policy_from_dict
from pipeline.policy.travel import AllowanceLine, Stop, TravelRequest, compute_allowances

__all__ = [
    "CLAIM_RULES", "LINE_RULES", "RULES", "AllowanceLine", "BudgetState", "ClaimEvaluation", "ClaimInput",
    "ClaimLine", "CompanyInfo", "Employee", "InMemoryHistory", "InvoiceHistory", "NoHistory", "Org", "OrgError",
    "PastInvoice", "Policy", "PolicyError", "Route", "Stop", "TravelRequest", "budget_lines", "check_budget",
    "check_claim", "check_invoices", "compute_allowances", "consume", "duplicate_keys", "evaluate_claim",
    "load_org", "load_policy", "master_data_path", "policy_from_dict", "release", "reserve", "route",
    "routing_reasons", "seller_ref", "service_date",
]
