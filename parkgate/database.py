"""Request-scoped database session and unit of work for the web app."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g
from sqlalchemy.orm import Session

from kernel.bus import EventBus
from kernel.uow import UnitOfWork
from models.db import make_engine, make_session_factory


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = make_session_factory(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def dispose(self) -> None:
        self.engine.dispose()


def init_app(app: Flask, database: Database, bus: EventBus) -> None:
    app.extensions["parkgate.db"] = database
    app.extensions["kernel.bus"] = bus

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()


def get_db_of(app: Flask) -> Database:
    return app.extensions["parkgate.db"]


def get_db() -> Database:
    return current_app.extensions["parkgate.db"]


def get_bus() -> EventBus:
    return current_app.extensions["kernel.bus"]


def get_session() -> Session:
    """One session per request: on SQLite each transaction holds the write lock, so a
    second session in the same request would wait on the first."""
    if "db_session" not in g:
        g.db_session = get_db().session_factory()
    return g.db_session


def get_uow() -> UnitOfWork:
    return UnitOfWork(get_session(), get_bus())


def read_session() -> Session:
    """A session of its own that only reads (exports, reports): it takes no write lock
    on SQLite, so a long stream never holds up the gate. The caller closes it."""
    from models.db import read_only

    return Session(bind=read_only(get_db().engine))


def release_session() -> None:
    """End the request's transaction early (before a long stream)."""
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
