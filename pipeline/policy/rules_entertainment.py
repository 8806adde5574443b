"""R20 business entertainment (业务招待, DOMAIN §6.3): pre-approval, guest count, cost per head.

For a line whose category is in ``entertainment.categories``:
* no pre-approval number while ``pre_approval_required`` and the amount is above ``pre_approval_above`` -> block;
* no number of guests while ``attendees_required`` -> warn (the attendee list goes with the claim);
* cost per head above ``per_head_cap`` -> reduce to ``cap × guests``;
* ``approval_levels``: above the first level's amount, an info finding naming who must approve the event (the
  first level is the normal approval chain and needs no mention).
"""

from __future__ import annotations

from decimal import Decimal

from pipeline.policy.base import finding, money
from pipeline.policy.inputs import CheckContext, ClaimLine
from pipeline.types import Finding, Severity


def r20_entertainment(line: ClaimLine, ctx: CheckContext) -> list[Finding]:
    rules = ctx.policy.entertainment
    if line.category not in rules.categories or line.total is None:
        return []
    amount = line.total
    findings = []
    if rules.pre_approval_required and amount > rules.pre_approval_above and not line.pre_approval:
        findings.append(finding("R20", Severity.BLOCK, "业务招待需要事前审批，请填写招待审批单号",
                                "Business entertainment needs approval before the event; enter the approval "
                                "number.", line, amount=amount))
    if line.attendees is None or line.attendees <= 0:
        if rules.attendees_required:
            findings.append(finding("R20", Severity.WARN, "请填写招待人数并附参加人员名单",
                                    "Enter the number of guests and attach the attendee list.", line))
    elif rules.per_head_cap is not None:
        per_head = (amount / line.attendees).quantize(Decimal("0.01"))
        limit = rules.per_head_cap * line.attendees
        if amount > limit:
            findings.append(finding(
                "R20", Severity.REDUCE,
                f"人均 {money(per_head)} 元超过标准 {money(rules.per_head_cap)} 元/人，按 {line.attendees} 人 × "
                f"{money(rules.per_head_cap)} = {money(limit)} 元报销",
                f"{money(per_head)} per head is over the {money(rules.per_head_cap)} limit; "
                f"{line.attendees} × {money(rules.per_head_cap)} = {money(limit)} is reimbursed.",
                line, suggested=limit, per_head=per_head, cap_per_head=rules.per_head_cap,
                attendees=line.attendees, amount=amount))
    for n, level in enumerate(rules.approval_levels):
        if level.up_to is None or amount <= level.up_to:
            if n == 0:
                break
            findings.append(finding("R20", Severity.INFO, f"招待金额 {money(amount)} 元，需由 {level.approver} 审批",
                                    f"An event of {money(amount)} is approved by {level.approver}.", line,
                                    approver=level.approver, amount=amount))
            break
    return findings
