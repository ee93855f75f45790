"""Sign-in, sign-out (sessions that really end), CSRF and sign-in backoff over real HTTP against a live
server (SQLite and PostgreSQL)."""

from __future__ import annotations

import re
import time

import pytest

from tests.fixtures.web import PASSWORD, sign_in


def _login_token(client) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def test_sign_in_sets_a_signed_http_only_cookie_and_lands_on_the_student_page(web_factory, db_url):
    web = web_factory(database_url=db_url)
    web.user("ada")
    with web.client() as c:
        token = _login_token(c)
        r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": token, "next": "/"})
        assert r.status_code == 303 and r.headers["location"] == "/tutor/"
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith("mathtutor_session="))
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = c.get("/tutor/")
        assert page.status_code == 200 and "gradio" in page.text.lower()
        me = c.get("/api/me").json()
        assert me["name"] == "ada" and me["role"] == "student" and len(me["csrf_token"]) == 64
        assert web.store.user_by_name("ada").last_seen_at is not None


def test_wrong_password_is_refused_with_a_message_and_no_cookie(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        token = _login_token(c)
        r = c.post("/login", data={"username": "ada", "password": "nope", "csrf_token": token})
        assert r.status_code == 401
        assert "do not match" in r.text
        assert "mathtutor_session" not in c.cookies
        assert c.get("/api/me").status_code == 401


def test_login_form_needs_its_csrf_token(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        _login_token(c)
        r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": "forged"})
        assert r.status_code == 403
        assert "mathtutor_session" not in c.cookies
        # a token from another browser does not work either
        with live_server.client() as other:
            foreign = _login_token(other)
        r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": foreign})
        assert r.status_code == 403


def _try(client, name: str, password: str):
    return client.post("/login", data={"username": name, "password": password, "csrf_token": _login_token(client)})


def test_repeated_failures_back_off_per_name_and_unknown_names_behave_alike(web_factory, db_url):
    web = web_factory(database_url=db_url, web_login_max_failures=3, web_login_client_failures=100,
                      web_login_lockout_s=600)
    web.user("ada")
    with web.client() as c:
        known = [_try(c, "ada", "guess").status_code for _ in range(4)]
        unknown = [_try(c, "nobody", "guess").status_code for _ in range(4)]
        assert known == unknown == [401, 401, 401, 429]   # the fourth try must wait, for either name
        r = _try(c, "ada", PASSWORD)
        assert r.status_code == 429 and "wait 2 seconds" in r.text    # even the right password waits
        assert web.store.user_by_name("ada").locked_until is None      # no account lock in the store
        time.sleep(2.1)
        assert _try(c, "ada", PASSWORD).status_code == 303             # the wait is over: no lock-out


def test_nobody_can_lock_the_admin_out_of_a_browser_they_used_before(web_factory):
    web = web_factory(web_login_max_failures=2, web_login_client_failures=100, web_login_lockout_s=600)
    web.user("root", "admin")
    with web.client() as admin, web.client() as guesser:
        sign_in(admin, "root")
        admin.post("/logout", data={"csrf_token": admin.get("/api/me").json()["csrf_token"]})
        statuses = [_try(guesser, "root", f"guess {i}").status_code for i in range(6)]
        assert statuses[:2] == [401, 401] and 429 in statuses[2:]
        assert _try(guesser, "root", PASSWORD).status_code == 429        # a stranger's browser waits
        assert _try(admin, "root", PASSWORD).status_code == 303          # the admin's own browser does not
        assert _try(guesser, "root", "guess again").status_code == 429    # and gave the guesser no fresh tries


def test_one_client_guessing_many_names_backs_off(web_factory):
    web = web_factory(web_login_max_failures=100, web_login_client_failures=3, web_login_lockout_s=600)
    web.user("ada")
    with web.client() as c:
        statuses = [_try(c, f"name{i}", "guess").status_code for i in range(4)]
        assert statuses == [401, 401, 401, 429]


def test_failed_sign_in_is_delayed(web_factory):
    import time
    web = web_factory(web_login_delay_s=0.6)
    web.user("ada")
    with web.client() as c:
        token = _login_token(c)
        start = time.monotonic()
        c.post("/login", data={"username": "ada", "password": "guess", "csrf_token": token})
        assert time.monotonic() - start >= 0.6


def test_sign_out_needs_csrf_and_ends_the_session(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        token = sign_in(c, "ada")
        assert c.post("/logout").status_code == 403                     # no token: still signed in
        assert c.get("/api/me").status_code == 200
        stolen = c.cookies["mathtutor_session"]
        r = c.post("/logout", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"] == "/login?signed_out=1"
        assert c.get("/api/me").status_code == 401
        assert c.get("/tutor/", headers={"accept": "text/html"}).status_code == 303
    with live_server.client() as replay:
        # a copy of the cookie kept from before signing out is refused at once, not for the next 12 h
        replay.cookies.set("mathtutor_session", stolen)
        assert replay.get("/api/me").status_code == 401
        assert replay.get("/tutor/config").status_code == 401


def test_signing_out_ends_only_that_browsers_session(live_server):
    live_server.user("ada")
    with live_server.client() as laptop, live_server.client() as phone:
        token = sign_in(laptop, "ada")
        sign_in(phone, "ada")
        assert laptop.post("/logout", data={"csrf_token": token}).status_code == 303
        assert phone.get("/api/me").status_code == 200


def test_a_new_password_ends_every_session_made_with_the_old_one(web_factory, db_url):
    web = web_factory(database_url=db_url)
    user = web.user("ada")
    with web.client() as laptop, web.client() as phone:
        sign_in(laptop, "ada")
        sign_in(phone, "ada")
        web.store.set_password(user.id, "a brand new password")
        assert laptop.get("/api/me").status_code == 401
        assert phone.get("/tutor/config").status_code == 401
        sign_in(laptop, "ada", "a brand new password")
        assert laptop.get("/api/me").status_code == 200


def test_a_deactivated_account_is_signed_out_at_once(live_server):
    user = live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        live_server.store.set_active(user.id, False)
        assert c.get("/api/me").status_code == 401
        assert c.get("/tutor/config").status_code == 401


def test_forged_or_tampered_cookies_are_ignored(live_server):
    live_server.user("ada")
    with live_server.client() as c:
        sign_in(c, "ada")
        value = c.cookies["mathtutor_session"]
    with live_server.client() as c:
        c.cookies.set("mathtutor_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
        assert c.get("/api/me").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "/\\evil.example"])
def test_next_never_leaves_the_site(live_server, target):
    live_server.user("ada")
    with live_server.client() as c:
        r = c.post("/login", data={"username": "ada", "password": PASSWORD, "csrf_token": _login_token(c),
                                   "next": target})
        assert r.status_code == 303 and r.headers["location"] == "/tutor/"


def test_production_needs_an_explicit_secret(web_factory):
    from tutor.settings import SettingsError
    with pytest.raises(SettingsError):
        web_factory(serve=False, env="production")
    with pytest.raises(SettingsError, match="published default"):
        web_factory(serve=False, secret_key="dev-insecure-change-me")   # not even in development
    web = web_factory(serve=False, env="production", secret_key="x" * 40)
    assert web.ctx.settings.env == "production"
