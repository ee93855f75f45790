"""Signed session cookies and the CSRF tokens derived from them (itsdangerous).

The session cookie carries the user id, a random nonce, the user's session epoch and its signing time
(itsdangerous checks the age). The store decides whether it still holds: signing out records its nonce,
a password change bumps the epoch. The CSRF token is an HMAC of the nonce: a page can only know it if
it was served to this browser, and a new sign-in gets a new nonce. Before sign-in a separate "pre"
cookie holds the nonce that protects the login form itself. A long-lived "device" cookie remembers the
names this browser signed in as, so sign-in backoff for a name does not hold back its own browsers.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import HTTPConnection
from starlette.responses import Response

SESSION_COOKIE = "mathtutor_session"
PRE_COOKIE = "mathtutor_pre"
DEVICE_COOKIE = "mathtutor_device"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PRE_MAX_AGE = 3600
_DEVICE_MAX_AGE = 180 * 86400
_DEVICE_NAMES = 8  # names one browser is remembered for (a shared classroom computer)


@dataclass(frozen=True)
class SessionData:
    user_id: int
    nonce: str
    epoch: int = 0
    issued_at: float = 0.0  # seconds since the epoch, as signed


class SessionCookies:
    def __init__(self, secret_key: str, *, max_age_s: int, secure: bool, samesite: str):
        self._session = URLSafeTimedSerializer(secret_key, salt="mathtutor-session")
        self._pre = URLSafeTimedSerializer(secret_key, salt="mathtutor-pre")
        self._device = URLSafeTimedSerializer(secret_key, salt="mathtutor-device")
        self._csrf_key = hashlib.sha256(("csrf:" + secret_key).encode()).digest()
        self.max_age_s = max_age_s
        self.secure = secure
        self.samesite = samesite

    # --- the signed-in session ----------------------------------------------------------------
    def read(self, conn: HTTPConnection) -> SessionData | None:
        raw = conn.cookies.get(SESSION_COOKIE)
        if not raw:
            return None
        try:
            data, signed_at = self._session.loads(raw, max_age=self.max_age_s, return_timestamp=True)
            return SessionData(int(data["u"]), str(data["n"]), int(data.get("g", 0)), signed_at.timestamp())
        except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
            return None

    def issue(self, response: Response, user_id: int, epoch: int) -> SessionData:
        data = SessionData(user_id, self.new_nonce(), epoch)
        value = self._session.dumps({"u": data.user_id, "n": data.nonce, "g": epoch})
        self._set(response, SESSION_COOKIE, value, self.max_age_s)
        response.delete_cookie(PRE_COOKIE, path="/")
        return data

    def clear(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure, httponly=True, samesite=self.samesite)

    # --- the browser's own sign-ins ---------------------------------------------------------------
    def device(self, conn: HTTPConnection) -> tuple[str, list[str]] | None:
        """(this browser's device nonce, names it signed in as), or None."""
        raw = conn.cookies.get(DEVICE_COOKIE)
        if not raw:
            return None
        try:
            data: Any = self._device.loads(raw, max_age=_DEVICE_MAX_AGE)
            return str(data["d"]), [str(n) for n in data["n"]][:_DEVICE_NAMES]
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def device_for(self, conn: HTTPConnection, name: str) -> str | None:
        """The device nonce if this browser signed in as `name` before (any case)."""
        found = self.device(conn)
        return found[0] if found and name.strip().lower() in found[1] else None

    def remember_device(self, response: Response, conn: HTTPConnection, name: str) -> None:
        found = self.device(conn)
        nonce, names = found if found else (self.new_nonce(), [])
        names = [name.strip().lower()] + [n for n in names if n != name.strip().lower()]
        self._set(response, DEVICE_COOKIE, self._device.dumps({"d": nonce, "n": names[:_DEVICE_NAMES]}),
                  _DEVICE_MAX_AGE)

    # --- the pre-sign-in nonce ----------------------------------------------------------------
    def pre_nonce(self, conn: HTTPConnection) -> str | None:
        raw = conn.cookies.get(PRE_COOKIE)
        if not raw:
            return None
        try:
            return str(self._pre.loads(raw, max_age=_PRE_MAX_AGE))
        except BadSignature:
            return None

    def set_pre(self, response: Response, nonce: str) -> None:
        self._set(response, PRE_COOKIE, self._pre.dumps(nonce), _PRE_MAX_AGE)

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(16)

    # --- CSRF ----------------------------------------------------------------------------------
    def csrf_for(self, nonce: str) -> str:
        return hmac.new(self._csrf_key, nonce.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, nonce: str | None, token: str | None) -> bool:
        if not nonce or not token:
            return False
        return hmac.compare_digest(self.csrf_for(nonce), token)

    def _set(self, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True,
                            secure=self.secure, samesite=self.samesite)
