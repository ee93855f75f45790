"""Bad input gets a clear error result without running anything, and the sandbox keeps serving."""

from __future__ import annotations

import pytest

BAD = [
    ("", "empty cell"),
    ("   \n\t\n", "empty cell"),
    ("x = 1\n" * 20_000, "limit is 100000 bytes"),
    (b"print('caf\xe9')", "not valid UTF-8"),
    ("print('\udcff')", "unpaired surrogates"),
    ("print(1)\x00", "NUL"),
    (12345, "must be text"),
]


@pytest.mark.parametrize("code,message", BAD, ids=["empty", "blank", "too_big", "latin1_bytes", "surrogate",
                                                   "nul", "not_text"])
def test_bad_code_gets_clear_error_and_sandbox_keeps_serving(sandbox_session, code, message):
    sandbox_session.run("kept = 'still here'")
    r = sandbox_session.run(code)
    assert r.error is not None and r.error.type == "InvalidInput"
    assert message in r.error.message
    assert not r.timed_out and not r.restarted and r.stdout == ""
    after = sandbox_session.run("print(kept)")
    assert after.stdout == "still here\n" and not after.restarted


@pytest.mark.parametrize("timeout", [0, -1, float("nan"), float("inf"), "5"])
def test_bad_timeout_is_refused(sandbox_session, timeout):
    r = sandbox_session.run("print(1)", timeout=timeout)
    assert r.error is not None and r.error.type == "InvalidInput" and "timeout" in r.error.message


def test_utf8_bytes_and_unicode_run(sandbox_session):
    assert sandbox_session.run("print('π ≈', 3.14)".encode()).stdout == "π ≈ 3.14\n"
    assert sandbox_session.run("x = 'x' * 99_000\nprint(len(x))").stdout == "99000\n"


def test_bad_session_key_is_refused(sandbox_pool):
    from sandbox import SandboxError
    for key in ("", None, 7):
        with pytest.raises(SandboxError, match="non-empty string"):
            sandbox_pool.acquire(key)
