"""Database tables (SQLModel ``table=True``) and the models the API reads and returns (``*Create``, ``*Public``).

Money columns are ``Money`` (NUMERIC(14,2) <-> Decimal), times are ``UtcDateTime`` (aware UTC), JSON columns hold
plain JSON (money inside as 2-dp strings). The same schema runs on SQLite and PostgreSQL.

Ownership of invoices: ``InvoiceRecord.claim_id`` is the claim an uploaded invoice is on (cleared when that claim
is rejected or withdrawn). ``InvoiceLedger`` holds one row per business key for every claim past draft, so the
database itself refuses a second submitted claim carrying the same invoice, whoever uploaded it.
``AuditLog`` is append-only: updating or deleting a row raises.

Cost attribution: ``InvoiceLine`` holds each invoice item line's category and the model version that labelled it;
``ClaimLine`` is one (invoice, category) group of them with the claim's cost centre and project;
``CategoryCorrection`` keeps every finance correction as a labelled example for retraining (``api.corrections``).
"""

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column, Index, Integer, String, UniqueConstraint, event
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, Relationship, SQLModel

from api.columns import Money, UtcDateTime, utcnow
from pipeline.claim import ClaimState

_STATE_TYPE = SAEnum(ClaimState, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e],
                     validate_strings=True)


def _state_column(nullable: bool = False) -> Any:
    return Column(_STATE_TYPE, nullable=nullable)


def _json_column() -> Any:
    return Column(JSON, nullable=False)


# ---------------------------------------------------------------- organisation

class Company(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)  # legal name, as the buyer must be written on invoices
    tax_id: str  # 统一社会信用代码
    # Used when neither the claim, its trip nor the employee's department names one (api.costcentre).
    default_cost_center: str | None = None
    default_project: str | None = None


class Employee(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    emp_no: str = Field(unique=True, index=True)
    name: str
    department: str  # department code
    department_name: str | None = None
    grade: str | None = None
    cost_center: str | None = None
    company_id: int = Field(foreign_key="company.id")

    company: Company = Relationship()


class Project(SQLModel, table=True):
    """A project (项目) a claim can be booked to; its own ``cost_center``, when set, goes with it."""

    __table_args__ = (UniqueConstraint("company_id", "code"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    code: str
    name: str | None = None
    cost_center: str | None = None
    active: bool = True


# ---------------------------------------------------------------- uploads and invoices

class StoredFile(SQLModel, table=True):
    __tablename__ = "stored_file"
    __table_args__ = (UniqueConstraint("employee_id", "sha256"),)

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(index=True, max_length=64)
    name: str
    media_type: str
    size: int
    path: str  # relative to Settings.storage_dir; content-addressed, so shared by identical uploads
    employee_id: int = Field(foreign_key="employee.id", index=True)
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    extraction_error: str | None = None  # why no invoice came out of this file

    invoices: list["InvoiceRecord"] = Relationship(back_populates="file")


class InvoiceLineBase(SQLModel):
    line_no: int  # 1-based position among the invoice's item lines
    name: str  # the printed item text ("*住宿服务*住宿费"); "" for an invoice without item lines
    amount: Decimal | None = Field(default=None, sa_type=Money)  # tax-inclusive share of the invoice total
    category: str | None = None
    confidence: float | None = None
    abstained: bool = True
    model_version: str | None = None  # the model that labelled the line (kept when finance corrects it)
    source: str = "model"  # rule | model | manual (a finance correction)
    corrected_by: str | None = None
    corrected_at: datetime | None = Field(default=None, sa_type=UtcDateTime)


class InvoiceLine(InvoiceLineBase, table=True):
    """Line-level attribution: one row per item line of an invoice (one for an invoice without item lines)."""

    __tablename__ = "invoice_line"
    __table_args__ = (UniqueConstraint("invoice_id", "line_no"),)

    id: int | None = Field(default=None, primary_key=True)
    invoice_id: int = Field(foreign_key="invoice_record.id", index=True)


class InvoiceLinePublic(InvoiceLineBase):
    id: int
    invoice_id: int


class CategoryCorrectionBase(SQLModel):
    invoice_id: int = Field(foreign_key="invoice_record.id", index=True)
    line_no: int
    # The line as the classifier saw it: the labelled example retraining learns from.
    seller_name: str | None = None
    item_text: str
    kind: str
    amount: Decimal | None = Field(default=None, sa_type=Money)
    in_trip: bool | None = None  # the trip context the line was judged in
    label: str  # the category finance chose
    previous_category: str | None = None
    previous_confidence: float | None = None
    previous_model_version: str | None = None
    previous_source: str | None = None
    actor: str
    reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class CategoryCorrection(CategoryCorrectionBase, table=True):
    """A finance correction of one invoice line's category, kept as a labelled training example (append-only)."""

    __tablename__ = "category_correction"

    id: int | None = Field(default=None, primary_key=True)


class CategoryCorrectionPublic(CategoryCorrectionBase):
    id: int


class CategoryCorrectionCreate(SQLModel):
    category: str = Field(min_length=1, max_length=64)
    actor: str = Field(min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class InvoiceBase(SQLModel):
    kind: str
    business_key: str | None = Field(default=None, index=True)
    total: Decimal | None = Field(default=None, sa_type=Money)
    category: str | None = None
    category_confidence: float | None = None
    abstained: bool = True  # the classifier left the category to a human
    model_version: str | None = None


class InvoiceRecord(InvoiceBase, table=True):
    __tablename__ = "invoice_record"

    id: int | None = Field(default=None, primary_key=True)
    file_id: int = Field(foreign_key="stored_file.id", index=True)
    # The invoice as ``pipeline.serialize.invoice_to_json`` writes it; ``invoice_from_json`` rebuilds the Invoice.
    data: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    claim_id: int | None = Field(default=None, foreign_key="claim.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)

    file: StoredFile = Relationship(back_populates="invoices")
    lines: list[InvoiceLine] = Relationship(sa_relationship_kwargs={"order_by": "InvoiceLine.line_no"})


class InvoicePublic(InvoiceBase):
    id: int
    file_id: int
    claim_id: int | None
    data: dict[str, Any]
    lines: list[InvoiceLinePublic] = []  # line-level categories (api.attribution)


class UploadedFilePublic(SQLModel):
    file_id: int | None  # None when the file was refused before it was stored
    name: str
    sha256: str
    size: int
    media_type: str | None
    error: str | None
    invoices: list[InvoicePublic]


# ---------------------------------------------------------------- claims

# Optimistic locking: every UPDATE of a claim checks and bumps this, so two requests racing on one claim cannot
# both win (on SQLite too, which has no SELECT ... FOR UPDATE); the loser gets StaleDataError.
_CLAIM_VERSION = Column("version", Integer, nullable=False)


class Claim(SQLModel, table=True):
    __mapper_args__ = {"version_id_col": _CLAIM_VERSION}

    id: int | None = Field(default=None, primary_key=True)
    doc_no: str = Field(unique=True, index=True)  # BX + YYYYMMDD + 4-digit daily sequence
    employee_id: int = Field(foreign_key="employee.id", index=True)
    state: ClaimState = Field(default=ClaimState.DRAFT, sa_column=_state_column())
    reason: str
    total: Decimal = Field(sa_type=Money)
    total_upper: str
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    oa_request_id: str | None = Field(default=None, index=True)  # callbacks may name only this
    oa_status: str | None = None  # last status the OA side reported (or "dead" when delivery gave up)
    version: int | None = Field(default=None, sa_column=_CLAIM_VERSION)
    # Cost attribution (api.costcentre): the values and where each came from (claim, project, trip, employee,
    # company); the trip dates decide whether a ride is travel (差旅费-交通) or local transport.
    cost_center: str | None = None
    cost_center_source: str | None = None
    project: str | None = None
    project_source: str | None = None
    trip_start: date | None = None
    trip_end: date | None = None

    employee: Employee = Relationship()
    lines: list["ClaimLine"] = Relationship(sa_relationship_kwargs={"order_by": "ClaimLine.line_no"})
    findings: list["FindingRecord"] = Relationship(sa_relationship_kwargs={"order_by": "FindingRecord.id"})
    # Every invoice on the claim: those on lines plus evidence that is never counted (ride-hailing 行程单).
    attachments: list["InvoiceRecord"] = Relationship(sa_relationship_kwargs={"order_by": "InvoiceRecord.id"})


class ClaimLine(SQLModel, table=True):
    __tablename__ = "claim_line"
    __table_args__ = (UniqueConstraint("claim_id", "line_no"),)

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    invoice_id: int = Field(foreign_key="invoice_record.id")
    line_no: int
    amount: Decimal = Field(sa_type=Money)
    category: str | None = None
    # The invoice lines of this category on this invoice (api.attribution): the lowest confidence among them,
    # whether any was left to a human, the model version that labelled them and rule | model | manual.
    confidence: float | None = None
    abstained: bool = False
    model_version: str | None = None
    category_source: str | None = None
    cost_center: str | None = None
    project: str | None = None

    invoice: InvoiceRecord = Relationship()


class FindingRecord(SQLModel, table=True):
    __tablename__ = "finding"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    invoice_id: int | None = Field(default=None, foreign_key="invoice_record.id")
    rule_id: str
    severity: str  # pipeline.types.Severity value
    message_zh: str
    message_en: str
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    suggested_amount: Decimal | None = Field(default=None, sa_type=Money)


class InvoiceLedger(SQLModel, table=True):
    __tablename__ = "invoice_ledger"

    business_key: str = Field(primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    # One row per key of every invoice (api.history.invoice_keys) on a claim past draft: attached (in review or
    # approval) -> reimbursed (approved); deleted (free again) when the claim is rejected, withdrawn or returned.
    state: str = "attached"
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    claim_id: int = Field(foreign_key="claim.id", index=True)
    from_state: ClaimState | None = Field(default=None, sa_column=_state_column(nullable=True))
    to_state: ClaimState = Field(sa_column=_state_column())
    actor: str
    at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    detail: str | None = None


@event.listens_for(AuditLog, "before_update")
@event.listens_for(AuditLog, "before_delete")
def _audit_is_append_only(mapper, connection, target) -> None:
    raise PermissionError("the audit log is append-only")


class ClaimCreate(SQLModel):
    employee_no: str
    invoice_ids: list[int] = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=500)
    cost_center: str | None = Field(default=None, max_length=64)  # an explicit choice beats every default
    project: str | None = Field(default=None, max_length=64)
    trip_start: date | None = None  # the approved trip the claim belongs to, if any
    trip_end: date | None = None
    trip_request_id: int | None = None  # an approved travel request of the employee (api.travel)


class ClaimSubmit(SQLModel):
    actor: str | None = None  # defaults to the claimant's employee number


class ClaimLinePublic(SQLModel):
    line_no: int
    invoice_id: int
    amount: Decimal
    category: str | None
    confidence: float | None = None
    abstained: bool = False
    model_version: str | None = None
    category_source: str | None = None
    cost_center: str | None = None
    project: str | None = None


class FindingPublic(SQLModel):
    rule_id: str
    severity: str
    message_zh: str
    message_en: str
    evidence: dict[str, Any]
    invoice_id: int | None
    suggested_amount: Decimal | None


class ClaimPublic(SQLModel):
    id: int
    doc_no: str
    employee_no: str
    state: ClaimState
    reason: str
    total: Decimal
    total_upper: str
    created_at: datetime
    updated_at: datetime
    oa_request_id: str | None
    oa_status: str | None
    cost_center: str | None = None
    cost_center_source: str | None = None
    project: str | None = None
    project_source: str | None = None
    trip_start: date | None = None
    trip_end: date | None = None
    lines: list[ClaimLinePublic]
    findings: list[FindingPublic]


class AuditEntryPublic(SQLModel):
    from_state: ClaimState | None
    to_state: ClaimState
    actor: str
    at: datetime
    detail: str | None


# ---------------------------------------------------------------- delivery to OA

class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    DELIVERED = "delivered"
    DEAD = "dead"


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    message_id: str = Field(unique=True)  # webhook-id: stable across retries
    claim_id: int = Field(foreign_key="claim.id", index=True)
    topic: str
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=_json_column())
    idempotency_key: str
    status: str = Field(default=OutboxStatus.PENDING, sa_type=String(16))
    attempts: int = 0
    # When the message is next due. While "sending" it is the lease expiry: a relay that died mid-delivery
    # leaves the row to be picked up again after it.
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    last_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UtcDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UtcDateTime)
