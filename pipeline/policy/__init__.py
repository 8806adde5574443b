"""Compliance checks: independent rules, each a function returning findings.

``check_invoices(invoices, company, is_duplicate)`` runs every rule over the invoices of one claim and returns
their findings in rule order. Rules never raise on missing fields: a field the rule needs but the invoice
lacks is itself reported when it matters (e.g. no buyer tax ID on an invoice that should carry one).
"""

from pipeline.policy.company import CompanyInfo
from pipeline.policy.engine import RULES, check_invoices

__all__ = ["CompanyInfo", "RULES", "check_invoices"]
