"""The key that signs session cookies and CSRF tokens: never a known one.

An explicit MATHTUTOR_SECRET_KEY wins. Otherwise the first start writes a random key to
DATA_DIR/secret_key, readable by the service's user only, and every later start (and every replica
sharing the data dir) reads it back, the way Jupyter keeps its cookie secret. A key that was ever
published as a default is refused everywhere.
"""

from __future__ import annotations

import os
import secrets
import stat
from pathlib import Path

from tutor.settings import Settings, SettingsError

KEY_FILE = "secret_key"
# Defaults earlier versions shipped: anyone could sign cookies with them.
KNOWN_KEYS = frozenset({"dev-insecure-change-me"})
MIN_KEY_CHARS = 32


def secret_key(settings: Settings) -> str:
    """The signing key for this install (see the module docstring); SettingsError for an unusable one."""
    if settings.secret_key:
        key = settings.secret_key
        if key in KNOWN_KEYS:
            raise SettingsError("MATHTUTOR_SECRET_KEY is a published default; set a random value of "
                                f"{MIN_KEY_CHARS}+ characters, or leave it empty to use a generated one")
        if len(key) < MIN_KEY_CHARS and settings.env == "production":
            raise SettingsError(f"MATHTUTOR_SECRET_KEY must be a random value of {MIN_KEY_CHARS}+ characters "
                                "in production")
        return key
    return _key_file(Path(settings.data_dir) / KEY_FILE)


def _key_file(path: Path) -> str:
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            # a link appears whole or not at all: two processes starting at once never read a half-written
            # key, and the one that loses the race uses the winner's
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    info = path.stat()
    if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        # whoever else could read it may already have it; still, stop the leak going on
        os.chmod(path, 0o600)
    key = path.read_text().strip()
    if len(key) < MIN_KEY_CHARS or key in KNOWN_KEYS:
        raise SettingsError(f"{path} holds no usable key ({MIN_KEY_CHARS}+ random characters): delete it to have "
                            "a new one generated (everyone will have to sign in again)")
    return key
