"""No install runs on a known key: the first start generates one into the data dir (owner-only) and
keeps using it; an explicit key wins; a published default is refused; a cookie signed by another
install is refused."""

from __future__ import annotations

import stat

import pytest

from app.secret import KEY_FILE, secret_key
from tests.fixtures.web import sign_in
from tutor.settings import SettingsError, load_settings


def test_first_start_generates_an_owner_only_key_and_keeps_it(tmp_path):
    settings = load_settings(data_dir=tmp_path / "data")
    first = secret_key(settings)
    path = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first) >= 32 and first != "dev-insecure-change-me"
    assert secret_key(load_settings(data_dir=tmp_path / "data")) == first          # a restart reads it back
    assert secret_key(load_settings(data_dir=tmp_path / "other")) != first         # another install differs


def test_a_key_file_others_can_read_is_made_owner_only(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    key = secret_key(settings)
    (tmp_path / KEY_FILE).chmod(0o644)
    assert secret_key(settings) == key
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_an_explicit_key_wins_and_writes_no_file(tmp_path):
    key = "k" * 40
    assert secret_key(load_settings(data_dir=tmp_path, secret_key=key)) == key
    assert not (tmp_path / KEY_FILE).exists()


@pytest.mark.parametrize("env", ["development", "production"])
def test_the_old_public_default_is_refused_everywhere(tmp_path, env):
    with pytest.raises(SettingsError, match="published default"):
        secret_key(load_settings(data_dir=tmp_path, env=env, secret_key="dev-insecure-change-me"))


def test_a_short_or_unreadable_key_file_is_refused_with_what_to_do(tmp_path):
    (tmp_path / KEY_FILE).write_text("short\n")
    with pytest.raises(SettingsError, match="delete it"):
        secret_key(load_settings(data_dir=tmp_path))


def test_a_cookie_signed_by_another_install_is_refused(web_factory):
    one, other = web_factory(), web_factory()
    for web in (one, other):
        web.user("ada")  # the same account on both installs
    with one.client() as c:
        sign_in(c, "ada")
        cookie = c.cookies["mathtutor_session"]
    with other.client() as c:
        c.cookies.set("mathtutor_session", cookie)
        assert c.get("/api/me").status_code == 401
    with one.client() as c:
        c.cookies.set("mathtutor_session", cookie)
        assert c.get("/api/me").status_code == 200
