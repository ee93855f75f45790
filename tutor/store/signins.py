"""Sign-ins that can be ended before their cookie expires, and the write probe behind /healthz.

A session cookie names the user, a random nonce and the user's session epoch at sign-in. Signing out
records the nonce (hashed) until the cookie would have expired anyway; a password change (or "sign out
everywhere") bumps the epoch, which ends every cookie issued before it at once.
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.orm import Session

from tutor.store.base import StoreBase, process_owner, utcnow
from tutor.store.errors import StoreUnavailable
from tutor.store.models import SignedOut, User, WriteProbe
from tutor.store.records import UserRecord
from tutor.store.users import user_record


def _nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode("utf-8", "surrogatepass")).hexdigest()


class SigninsMixin(StoreBase):
    def session_user(self, user_id: int, epoch: int, nonce: str) -> UserRecord | None:
        """The active user behind a session cookie, or None when the cookie was signed out, issued
        before the user's last password change, or the user is gone or switched off."""
        def tx(s: Session) -> UserRecord | None:
            row = s.get(User, user_id)
            if row is None or not row.active or row.session_epoch != epoch:
                return None
            if s.scalar(select(exists().where(SignedOut.nonce_hash == _nonce_hash(nonce)))):
                return None
            return user_record(row)
        return self._read(tx)

    def sign_out(self, user_id: int, nonce: str, *, until: dt.datetime) -> None:
        """Refuse this one cookie from now until `until` (when it would expire anyway); forgets
        signed-out cookies that have expired since."""
        def tx(s: Session) -> None:
            now = utcnow()
            s.execute(delete(SignedOut).where(SignedOut.expires_at < now))
            key = _nonce_hash(nonce)
            if s.get(SignedOut, key) is None:
                s.add(SignedOut(nonce_hash=key, user_id=user_id, expires_at=max(until, now)))
        self._write(tx)

    def end_sessions(self, user_id: int) -> int:
        """End every sign-in of this user ("sign out everywhere"); returns the new epoch."""
        def tx(s: Session) -> int:
            s.execute(update(User).where(User.id == user_id).values(session_epoch=User.session_epoch + 1))
            return int(s.scalar(select(User.session_epoch).where(User.id == user_id)) or 0)
        return self._write(tx)

    def write_check(self) -> None:
        """Commit one small write, or raise StoreUnavailable: a database that answers reads can still
        refuse writes (disk full, a read-only file or replica). Not retried: a health probe must
        answer within seconds, not after the store's retry deadline."""
        try:
            with self._write_lock, self._writer() as session, session.begin():
                values = {"at": utcnow(), "by": process_owner()[:128]}
                if session.execute(update(WriteProbe).where(WriteProbe.id == 1).values(**values)).rowcount == 0:
                    session.execute(insert(WriteProbe).values(id=1, **values))
        except Exception as exc:  # noqa: BLE001 - any failure means "cannot write"; the message says which
            first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
            raise StoreUnavailable(f"the database refuses writes: {first[0] if first else type(exc).__name__}") from exc
