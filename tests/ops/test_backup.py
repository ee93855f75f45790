"""`mathtutor backup` / `restore`: a backup taken while the app writes restores, into a fresh data dir,
every account, session and event committed before it began (SQLite and PostgreSQL), with the secret key;
a restore never silently overwrites a store that holds data; serve backs up before migrating."""

from __future__ import annotations

import stat
import tarfile
import threading
import time
from pathlib import Path

import pytest

from tests.fixtures.db import create_pg_database, drop_pg_database
from tutor.ops.backup import BackupError, backup, backup_before_upgrade, read_manifest, restore
from tutor.settings import load_settings
from tutor.store import Store
from tutor.store.passwords import make_hasher


def _store(url: str) -> Store:
    return Store(url, hasher=make_hasher(time_cost=1, memory_kib=1024, parallelism=1))


class Writer(threading.Thread):
    """Keeps creating accounts, sessions and events, recording each only once its call returned (committed)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.store = _store(url)
        self.stop = threading.Event()
        self.done: list[tuple[str, int, int]] = []    # (user name, session id, events appended)
        self.lock = threading.Lock()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            i = 0
            while not self.stop.is_set():
                user = self.store.create_user(f"learner{i}", "student", password=f"pw-{i}-long-enough")
                session = self.store.create_session(user.id, question=f"What is {i} + {i}?")
                for n in range(3):
                    self.store.append_message(session.id, f"message {n} of {i}")
                with self.lock:
                    self.done.append((user.name, session.id, 3))
                i += 1
        except BaseException as exc:  # the test reports it
            self.error = exc

    def committed(self) -> list[tuple[str, int, int]]:
        with self.lock:
            return list(self.done)

    def wait_for(self, n: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed()) < n and self.error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.error is None, self.error
        assert len(self.committed()) >= n, "the writer made no progress"


@pytest.fixture
def fresh_url(db_url, tmp_path):
    """Where the restore goes: a fresh data dir's own SQLite file, or a new empty PostgreSQL database."""
    if db_url.startswith("sqlite"):
        yield ""
        return
    name, url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(name)


def test_backup_under_write_load_restores_every_account_session_and_event(db_url, fresh_url, tmp_path):
    from app.secret import secret_key
    live = load_settings(data_dir=tmp_path / "live", database_url=db_url)
    key = secret_key(live)                       # the key file the app generates on first start
    setup = _store(db_url)
    setup.upgrade()
    setup.close()
    writer = Writer(db_url)
    writer.start()
    try:
        writer.wait_for(20)
        before = writer.committed()
        result = backup(live, tmp_path / "backups")
        # the app was not held up: writes go on after the backup as before it
        writer.wait_for(len(writer.committed()) + 10)
    finally:
        writer.stop.set()
        writer.join(60)
        writer.store.close()
    assert writer.error is None, writer.error
    everything = writer.committed()

    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    manifest = read_manifest(result.path)
    assert manifest["secret_key"] is True and manifest["dialect"] == ("sqlite" if db_url.startswith("sqlite") else "postgresql")
    with tarfile.open(result.path) as tar:
        settings_env = tar.extractfile("settings.env").read().decode()
    assert f"MATHTUTOR_DATA_DIR={tmp_path / 'live'}" in settings_env

    fresh = load_settings(data_dir=tmp_path / "fresh", database_url=fresh_url)
    restore(fresh, result.path)
    assert (tmp_path / "fresh" / "secret_key").read_text().strip() == key
    assert stat.S_IMODE((tmp_path / "fresh" / "secret_key").stat().st_mode) == 0o600
    assert (tmp_path / "fresh" / "restored-settings.env").read_text() == settings_env

    restored = _store(fresh.effective_database_url)
    try:
        restored.require_current()
        for name, session_id, n_events in before:
            user = restored.user_by_name(name)
            assert user is not None, f"account {name} lost"
            assert restored.get_session(session_id).user_id == user.id
            texts = [e.data.get("text") for e in restored.events(session_id) if e.kind == "message"]
            assert len(texts) == n_events, f"session {session_id}: {texts}"
        assert restored.verify_password(before[0][0], "pw-0-long-enough") is not None
        # one snapshot: nothing half-written, nothing that was never committed
        names = {u.name for u in restored.list_users()}
        assert names <= {name for name, _, _ in everything}
        assert len(names) >= len(before)
    finally:
        restored.close()


def test_restore_refuses_to_overwrite_a_store_with_data_unless_forced_and_then_saves_it_first(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    store = _store(settings.effective_database_url)
    store.upgrade()
    store.create_user("ada", "student")
    store.close()
    first = backup(settings, tmp_path / "b")
    store = _store(settings.effective_database_url)
    store.create_user("grace", "teacher")     # made after the backup
    store.close()
    with pytest.raises(BackupError, match="--force"):
        restore(settings, first.path)
    store = _store(settings.effective_database_url)
    assert store.user_by_name("grace") is not None   # refused means untouched
    store.close()

    done = restore(settings, first.path, force=True)
    store = _store(settings.effective_database_url)
    assert store.user_by_name("ada") is not None and store.user_by_name("grace") is None
    store.close()
    saved = [c for c in done.commands if c.startswith("saved the current state first")]
    assert saved, done.commands
    # the store that was replaced is in the backup taken first, grace included
    other = load_settings(data_dir=tmp_path / "other")
    restore(other, Path(saved[0].rsplit(": ", 1)[1]))
    store = _store(other.effective_database_url)
    assert store.user_by_name("grace") is not None
    store.close()


def test_a_damaged_or_foreign_archive_changes_nothing(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    bogus = tmp_path / "bogus.tar.gz"
    bogus.write_bytes(b"not a tar file")
    with pytest.raises(BackupError, match="not a mathtutor backup"):
        restore(settings, bogus)
    pg = load_settings(data_dir=tmp_path / "data", database_url="postgresql+psycopg://u@127.0.0.1:1/x")
    store = _store(settings.effective_database_url)
    store.upgrade()
    store.close()
    made = backup(settings, tmp_path / "b")
    with pytest.raises(BackupError, match="holds a sqlite store but the configured store is postgresql"):
        restore(pg, made.path)


def test_serve_backs_up_an_existing_store_before_migrating_it_and_not_a_blank_or_current_one(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    store = _store(settings.effective_database_url)
    try:
        assert backup_before_upgrade(settings, store) is None          # blank: nothing to save
        store.upgrade("0001")
        taken = backup_before_upgrade(settings, store)
        assert taken is not None and taken.manifest["revision"] == "0001"
        assert taken.path.parent == tmp_path / "data" / "backups"
        store.upgrade()
        assert backup_before_upgrade(settings, store) is None          # current: nothing to do
    finally:
        store.close()
