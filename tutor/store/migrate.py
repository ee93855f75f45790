"""Alembic driven from code: the script location is the installed `migrations` package, so no
alembic.ini is needed. On SQLite, foreign keys are switched off while batch migrations copy tables."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

import migrations
from tutor.store.models import Base


def alembic_config(engine: Engine | None = None, connection: Any = None) -> Config:
    cfg = Config(stdout=io.StringIO())
    # __path__, not __file__: an editable install may expose the folder as a namespace package
    cfg.set_main_option("script_location", str(Path(next(iter(migrations.__path__)))))
    cfg.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    if engine is not None:
        # configparser interpolates %, so a password containing one must be doubled
        cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _run(engine: Engine, fn: Any, *args: Any) -> None:
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        if sqlite:
            # must happen outside a transaction, so on the raw connection before SQLAlchemy begins one
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            fn(alembic_config(engine, conn), *args)
            conn.commit()
        finally:
            if sqlite:
                conn.rollback()
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, command.upgrade, revision)


def downgrade(engine: Engine, revision: str = "-1") -> None:
    _run(engine, command.downgrade, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def schema_diff(engine: Engine) -> list[Any]:
    """Differences between the models and the database (empty when they agree), like `alembic check`."""
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "target_metadata": Base.metadata})
        return compare_metadata(ctx, Base.metadata)
