"""Where a checked claim goes: the finance review queue or straight to the OA.

``routing_reasons(findings, invoices, classifications=None, settings=None) -> list[str]`` lists why a person must
look: a block finding (``block:R3``), a reduce finding without a suggested amount when
``review_reduce_without_amount`` (``reduce_unpriced:R10`` — finance sets the standard fare), a key field read with
confidence below ``min_field_confidence`` (``low_confidence:<invoice>:<field>=0.62``) or a category the model
abstained on (``abstained:<invoice>:<category>``). ``route(...)`` is ``Route.FINANCE_REVIEW`` when there is any
reason, else ``Route.OA``. ``classifications`` is aligned with ``invoices`` (``None`` where a person chose the
category). ``settings`` defaults to ``pipeline.policy.schema.Routing()``.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence

from pipeline.policy.schema import Routing
from pipeline.types import Classification, Finding, Invoice, InvoiceKind, Severity


class Route(str, enum.Enum):
    FINANCE_REVIEW = "finance_review"
    OA = "oa"


def routing_reasons(findings: Sequence[Finding], invoices: Sequence[Invoice],
                    classifications: Sequence[Classification | None] | None = None,
                    settings: Routing | None = None) -> list[str]:
    settings = settings or Routing()
    reasons = []
    for f in findings:
        if f.severity is Severity.BLOCK:
            reasons.append(f"block:{f.rule_id}")
        elif f.severity is Severity.REDUCE and f.suggested_amount is None and settings.review_reduce_without_amount:
            reasons.append(f"reduce_unpriced:{f.rule_id}")
    for n, inv in enumerate(invoices):
        if inv.kind is InvoiceKind.TRIP_TABLE:
            continue
        label = inv.business_key or f"#{n + 1}"
        for key in settings.key_fields:
            fv = inv.fields.get(key)
            if fv is not None and fv.confidence < settings.min_field_confidence:
                reasons.append(f"low_confidence:{label}:{key}={fv.confidence:.2f}")
        c = classifications[n] if classifications is not None and n < len(classifications) else None
        if c is not None and c.abstained:
            reasons.append(f"abstained:{label}:{c.category}")
    return list(dict.fromkeys(reasons))


def route(findings: Sequence[Finding], invoices: Sequence[Invoice],
          classifications: Sequence[Classification | None] | None = None,
          settings: Routing | None = None) -> Route:
    return Route.FINANCE_REVIEW if routing_reasons(findings, invoices, classifications, settings) else Route.OA
