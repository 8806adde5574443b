"""Tables of the policy integration: the invoice facts history queries use, budgets, evaluations, travel requests.

* ``InvoiceKey``: one row per (invoice, ``facts.duplicate_keys`` key), indexed on ``key``: R3 finds other claims
  holding an invoice under any of its keys (cross-format, ticket, seat/flight keys) by index.
* ``InvoiceFact``: per invoice on a claim, what R12/R13 compare (seller, service date, number, code), indexed on
  ``(seller_ref, service_date)`` and ``(seller_ref, code, width, number)``.
* ``BudgetAccount``: one row per budget (scope, code) with its annual amount, reserved and consumed money;
  ``ClaimBudget``: what a claim reserved on each budget (deleted when released, ``consumed`` when approved).
* ``ClaimEvaluationRecord``: the last evaluation of a claim (route and reasons, amounts, allowances), and the
  travel request it belongs to.
* ``TravelRequestRecord``: a travel request (出差申请): dates, cities, purpose, approved.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from api.columns import Money, UtcDateTime, utcnow


class InvoiceKey(SQLModel, table=True):
    __tablename__ = "invoice_key"

    invoice_id: int = Field(foreign_key="invoice_record.id", primary_key=True)
    key: str = Field(primary_key=True, index=True)


class InvoiceFact(SQLModel, table=True):
    __tablename__ = "invoice_fact"
    __table_args__ = (Index("ix_invoice_fact_seller_day", "seller_ref", "service_date"),
                      Index("ix_invoice_fact_seller_number", "seller_ref", "code", "width", "number"))

    invoice_id: int = Field(foreign_key="invoice_record.id", primary_key=True)
    seller_ref: str
    service_date: date
    number: str | None = None  # normalised invoice number
    code: str | None = None  # normalised 发票代码 (legacy invoices)
    width: int | None = None  # len(number) when it is all digits: numbers of one width order as strings
    amount: Decimal | None = Field(default=None, sa_type=Money)
    kind: str


class BudgetAccount(SQLModel, table=True):
    __tablename__ = "budget_account"
    __table_args__ = (UniqueConstraint("scope", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    scope: str  # department | cost_center | project
    code: str
    budget: Decimal = Field(sa_type=Money)
    reserved: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    consumed: Decimal = Field(default=Decimal("0.00"), sa_type=Money)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class ClaimBudget(SQLModel, table=True):
    __tablename__ = "claim_budget"

    claim_id: int = Field(foreign_key="claim.id", primary_key=True)
    account_id: int = Field(foreign_key="budget_account.id", primary_key=True)
    amount: Decimal = Field(sa_type=Money)
    state: str = "reserved"  # reserved -> consumed (the row is deleted when released)


class ClaimEvaluationRecord(SQLModel, table=True):
    __tablename__ = "claim_evaluation"

    claim_id: int = Field(foreign_key="claim.id", primary_key=True)
    trip_request_id: int | None = Field(default=None, foreign_key="travel_request.id", index=True)
    route: str | None = None  # finance_review | oa
    route_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    amount_claimed: Decimal | None = Field(default=None, sa_type=Money)
    amount_after_caps: Decimal | None = Field(default=None, sa_type=Money)
    allowance_total: Decimal | None = Field(default=None, sa_type=Money)
    allowances: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    evaluated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class TravelRequestRecord(SQLModel, table=True):
    __tablename__ = "travel_request"

    id: int | None = Field(default=None, primary_key=True)
    employee_id: int = Field(foreign_key="employee.id", index=True)
    start: date
    end: date
    cities: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    purpose: str
    origin: str | None = None
    approved: bool = False
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
