"""Everyday behaviour a caller relies on: state persists, errors and results come back clean."""

from __future__ import annotations

import threading

from sandbox import CellResult


def test_state_persists_and_print(sandbox_session):
    assert sandbox_session.run("x = 21").ok
    r = sandbox_session.run("print(x * 2)")
    assert r.stdout == "42\n" and r.error is None and not r.restarted


def test_sympy_solve_gives_text_plain_result(sandbox_session):
    r = sandbox_session.run("from sympy import symbols, solve\nx = symbols('x')\nsolve(x**2 - 4, x)")
    assert r.results == ["[-2, 2]"]
    assert r.stdout == ""


def test_error_has_type_message_and_plain_traceback(sandbox_session):
    r = sandbox_session.run("def f():\n    return 1/0\nf()")
    assert r.error is not None
    assert r.error.type == "ZeroDivisionError"
    assert r.error.message == "division by zero"
    assert "\x1b[" not in r.error.traceback and "f()" in r.error.traceback
    assert not r.timed_out and not r.restarted


def test_stderr_is_separate(sandbox_session):
    r = sandbox_session.run("import sys\nprint('out')\nprint('err', file=sys.stderr)")
    assert r.stdout == "out\n" and r.stderr == "err\n"


def test_to_dict_is_json_ready(sandbox_session):
    import json
    d = sandbox_session.run("print('hi')\n1/0").to_dict()
    assert json.loads(json.dumps(d))["error"]["type"] == "ZeroDivisionError"
    assert set(d) >= {"stdout", "stderr", "error", "timed_out", "restarted", "duration_s", "results", "truncated"}


def test_same_key_same_kernel_other_key_other_kernel(sandbox_pool):
    a = sandbox_pool.acquire("basics-a")
    b = sandbox_pool.acquire("basics-b")
    try:
        assert sandbox_pool.acquire("basics-a") is a
        a.run("secret = 'alpha'")
        r = b.run("print(secret)")
        assert r.error is not None and r.error.type == "NameError"
        assert a.kernel_id != b.kernel_id
    finally:
        sandbox_pool.release("basics-a")
        sandbox_pool.release("basics-b")


def test_sessions_run_concurrently_from_threads(sandbox_pool):
    keys = [f"basics-thread-{i}" for i in range(3)]
    results: dict[str, CellResult] = {}

    def work(key):
        s = sandbox_pool.acquire(key)
        results[key] = s.run("import time\ntime.sleep(1)\nprint('done')")

    threads = [threading.Thread(target=work, args=(k,)) for k in keys]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(results[k].stdout == "done\n" for k in keys)
    finally:
        for k in keys:
            sandbox_pool.release(k)


def test_health_lists_every_layer(sandbox_pool):
    h = sandbox_pool.health()
    assert set(h["layers"]) == {"bwrap", "namespaces", "seccomp", "rlimits", "cgroup", "unprivileged_user"}
    assert h["self_check"]["ok"] is True
    assert h["ok"] is True
