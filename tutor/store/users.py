"""Users: accounts, roles, argon2 passwords, sign-in with throttling, last seen."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, utcnow
from tutor.store.errors import AlreadyExists, BadInput, NotFound
from tutor.store.models import ROLES, User
from tutor.store.passwords import hash_password, verify
from tutor.store.records import LoginResult, UserRecord, to_record

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
# A fixed hash to verify against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_PASSWORD = "not-a-real-password"


def user_record(row: User) -> UserRecord:
    return to_record(UserRecord, row, has_password=bool(row.password_hash))


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise BadInput(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    return role


def _user(session: Session, user_id: int) -> User:
    row = session.get(User, user_id)
    if row is None:
        raise NotFound(f"no user with id {user_id}")
    return row


def _user_named(session: Session, name: str) -> User:
    row = session.scalar(select(User).where(User.name == name))
    if row is None:
        raise NotFound(f"no user named {name!r}")
    return row


class UsersMixin(StoreBase):
    _dummy_hash: str | None = None

    def create_user(self, name: str, role: str, *, password: str | None = None, display_name: str = "",
                    active: bool = True) -> UserRecord:
        """A new account. Names: letters, digits, `._@-`, up to 64 characters; unique (AlreadyExists)."""
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadInput("user names are 1-64 letters, digits or . _ @ - and start with a letter or digit")
        _check_role(role)
        if len(display_name) > 128:
            raise BadInput("display name is longer than 128 characters")
        pw_hash = hash_password(self.hasher, password) if password is not None else None

        def tx(s: Session) -> UserRecord:
            if s.scalar(select(User.id).where(func.lower(User.name) == name.lower())) is not None:
                raise AlreadyExists(f"a user named {name!r} already exists")
            row = User(name=name, role=role, password_hash=pw_hash, display_name=display_name or name,
                       active=active, failed_logins=0)
            s.add(row)
            s.flush()
            return user_record(row)
        return self._write(tx)

    def get_user(self, user_id: int) -> UserRecord:
        return self._read(lambda s: user_record(_user(s, user_id)))

    def user_by_name(self, name: str) -> UserRecord | None:
        def tx(s: Session) -> UserRecord | None:
            row = s.scalar(select(User).where(User.name == name))
            return None if row is None else user_record(row)
        return self._read(tx)

    def list_users(self, *, role: str | None = None, active: bool | None = None) -> list[UserRecord]:
        def tx(s: Session) -> list[UserRecord]:
            q = select(User).order_by(User.name)
            if role is not None:
                q = q.where(User.role == _check_role(role))
            if active is not None:
                q = q.where(User.active == active)
            return [user_record(r) for r in s.scalars(q)]
        return self._read(tx)

    def _update_user(self, user_id: int, **values: object) -> UserRecord:
        def tx(s: Session) -> UserRecord:
            row = _user(s, user_id)
            for key, value in values.items():
                setattr(row, key, value)
            s.flush()
            return user_record(row)
        return self._write(tx)

    def set_password(self, user_id: int, password: str) -> UserRecord:
        """New password; clears failed sign-ins and any lock, and ends every sign-in made with the old one
        (the session epoch moves on: app/ re-issues a cookie for the user who changed it themselves)."""
        return self._update_user(user_id, password_hash=hash_password(self.hasher, password),
                                 failed_logins=0, locked_until=None, session_epoch=User.session_epoch + 1)

    def set_role(self, user_id: int, role: str) -> UserRecord:
        return self._update_user(user_id, role=_check_role(role))

    def set_active(self, user_id: int, active: bool) -> UserRecord:
        return self._update_user(user_id, active=bool(active))

    def set_display_name(self, user_id: int, display_name: str) -> UserRecord:
        if len(display_name) > 128:
            raise BadInput("display name is longer than 128 characters")
        return self._update_user(user_id, display_name=display_name)

    def touch_user(self, user_id: int) -> None:
        """Record that the user was just seen."""
        self._update_user(user_id, last_seen_at=utcnow())

    def verify_password(self, name: str, password: str) -> UserRecord | None:
        """The active user if `password` is theirs, else None. No throttling: see `login`."""
        def tx(s: Session) -> tuple[UserRecord, str | None] | None:
            row = s.scalar(select(User).where(User.name == name))
            return None if row is None else (user_record(row), row.password_hash)
        found = self._read(tx)
        if found is None:
            verify(self.hasher, self._dummy(), password)
            return None
        user, pw_hash = found
        return user if verify(self.hasher, pw_hash, password) and user.active else None

    def login(self, name: str, password: str, *, max_failures: int = 5, lockout_s: float = 300.0) -> LoginResult:
        """Check a sign-in and keep the throttling state: after `max_failures` wrong passwords in a row
        the account refuses sign-in for `lockout_s` seconds (even with the right password; 0: never,
        the web app backs off per name and client instead, app/throttle.py); a good sign-in resets the
        counter and sets last seen. Unknown names cost the same time as known ones."""
        found = self._read(lambda s: s.execute(select(User.id, User.password_hash).where(User.name == name)).first())
        if found is None:
            verify(self.hasher, self._dummy(), password)
            return LoginResult(False, "bad_credentials")
        user_id, pw_hash = found
        good = verify(self.hasher, pw_hash, password)
        now = utcnow()

        def tx(s: Session) -> LoginResult:
            row = _user(s, user_id)
            if row.locked_until is not None and row.locked_until > now:
                return LoginResult(False, "locked", None, row.locked_until)
            if not good:
                row.failed_logins += 1
                row.last_failed_at = now
                if max_failures > 0 and row.failed_logins >= max_failures:
                    row.locked_until = now + dt.timedelta(seconds=lockout_s)
                    row.failed_logins = 0
                    return LoginResult(False, "locked", None, row.locked_until)
                return LoginResult(False, "bad_credentials")
            if not row.active:
                return LoginResult(False, "inactive")
            row.failed_logins = 0
            row.locked_until = None
            row.last_seen_at = now
            if self.hasher.check_needs_rehash(row.password_hash or ""):
                row.password_hash = self.hasher.hash(password)
            s.flush()
            return LoginResult(True, "ok", user_record(row))
        return self._write(tx)

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self.hasher.hash(_DUMMY_PASSWORD)
        return self._dummy_hash
