"""`Store`: the one object tutor/ and app/ use to read and write the database (see the package
docstring for the full list of methods), plus schema operations through Alembic."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from tutor.settings import Settings
from tutor.store.base import StoreBase
from tutor.store.claims import ClaimsMixin
from tutor.store.classes import ClassesMixin
from tutor.store.errors import SchemaOutOfDate, StoreUnavailable
from tutor.store.export import ExportMixin
from tutor.store.flags import FlagsMixin
from tutor.store.learning import LearningMixin
from tutor.store.practice import PracticeMixin
from tutor.store.problems import ProblemsMixin
from tutor.store.reports import ReportsMixin
from tutor.store.sessions import SessionsMixin
from tutor.store.signins import SigninsMixin
from tutor.store.users import UsersMixin


def _migrate():  # alembic is imported only when the schema is touched, to keep `import tutor` fast
    from tutor.store import migrate
    return migrate


class Store(UsersMixin, SigninsMixin, ClassesMixin, ProblemsMixin, SessionsMixin, ClaimsMixin, LearningMixin, FlagsMixin,
            ReportsMixin, ExportMixin, PracticeMixin, StoreBase):
    """The session store on one database URL (SQLite or PostgreSQL). Thread-safe: every method runs
    its own short transaction and returns plain dataclasses."""

    # --- schema ---------------------------------------------------------------------------------
    def upgrade(self, revision: str = "head") -> None:
        """Run the migrations up to `revision` (the schema is created only this way)."""
        _migrate().upgrade(self.engine, revision)

    def downgrade(self, revision: str = "-1") -> None:
        _migrate().downgrade(self.engine, revision)

    def current_revision(self) -> str | None:
        return _migrate().current_revision(self.engine)

    @staticmethod
    def head_revision() -> str | None:
        return _migrate().head_revision()

    def require_current(self) -> None:
        """Raise SchemaOutOfDate unless the database is at the migrations' head."""
        current, head = self.current_revision(), self.head_revision()
        if current != head:
            raise SchemaOutOfDate(f"the database is at migration {current or 'none'}, the code needs {head}: "
                                  "run `mathtutor db upgrade`")

    def schema_diff(self) -> list[Any]:
        return _migrate().schema_diff(self.engine)

    # --- health -----------------------------------------------------------------------------------
    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return True
        except Exception:  # health checks report, they do not raise
            return False

    def health(self) -> dict[str, Any]:
        """For /healthz and the admin page: reachable?, writable?, dialect, masked URL, migration revision vs head."""
        info: dict[str, Any] = {"ok": False, "dialect": self.dialect, "url": self.url, "head": self.head_revision(),
                                "retries": self.retries}
        try:
            info["revision"] = self.current_revision()
        except Exception as exc:  # noqa: BLE001 - reported, not raised
            info["revision"] = None
            info["error"] = str(StoreUnavailable(str(exc).splitlines()[0]))
            return info
        if info["revision"] != info["head"]:
            info["error"] = "schema not at head: run `mathtutor db upgrade`"
            return info
        try:
            self.write_check()  # reads alone pass on a full disk or a read-only database
        except StoreUnavailable as exc:
            info["writable"] = False
            info["error"] = exc.message
            return info
        info["ok"] = info["writable"] = True
        return info


def open_store(settings: Settings, *, upgrade: bool = False, recover: bool = False, **kw: Any) -> Store:
    """A Store on `settings.effective_database_url` with the store settings applied; `upgrade=True`
    runs the migrations to head first (what `mathtutor serve` does for the embedded SQLite);
    `recover=True` then marks sessions left active by dead processes as interrupted (server start-up)."""
    from tutor.store.passwords import make_hasher
    st = settings.store
    options: dict[str, Any] = {
        "sqlite_busy_ms": st.busy_timeout_ms, "sqlite_synchronous": st.sqlite_synchronous,
        "retry_deadline_s": st.retry_deadline_s, "pool_size": st.pool_size, "max_overflow": st.max_overflow,
        "hasher": make_hasher(st.argon2_time_cost, st.argon2_memory_kib)}
    options.update(kw)
    store = Store(settings.effective_database_url, **options)
    store.stale_after_s = st.stale_after_s or None
    store.lock_wait_s = st.lock_wait_s
    if upgrade:
        store.upgrade()
    if recover:
        store.recover_stale()
    return store
