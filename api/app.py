"""The FastAPI application factory.

``create_app(settings)`` builds an app with its own engine (``app.state.engine``), settings and OA adapter. Its
lifespan creates missing tables, loads the organisation file when there is one, and, when ``relay_enabled``,
runs the outbox relay in background threads until shutdown (with ``oa_reconcile_enabled`` also the OA
reconciliation: ``api.oa_runtime``); the OA adapter comes from ``api.oa_config`` (a bad OA configuration stops
``create_app`` with ``OaConfigError``), its counters are at ``/metrics``; with ``REIMBURSE_MODEL_RETRAIN_ENABLED``
it also runs the scheduled retraining of the expense-category model (``api.model_registry``). OpenAPI docs are
at ``/docs``. Run with ``uvicorn --factory api.app:create_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from api import __version__, budgets, model_registry, policy_service, services
from api.db import init_db, make_engine, session_factory
from api.errors import install_error_handlers
from api.oa_config import build_adapter as build_oa_adapter
from api.oa_runtime import attach_metrics, start_workers
from api.pages import router as pages_router
from api.routes import api_router
from api.routes.metrics import router as metrics_router
from api.settings import Settings, get_settings
from pipeline.sync.base import OaAdapter

MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def build_adapter(settings: Settings) -> OaAdapter | None:
    """The configured OA adapter, or None when no OA is configured (then callbacks answer 503)."""
    return build_oa_adapter(settings)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    policy = policy_service.configure(settings.policy_file)  # PolicyError (naming the rule): refuse to start
    engine = make_engine(settings.database_url, echo=settings.database_echo)
    adapter = build_adapter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        init_db(engine)
        if settings.org_file and settings.org_file.exists():
            with Session(engine) as session:
                services.load_org(session, services.read_org_file(settings.org_file))
        if policy is not None:
            with Session(engine) as session:
                budgets.sync_accounts(session, policy)
        oa_workers = start_workers(session_factory(engine), adapter, settings, app.state.metrics)
        retrainer = model_registry.start_scheduler(session_factory(engine))
        try:
            yield
        finally:
            if retrainer is not None:
                retrainer.stop()
            oa_workers.stop()
            engine.dispose()

    app = FastAPI(title="reimburse", version=__version__, lifespan=lifespan,
                  max_body_size=settings.max_upload_files * settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
                  form_limits={"max_files": settings.max_upload_files})
    app.state.settings, app.state.engine, app.state.adapter = settings, engine, adapter
    attach_metrics(app, adapter, session_factory(engine))
    install_error_handlers(app)
    app.include_router(api_router)
    app.include_router(metrics_router)
    app.include_router(pages_router)
    return app
