"""Settings and database sessions for tasks: built lazily per process, replaceable by tests."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from web import models  # noqa: F401  (every table: the clip tables' foreign keys name the studies')
from web.db import make_engine, make_session_factory
from web.settings import Settings

_default: Settings | None = None
_settings: Settings | None = None
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def default_settings() -> Settings:
    """The process's own settings, from the environment, read once (the Celery app's too)."""
    global _default
    if _default is None:
        _default = Settings()
    return _default


def settings() -> Settings:
    return _settings if _settings is not None else default_settings()


def session_factory() -> sessionmaker[Session]:
    """Sessions on the worker's own engine (a small pool: one task at a time per process)."""
    global _engine, _factory
    if _factory is None:
        current = settings()
        options = current.engine_options
        if options:
            options = {"pool_size": 2, "max_overflow": 2}
        _engine = make_engine(current.resolved_database_url, **options)
        _factory = make_session_factory(_engine)
    return _factory


def configure(new_settings: Settings | None, factory: sessionmaker[Session] | None = None) -> None:
    """Point tasks at other settings and sessions (tests); None restores the defaults."""
    global _settings, _factory, _engine
    _settings = new_settings
    _factory = factory
    _engine = None


def reset_after_fork() -> None:
    if _engine is not None:
        _engine.dispose(close=False)
