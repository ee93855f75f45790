"""The schema comes only from migrations: blank database -> head -> base -> head on SQLite and
PostgreSQL, and the models agree with the migrated schema (like `alembic check`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from tutor.store import Store
from tutor.store.models import Base

VERSIONS = Path(__file__).resolve().parents[2] / "migrations" / "versions"


def _tables(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names()) - {"alembic_version"}


def test_round_trip_head_base_head_and_models_agree(db_url):
    store = Store(db_url)
    try:
        assert _tables(store) == set() and store.current_revision() is None
        store.upgrade()
        assert store.current_revision() == store.head_revision()
        assert _tables(store) == set(Base.metadata.tables)
        assert store.schema_diff() == []
        store.downgrade("base")
        assert _tables(store) == set() and store.current_revision() is None
        store.upgrade()
        assert store.schema_diff() == []
        store.require_current()
        # and the store works on the re-created schema
        user = store.create_user("after", "student")
        assert store.create_session(user.id, question="1+1").status == "active"
    finally:
        store.close()


def test_schema_check_catches_a_drift(db_url):
    store = Store(db_url)
    try:
        store.upgrade()
        with store.engine.begin() as conn:
            conn.execute(text("CREATE TABLE stray (id INTEGER PRIMARY KEY)"))
        diff = store.schema_diff()
        assert any(op[0] == "remove_table" and op[1].name == "stray" for op in diff)
    finally:
        store.close()


def test_an_old_schema_is_refused_until_upgraded(db_url):
    from tutor.store import SchemaOutOfDate
    store = Store(db_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="mathtutor db upgrade"):
            store.require_current()
        assert store.health()["ok"] is False
        store.upgrade()
        assert store.health()["ok"] is True
    finally:
        store.close()


def test_every_migration_says_why_and_can_be_undone():
    files = sorted(p for p in VERSIONS.glob("[0-9]*.py"))
    assert files, "no migrations"
    for number, path in enumerate(files, start=1):
        assert path.name.startswith(f"{number:04d}_"), f"{path.name}: migrations are numbered 0001, 0002, ..."
        tree = ast.parse(path.read_text())
        doc = ast.get_docstring(tree) or ""
        why = [line for line in doc.splitlines() if line.startswith("Why: ")]
        assert len(why) == 1 and len(why[0]) > 15 and "<one line" not in why[0], f"{path.name}: needs a `Why:` line"
        funcs = {f.name: f for f in tree.body if isinstance(f, ast.FunctionDef)}
        body = funcs["downgrade"].body
        assert not (len(body) == 1 and isinstance(body[0], ast.Pass)), f"{path.name}: downgrade() does nothing"
