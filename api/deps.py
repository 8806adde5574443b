"""FastAPI dependencies: the per-request session, the app's settings and its OA adapter.

The engine, settings and adapter live on ``app.state`` (set by ``api.app.create_app``), so several apps with
different databases can run in one process (the tests do).
"""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from api.errors import NotConfigured
from api.settings import Settings
from pipeline.sync.base import OaAdapter


def get_session(request: Request) -> Iterator[Session]:
    with Session(request.app.state.engine) as session:
        yield session


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_adapter(request: Request) -> OaAdapter:
    adapter = request.app.state.adapter
    if adapter is None:
        raise NotConfigured("OA integration is not configured (set REIMBURSE_OA_ADAPTER and REIMBURSE_OA_OPTIONS, "
                            "or REIMBURSE_OA_WEBHOOK_URL and the secrets; see api.oa_config)")
    return adapter


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
AdapterDep = Annotated[OaAdapter, Depends(get_adapter)]
