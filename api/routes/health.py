"""Liveness and database check."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api import __version__
from api.deps import SessionDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health(session: SessionDep):
    try:
        session.exec(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return JSONResponse({"status": "error", "db": f"unavailable: {type(exc).__name__}",
                             "version": __version__}, status_code=503)
    return {"status": "ok", "db": "ok", "version": __version__}
