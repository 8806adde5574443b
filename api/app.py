"""The FastAPI application factory.

``create_app(settings)`` builds an app with its own engine (``app.state.engine``), settings and OA adapter. Its
lifespan creates missing tables, loads the organisation file when there is one, and, when ``relay_enabled``,
runs the outbox relay in a background thread until shutdown. OpenAPI docs are at ``/docs``.
Run with ``uvicorn --factory api.app:create_app``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlmodel import Session

from api import __version__, services
from api.db import init_db, make_engine, session_factory
from api.errors import install_error_handlers
from api.relay import RelayThread
from api.routes import api_router
from api.settings import Settings, get_settings
from pipeline.sync.base import OaAdapter, create_adapter

MULTIPART_OVERHEAD_BYTES = 1024 * 1024


def build_adapter(settings: Settings) -> OaAdapter | None:
    """The configured OA adapter, or None when no OA is configured (then callbacks answer 503)."""
    if settings.oa_adapter != "generic_webhook":
        raise ValueError(f"OA adapter {settings.oa_adapter!r} has no settings here yet; known: generic_webhook")
    if not (settings.oa_webhook_url and settings.oa_webhook_secret):
        return None
    return create_adapter("generic_webhook", url=settings.oa_webhook_url, secret=settings.oa_webhook_secret,
                          callback_secret=settings.oa_callback_secret, timeout=settings.oa_timeout_seconds)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    engine = make_engine(settings.database_url, echo=settings.database_echo)
    adapter = build_adapter(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        init_db(engine)
        if settings.org_file and settings.org_file.exists():
            with Session(engine) as session:
                services.load_org(session, services.read_org_file(settings.org_file))
        relay = None
        if settings.relay_enabled and adapter is not None:
            relay = RelayThread(session_factory(engine), adapter, settings)
            relay.start()
        try:
            yield
        finally:
            if relay is not None:
                relay.stop()
            engine.dispose()

    app = FastAPI(title="reimburse", version=__version__, lifespan=lifespan,
                  max_body_size=settings.max_upload_files * settings.max_upload_bytes + MULTIPART_OVERHEAD_BYTES,
                  form_limits={"max_files": settings.max_upload_files})
    app.state.settings, app.state.engine, app.state.adapter = settings, engine, adapter
    install_error_handlers(app)
    app.include_router(api_router)
    return app
