"""Invoice lines and their categories, finance corrections, and the model versions learnt from them."""

from fastapi import APIRouter, Request
from sqlmodel import SQLModel

from api import corrections, model_registry
from api.db import session_factory
from api.deps import SessionDep
from api.errors import Conflict, NotFound
from api.tables import (
    CategoryCorrectionCreate,
    CategoryCorrectionPublic,
    InvoiceLinePublic,
)
from models import registry

router = APIRouter(tags=["attribution"])


class CorrectionResultPublic(SQLModel):
    correction: CategoryCorrectionPublic
    line: InvoiceLinePublic
    claim_id: int | None
    claim_updated: bool  # the claim's lines were rebuilt (false once the claim has gone to the OA)


class RetrainRequest(SQLModel):
    force: bool = False  # promote even when the held-out macro-F1 drops by more than the margin
    actor: str = "api"


class RollbackRequest(SQLModel):
    version: str | None = None  # default: the version current before this one
    actor: str = "api"


class RollbackResult(SQLModel):
    previous: str
    current: str


@router.get("/invoices/{invoice_id}/lines", response_model=list[InvoiceLinePublic])
def read_invoice_lines(invoice_id: int, session: SessionDep):
    return corrections.invoice_lines(session, invoice_id)


@router.post("/invoices/{invoice_id}/lines/{line_no}/category", status_code=201,
             response_model=CorrectionResultPublic)
def correct_line_category(invoice_id: int, line_no: int, body: CategoryCorrectionCreate, session: SessionDep):
    """Finance sets a line's category; kept as a labelled example that the next retraining learns from."""
    result = corrections.correct_line(session, invoice_id, line_no, body.category, body.actor, body.reason)
    return CorrectionResultPublic(correction=CategoryCorrectionPublic.model_validate(result.correction),
                                  line=InvoiceLinePublic.model_validate(result.line), claim_id=result.claim_id,
                                  claim_updated=result.claim_updated)


@router.get("/corrections", response_model=list[CategoryCorrectionPublic])
def read_corrections(session: SessionDep, after_id: int = 0, limit: int = 500):
    return corrections.list_corrections(session, after_id, min(max(limit, 1), 5000))


@router.get("/models")
def read_models():
    """The expense-category model in use and the versions in the runtime store."""
    return model_registry.model_status()


@router.post("/models/retrain")
def retrain_model(request: Request, body: RetrainRequest | None = None):
    """Train on the base data + all corrections, gate on held-out macro-F1, swap when it passes (synchronous)."""
    body = body or RetrainRequest()
    try:
        outcome = model_registry.retrain_from_db(session_factory(request.app.state.engine), force=body.force,
                                                 actor=body.actor)
    except registry.StoreBusy as exc:
        raise Conflict(str(exc)) from None
    return outcome.to_json()


@router.post("/models/rollback", response_model=RollbackResult)
def rollback_model(body: RollbackRequest | None = None):
    body = body or RollbackRequest()
    try:
        previous, current = registry.rollback(body.version, actor=body.actor)
    except registry.UnknownVersion as exc:
        raise NotFound(str(exc)) from None
    except registry.StoreBusy as exc:
        raise Conflict(str(exc)) from None
    return RollbackResult(previous=previous, current=current)
