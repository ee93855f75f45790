"""Alembic environment: runs on the connection the store hands over (config.attributes["connection"]),
or on `sqlalchemy.url` when alembic is driven by hand. Batch mode so SQLite can alter tables."""

from __future__ import annotations

from alembic import context

from tutor.store.engine import make_engine
from tutor.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kw):
    context.configure(target_metadata=target_metadata, render_as_batch=True, compare_type=True, **kw)


def run_offline() -> None:
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    try:
        with engine.connect() as connection:
            _configure(connection=connection)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
