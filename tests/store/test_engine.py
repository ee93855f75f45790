"""Engine set-up: SQLite file under the data directory in WAL mode with foreign keys on; readers are not
blocked by a writer; a writer that finds the file locked retries until the lock goes away."""

from __future__ import annotations

import sqlite3
import threading

import pytest
from sqlalchemy import text

from tutor.settings import load_settings
from tutor.store import Store, StoreUnavailable, open_store


def test_default_store_is_sqlite_in_the_data_dir_with_wal_and_foreign_keys(_isolated_state):
    settings = load_settings(store_argon2_time_cost=1, store_argon2_memory_kib=1024)
    store = open_store(settings, upgrade=True, recover=True)
    try:
        assert (_isolated_state / "mathtutor.db").exists()
        for name in ("mathtutor.db", "mathtutor.db-wal"):  # learners' data is not world-readable
            assert (_isolated_state / name).stat().st_mode & 0o077 == 0, name
        with store.engine.connect() as conn:
            assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert store.health()["ok"] and store.health()["dialect"] == "sqlite"
        user = store.create_user("fk", "student", password="long enough")
        assert store.login("fk", "long enough").ok
    finally:
        store.close()


def test_sqlite_readers_pass_a_held_write_lock_and_writers_retry_until_it_is_released(tmp_path):
    path = tmp_path / "locked.db"
    store = Store(f"sqlite:///{path}", sqlite_busy_ms=0)
    store.upgrade()
    user = store.create_user("w", "student")
    session = store.create_session(user.id, question="q")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert store.get_user(user.id).name == "w"  # WAL readers are not blocked
        result: dict = {}
        retried = threading.Event()
        count_retry = store._count_retry

        def note_retry(exc: BaseException) -> None:
            count_retry(exc)
            if store.retries >= 2:
                retried.set()
        store._count_retry = note_retry   # the writer says when it has met the lock and tried again
        writer = threading.Thread(target=lambda: result.setdefault("event", store.append_message(session.id, "hi")))
        writer.start()
        assert retried.wait(30)
        assert writer.is_alive() and "event" not in result  # still retrying, nothing lost, nothing raised
        other.execute("COMMIT")
        writer.join(10)
        assert result["event"].seq == 1 and [e.text for e in store.events(session.id)] == ["hi"]
    finally:
        other.close()
        store.close()


def test_a_write_that_stays_locked_past_the_deadline_fails_clearly(tmp_path):
    path = tmp_path / "stuck.db"
    store = Store(f"sqlite:///{path}", sqlite_busy_ms=0, retry_deadline_s=0.3)
    store.upgrade()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.create_user("late", "student")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert store.user_by_name("late") is None
    store.create_user("late", "student")  # and it works once the lock is gone
    store.close()


def test_concurrent_appends_share_commits_and_a_bad_one_fails_alone(store):
    """On SQLite, appends that wait while another commits are committed together (one savepoint each);
    on PostgreSQL each has its own transaction. Either way a refused write fails only its own caller."""
    from tutor.errors import NotFound
    from tutor.events import RoundText
    user = store.create_user("c", "student")
    sessions = [store.create_session(user.id, question=f"q{i}").id for i in range(8)]
    outcomes: dict[tuple[int, int], object] = {}
    barrier = threading.Barrier(9)

    def writer(n: int) -> None:
        barrier.wait()
        for i in range(15):
            target = 987654 if n == 8 and i % 3 == 0 else sessions[n % 8]
            try:
                outcomes[(n, i)] = store.append(target, RoundText(text=f"{n}:{i}", round=i))
            except NotFound as exc:
                outcomes[(n, i)] = exc

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    refused = [k for k, v in outcomes.items() if isinstance(v, NotFound)]
    assert sorted(refused) == [(8, i) for i in range(0, 15, 3)]
    stored = {e.text for sid in sessions for e in store.events(sid)}
    expected = {f"{n}:{i}" for n in range(9) for i in range(15) if (n, i) not in refused}
    assert stored == expected
    for sid in sessions:  # sequence numbers stay gap-free even with refused writes in the same batch
        assert [e.seq for e in store.events(sid)] == list(range(1, len(store.events(sid)) + 1))
    assert all(outcomes[k].text == f"{k[0]}:{k[1]}" for k in outcomes if k not in refused)


def test_health_reports_an_unreachable_database_instead_of_raising():
    store = Store("postgresql+psycopg://postgres@127.0.0.1:1/nowhere")
    try:
        assert store.ping() is False
        info = store.health()
        assert info["ok"] is False and info["revision"] is None and "nowhere" in info["url"]
        assert info["error"]
        with pytest.raises(StoreUnavailable):
            store.get_user(1)
    finally:
        store.close()
