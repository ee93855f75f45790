"""`mathtutor backup` / `mathtutor restore`: one archive holding the store, the secret key and the settings.

SQLite is copied with its online backup API, so the copy is one consistent snapshot even while the
app writes (WAL lets writers go on during the copy). PostgreSQL is dumped with `pg_dump --format=custom`
and restored with `pg_restore`; both must be installed (they come with the postgresql client package).
Restoring over a store that holds data is refused unless forced, and then that store is backed up first,
so a mistaken restore loses nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from sqlalchemy.engine import URL, make_url

from tutor.errors import TutorError
from tutor.settings import Settings, iter_values

FORMAT = 1
SECRET_KEY_FILE = "secret_key"          # the file app/secret.py generates in the data dir
SQLITE_MEMBER, PG_MEMBER = "mathtutor.db", "store.pgdump"
COUNTED_TABLES = ("users", "tutor_sessions", "events")


class BackupError(TutorError):
    code = "backup_failed"


@dataclass
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    commands: list[str] = field(default_factory=list)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S-%f")


def default_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "backups"


def sqlite_path(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("an in-memory SQLite store cannot be backed up")
    return Path(parsed.database).expanduser()


# --- PostgreSQL tools -------------------------------------------------------------------------------
def pg_target(url: str) -> tuple[str, dict[str, str]]:
    """(libpq URI without the password, environment with PGPASSWORD): the password never goes on argv."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    uri = URL.create("postgresql", username=parsed.username, host=parsed.host, port=parsed.port,
                     database=parsed.database, query=parsed.query).render_as_string(hide_password=False)
    return uri, env


def pg_dump_argv(url: str, out: Path) -> list[str]:
    return ["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}", f"--dbname={pg_target(url)[0]}"]


def pg_restore_argv(url: str, dump: Path) -> list[str]:
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges", "--exit-on-error",
            f"--dbname={pg_target(url)[0]}", str(dump)]


def _run_tool(argv: list[str], url: str) -> None:
    if shutil.which(argv[0]) is None:
        raise BackupError(f"{argv[0]} is not installed: install the PostgreSQL client tools of the server's version "
                          f"(e.g. apt install postgresql-client), or run it yourself: {' '.join(argv)}")
    proc = subprocess.run(argv, env=pg_target(url)[1], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BackupError(f"{argv[0]} failed ({proc.returncode}): {proc.stderr.strip()[:500]}")


# --- what goes beside the store ---------------------------------------------------------------------
def settings_text(settings: Settings) -> str:
    """The settings in effect as an environment file; secret values are named, never copied."""
    lines = ["# settings in effect when this backup was taken (secret values are not copied)"]
    for name, value, secret in iter_values(settings):
        if secret:
            lines.append(f"# {name} is {'set' if value else 'empty'} (secret: not copied)")
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, (tuple, list)):
            value = ",".join(map(str, value))
        lines.append(f"{name}={value}")
    return "\n".join(lines) + "\n"


def count_rows(conn_execute: Callable[[str], Any]) -> dict[str, int]:
    return {t: int(conn_execute(f"SELECT count(*) FROM {t}")) for t in COUNTED_TABLES}


def _sqlite_counts(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as conn:
        return count_rows(lambda sql: conn.execute(sql).fetchone()[0])


def _copy_sqlite(src: Path, dst: Path) -> None:
    if not src.exists():
        raise BackupError(f"there is no SQLite store at {src}")
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dst)
    try:
        source.backup(target)      # every page in one step: one read transaction, one snapshot
        target.execute("PRAGMA journal_mode=DELETE")   # one self-contained file in the archive
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        raise BackupError(f"the copy of {src} failed SQLite's integrity check: {check}")


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    info.mtime = int(dt.datetime.now().timestamp())
    tar.addfile(info, io.BytesIO(data))


# --- backup -----------------------------------------------------------------------------------------
def backup(settings: Settings, to: Path | None = None, *, revision: str | None = None,
           reason: str = "manual") -> BackupResult:
    """Write DIR/mathtutor-backup-<UTC time>.tar.gz (owner-only) and return its path and manifest."""
    url = settings.effective_database_url
    to = Path(to) if to else default_dir(settings)
    to.mkdir(parents=True, exist_ok=True)
    stamp = _now()
    path = to / f"mathtutor-backup-{stamp}.tar.gz"
    manifest: dict[str, Any] = {"format": FORMAT, "created_at": stamp, "reason": reason, "revision": revision,
                                "dialect": make_url(url).get_backend_name(), "secret_key": False}
    commands: list[str] = []
    with tempfile.TemporaryDirectory(dir=to, prefix=".backup-") as tmp:
        db = sqlite_path(url)
        if db is not None:
            member, copy = SQLITE_MEMBER, Path(tmp) / SQLITE_MEMBER
            _copy_sqlite(db, copy)
            manifest["counts"] = _sqlite_counts(copy)
        else:
            member, copy = PG_MEMBER, Path(tmp) / PG_MEMBER
            argv = pg_dump_argv(url, copy)
            commands.append(" ".join(argv))
            _run_tool(argv, url)
        manifest["store"] = member
        key = Path(settings.data_dir) / SECRET_KEY_FILE
        partial = Path(tmp) / "archive"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            tar.add(copy, member, filter=_private)
            if key.exists():
                _add(tar, SECRET_KEY_FILE, key.read_bytes())
                manifest["secret_key"] = True
            _add(tar, "settings.env", settings_text(settings).encode())
            _add(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, path)   # a backup appears whole or not at all
    return BackupResult(path, manifest, commands)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


def backup_before_upgrade(settings: Settings, store: Any) -> BackupResult | None:
    """`serve`'s safety net: a store that exists and is behind the code's schema is backed up before
    the migrations touch it. A blank store (no revision) and a current one need nothing."""
    current, head = store.current_revision(), store.head_revision()
    if current is None or current == head:
        return None
    return backup(settings, revision=current, reason=f"before migrating {current} -> {head}")


# --- restore ----------------------------------------------------------------------------------------
def read_manifest(archive: Path) -> dict[str, Any]:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile("manifest.json")
            manifest = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{archive} is not a mathtutor backup: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has no manifest of format {FORMAT}")
    return manifest


def store_has_data(url: str) -> bool:
    """Whether the database at `url` has any table (a store that ran once has its schema and an admin)."""
    db = sqlite_path(url)
    if db is not None and (not db.exists() or db.stat().st_size == 0):
        return False
    from sqlalchemy import create_engine, inspect
    engine = create_engine(url if db is not None else make_url(url).set(drivername="postgresql+psycopg"))
    try:
        return bool(inspect(engine).get_table_names())
    except Exception as exc:  # noqa: BLE001 - unreachable is reported in words, not a traceback
        raise BackupError(f"cannot open the configured store: {str(exc).splitlines()[0]}") from None
    finally:
        engine.dispose()


def restore(settings: Settings, archive: Path, *, force: bool = False) -> BackupResult:
    """Put the archive's store, secret key and settings file into this install. Over a store that
    already holds anything `force` is required, and a backup of it is taken before it is replaced."""
    archive = Path(archive)
    manifest = read_manifest(archive)
    url = settings.effective_database_url
    dialect = make_url(url).get_backend_name()
    if manifest["dialect"] != dialect:
        raise BackupError(f"this backup holds a {manifest['dialect']} store but the configured store is {dialect}: "
                          "restore into a store of the same kind (MATHTUTOR_DATABASE_URL)")
    data_dir = Path(settings.data_dir)
    key_path = data_dir / SECRET_KEY_FILE
    result = BackupResult(archive, manifest)
    if store_has_data(url) or (key_path.exists() and manifest["secret_key"] and key_path.read_bytes() != _member(
            archive, SECRET_KEY_FILE)):
        if not force:
            raise BackupError("the configured store or data dir already holds data; stop the service and use --force "
                              "to replace it (a backup of what is there is taken first)")
        result.commands.append(f"saved the current state first: {backup(settings, reason='before restore').path}")
    data_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=data_dir, prefix=".restore-") as tmp, tarfile.open(archive, "r:gz") as tar:
        tar.extractall(tmp, members=[m for m in tar.getmembers() if m.name in
                                     (manifest["store"], SECRET_KEY_FILE, "settings.env")], filter="data")
        extracted = Path(tmp) / manifest["store"]
        db = sqlite_path(url)
        if db is not None:
            _check_sqlite(extracted)
            db.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("-wal", "-shm"):   # the old file's journal must not be replayed onto the new one
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            os.chmod(extracted, 0o600)
            os.replace(extracted, db)
        else:
            argv = pg_restore_argv(url, extracted)
            result.commands.append(" ".join(argv))
            _run_tool(argv, url)
        if manifest["secret_key"]:
            os.chmod(Path(tmp) / SECRET_KEY_FILE, 0o600)
            os.replace(Path(tmp) / SECRET_KEY_FILE, key_path)
        os.chmod(Path(tmp) / "settings.env", 0o600)
        os.replace(Path(tmp) / "settings.env", data_dir / "restored-settings.env")
    return result


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        member = tar.extractfile(name)
        return member.read() if member else b""


def _check_sqlite(path: Path) -> None:
    try:
        with sqlite3.connect(path) as conn:
            check = conn.execute("PRAGMA integrity_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        check = str(exc)
    if check != "ok":
        raise BackupError(f"the store in this backup is damaged ({check}); nothing was changed")
