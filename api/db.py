"""The database engine and sessions.

``make_engine(url)`` builds an engine for SQLite (the default; WAL journal, foreign keys on, a busy timeout so the
relay thread and requests can share the file) or PostgreSQL (``postgresql+psycopg://``; a bare ``postgresql://``
or ``postgres://`` URL is taken to mean psycopg 3). ``init_db(engine)`` creates the tables that do not exist yet
(no migrations). ``session_factory(engine)`` returns the zero-argument callable the relay and workers use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine

import api.policy_tables  # noqa: F401  (registers the policy tables too)
import api.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

SessionFactory = Callable[[], Session]


def normalize_url(url: str) -> str:
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def make_engine(url: str, echo: bool = False) -> Engine:
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, echo=echo, pool_pre_ping=True)
    in_memory = parsed.database in (None, "", ":memory:")
    if not in_memory:
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30},
                           poolclass=StaticPool if in_memory else None)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def init_db(engine: Engine) -> None:
    SQLModel.metadata.create_all(engine)


def session_factory(engine: Engine) -> SessionFactory:
    return lambda: Session(engine)
