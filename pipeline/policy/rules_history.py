"""Rules that compare a claim with the invoices of other claims (any employee): R12 splitting, R13 sequences.

R12 asks ``ctx.history.invoices_from_seller(seller, since, until)`` once per seller on the claim, R13
``ctx.history.invoices_near_number(seller, code, number, max_gap)`` once per invoice: index lookups, never scans.

* R12 (claim rule): invoices from one seller (``facts.seller_ref``) within ``splitting.window_days`` of each other,
  at least ``min_count`` of them each below an approval threshold while together reaching it, and at least one on
  this claim -> warn (sellers known only by an invoice code — taxi, 定额 — are not checked), naming the highest threshold they avoid and every claim / claimant involved (e.g. 3 × ¥1,980
  from one restaurant on one day against 2,000). Tickets are not checked (one seller sells every train ticket).
* R13 (line rule): an invoice of a kind in ``sequential.kinds`` whose number is within ``max_gap`` of another
  invoice's from the same seller (and the same 发票代码 for legacy invoices), on this claim or on another claim in
  ``window_days`` -> warn (possibly bought invoices).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import NamedTuple

from pipeline.policy.base import finding, money
from pipeline.policy.facts import TICKET_KINDS
from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.types import Finding, Severity

THIS_CLAIM = "this claim"


class _Entry(NamedTuple):
    day: date
    amount: Decimal
    claim: str
    employee: str
    key: str
    here: bool


def r12_splitting(ctx: CheckContext) -> list[Finding]:
    rules = ctx.policy.splitting
    claim = ctx.claim
    window = timedelta(days=rules.window_days)
    groups: dict[str, list[ClaimLine]] = {}
    for line in claim.lines:
        if line.kind in TICKET_KINDS or line.seller is None or line.seller.startswith("code:") \
                or line.service_date is None or line.total is None or line.total <= 0:
            continue  # a bare invoice code (taxi, 定额) is a print batch, not a seller
        groups.setdefault(line.seller, []).append(line)
    if not groups or not rules.thresholds:
        return []
    me = claim.employee.emp_no or "?"
    findings = []
    thresholds = sorted(rules.thresholds, reverse=True)
    lowest = thresholds[-1]
    for seller, lines in groups.items():
        if len(lines) == 1:
            first = last = lines[0].service_date
        else:
            first = min(ln.service_date for ln in lines)
            last = max(ln.service_date for ln in lines)
        past = [p for p in ctx.history.invoices_from_seller(seller, first - window, last + window)
                if p.claim_no != claim.claim_no and p.amount is not None and p.amount > 0]
        if len(lines) + len(past) < rules.min_count or \
                sum(ln.total for ln in lines) + sum(p.amount for p in past) < lowest:
            continue  # too few, or too little together to dodge any threshold
        entries = [_Entry(ln.service_date, ln.total, claim.claim_no or THIS_CLAIM, me, ln.key or "?", True)
                   for ln in lines]
        entries += [_Entry(p.service_date, p.amount, p.claim_no, p.employee or "?",
                           f"{p.code}:{p.number}" if p.code else p.number or "?", False) for p in past]
        hit = _split(entries, lines, window, thresholds, rules.min_count)
        if hit is None:
            continue
        threshold, cluster = hit
        total = sum((e.amount for e in cluster), Decimal("0.00"))
        claimants = sorted({e.employee for e in cluster})
        name = lines[0].invoice.get("seller_name") or seller
        findings.append(finding(
            "R12", Severity.WARN,
            f"疑似拆单：{name} 在相近日期开具 {len(cluster)} 张发票，每张低于审批标准 {money(threshold)} 元，"
            f"合计 {money(total)} 元" + (f"，涉及 {len(claimants)} 位报销人" if len(claimants) > 1 else "")
            + "，请说明原因",
            f"Possible split purchase: {len(cluster)} invoices from {name} on nearby days, each under the "
            f"{money(threshold)} approval limit, together {money(total)}"
            + (f", claimed by {len(claimants)} people" if len(claimants) > 1 else "") + "; please explain.",
            lines[0], seller=seller, threshold=threshold, total=total, amounts=[e.amount for e in cluster],
            dates=[e.day for e in cluster], claims=sorted({e.claim for e in cluster}), claimants=claimants,
            invoices=[e.key for e in cluster]))
    return findings


def _split(entries: list[_Entry], lines: list[ClaimLine], window: timedelta, thresholds: list[Decimal],
           min_count: int) -> tuple[Decimal, list[_Entry]] | None:
    for anchor in sorted({ln.service_date for ln in lines}):
        near = [e for e in entries if abs(e.day - anchor) <= window]
        if len(near) < min_count:
            continue
        for threshold in thresholds:
            under = [e for e in near if e.amount < threshold]
            if len(under) >= min_count and any(e.here for e in under) and \
                    sum(e.amount for e in under) >= threshold:
                return threshold, sorted(under, key=lambda e: (e.day, e.claim))
    return None


def r13_sequential(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    rules = ctx.policy.sequential
    if line.kind not in rules.kinds:
        return []
    seller, day, text = line.seller, line.service_date, line.number
    if seller is None or day is None or not text or not text.isdigit():
        return []
    number, width, code = int(text), len(text), line.code
    near = []
    past_rows = ctx.history.invoices_near_number(seller, code, text, rules.max_gap)
    if past_rows:
        window, claim_no = timedelta(days=rules.window_days), ctx.claim.claim_no
        near = [(past.number, past.claim_no, past.employee or "?") for past in past_rows
                if past.claim_no != claim_no and abs(past.service_date - day) <= window]
    by_series = ctx.cache.get("R13")
    if by_series is None:
        by_series = ctx.cache["R13"] = {}
    seen = by_series.setdefault((seller, code, width), [])
    for other in seen:
        if 0 < abs(other - number) <= rules.max_gap:
            near.append((str(other).zfill(width), THIS_CLAIM, ctx.claim.employee.emp_no or "?"))
    seen.append(number)
    if not near:
        return []
    name = line.invoice.get("seller_name") or seller
    others = sorted({n for n, _, _ in near})
    return [finding("R13", Severity.WARN,
                    f"发票号码与 {name} 的其他发票（{'、'.join(others)}）几乎连号，请说明取得方式",
                    f"The invoice number is almost consecutive with other invoices from {name} "
                    f"({', '.join(others)}); please explain how the invoices were obtained.",
                    line, number=text, near_numbers=others,
                    claims=sorted({c for _, c, _ in near}), claimants=sorted({e for _, _, e in near}))]
