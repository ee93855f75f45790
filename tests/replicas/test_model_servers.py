"""Several model servers behind the openai backend (MATHTUTOR_OPENAI_BASE_URL with commas): requests
spread over the healthy ones; a server that dies is skipped and tried again later; a request on a server
that dies before its first token moves to another, one that dies after it ends with a clear error."""

from __future__ import annotations

import pytest

from tests.fixtures.tiny_model import free_port
from tests.replicas.processes import completions, model_server
from tutor.errors import BackendError
from tutor.settings import load_settings
from tutor.solver.backends import get_backend
from tutor.solver.backends.servers import ServerPool, server_urls
from tutor.solver.prompt import STOP_STRINGS

GOOD = [{"when": "", "code": "print(1)", "answer": "ok"}]
CRASHING = [{"when": "crash before", "code": "print(1)", "answer": "never", "die_after": 0},
            {"when": "crash during", "code": "print(2 + 2)  # a long enough line to need several chunks",
             "answer": "never", "die_after": 2}, *GOOD]


def prompt(text: str) -> str:
    return f"User: {text}\n\nAssistant:"


def ask(backend, text: str):
    stream = backend.complete(prompt(text), stop=STOP_STRINGS, max_tokens=64)
    pieces = list(stream)
    return "".join(pieces), stream.result


@pytest.fixture
def servers(tmp_path):
    # the first crashes on the requests that say so; the second answers everything
    started = [model_server(tmp_path, CRASHING, "crashing"), model_server(tmp_path, GOOD, "good")]
    yield started
    for s in started:
        s.kill()


def backend_for(urls: list[str], **kw):
    settings = load_settings(backend="openai", openai_base_url=",".join(urls), model="scripted",
                             backend_retries=kw.pop("retries", 1), backend_timeout_s=10.0)
    return get_backend(None, settings.solver)


def test_requests_spread_over_both_servers(servers):
    backend = backend_for([f"{s.url}/v1" for s in servers])
    try:
        for _ in range(6):
            text, _ = ask(backend, "fine")
            assert "print(1)" in text
    finally:
        backend.close()
    assert [completions(s) for s in servers] == [3, 3]


def test_a_dead_server_is_skipped_then_tried_again_later(servers):
    dead = f"http://127.0.0.1:{free_port()}/v1"
    backend = backend_for([dead, f"{servers[0].url}/v1"])
    now = [0.0]
    backend.servers = ServerPool(backend.servers.urls, clock=lambda: now[0])
    try:
        for _ in range(4):
            assert "print(1)" in ask(backend, "fine")[0]      # every request answered, none refused
        status = {s["url"]: s for s in backend.servers.status()}
        assert status[dead]["requests"] == 1 and not status[dead]["healthy"]   # tried once, then skipped
        assert completions(servers[0]) == 4
        now[0] += 3.0                                          # its cool-down is over: it is tried again
        assert "print(1)" in ask(backend, "fine")[0]
        assert {s["url"]: s for s in backend.servers.status()}[dead]["requests"] == 2
    finally:
        backend.close()


def test_a_server_dying_before_the_first_token_hands_the_request_to_another(servers):
    crashing, good = servers
    backend = backend_for([f"{crashing.url}/v1", f"{good.url}/v1"])
    try:
        text, result = ask(backend, "crash before")   # the first server exits on this request
        assert "print(1)" in text and result.finish in ("stop", "eos")
    finally:
        backend.close()
    assert crashing.proc.wait(timeout=10) == 3
    assert completions(good) == 1


def test_a_server_dying_mid_reply_ends_the_turn_with_a_clear_error(servers):
    crashing, good = servers
    backend = backend_for([f"{crashing.url}/v1", f"{good.url}/v1"])
    try:
        with pytest.raises(BackendError, match="mid-reply|before the completion finished"):
            ask(backend, "crash during")               # text was streamed: not silently started over elsewhere
        assert "print(1)" in ask(backend, "fine")[0]     # the next request goes to the live server
    finally:
        backend.close()
    assert completions(good) == 1


def test_server_list_setting_is_read_and_checked():
    assert server_urls("http://a:1/v1, http://b:2/v1/") == ("http://a:1/v1", "http://b:2/v1")
    assert load_settings({"MATHTUTOR_OPENAI_BASE_URL": "http://a:1/v1,http://b:2/v1"}).solver.openai_base_url == (
        "http://a:1/v1", "http://b:2/v1")
    for bad, message in [("", "no OpenAI-compatible server"), ("http://a/v1,ftp://b", "must start with http"),
                         ("http://a/v1,http://a/v1", "listed twice")]:
        with pytest.raises(BackendError, match=message):
            server_urls(bad)
