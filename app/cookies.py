"""Signed session cookies and the CSRF tokens derived from them (itsdangerous; no server-side state).

The session cookie carries the user id, a random nonce and its signing time (itsdangerous checks the
age). The CSRF token is an HMAC of the nonce: a page can only know it if it was served to this
browser, and a new sign-in gets a new nonce. Before sign-in a
separate "pre" cookie holds the nonce that protects the login form itself.
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
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_PRE_MAX_AGE = 3600


@dataclass(frozen=True)
class SessionData:
    user_id: int
    nonce: str


class SessionCookies:
    def __init__(self, secret_key: str, *, max_age_s: int, secure: bool, samesite: str):
        self._session = URLSafeTimedSerializer(secret_key, salt="mathtutor-session")
        self._pre = URLSafeTimedSerializer(secret_key, salt="mathtutor-pre")
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
            data: Any = self._session.loads(raw, max_age=self.max_age_s)
            return SessionData(int(data["u"]), str(data["n"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            return None

    def issue(self, response: Response, user_id: int) -> SessionData:
        data = SessionData(user_id, self.new_nonce())
        value = self._session.dumps({"u": data.user_id, "n": data.nonce})
        self._set(response, SESSION_COOKIE, value, self.max_age_s)
        response.delete_cookie(PRE_COOKIE, path="/")
        return data

    def clear(self, response: Response) -> None:
        response.delete_cookie(SESSION_COOKIE, path="/", secure=self.secure, httponly=True, samesite=self.samesite)

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
