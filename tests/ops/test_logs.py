"""Structured logs: with MATHTUTOR_LOG_FORMAT=json each line is one JSON object carrying the id of the web
request it was written for; the id is the proxy's X-Request-ID when sane, else a new one, and is
returned in the answer."""

from __future__ import annotations

import asyncio
import concurrent.futures
import io
import json
import logging
import logging.config

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from app.requestid import RequestId
from tutor.ops.logs import logging_config


@pytest.fixture
def captured():
    """The serve logging config, with its handler writing to a buffer; restored after."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buf = io.StringIO()

    def use(fmt: str) -> io.StringIO:
        config = logging_config(fmt, "info")
        config["handlers"]["main"]["stream"] = buf
        logging.config.dictConfig(config)
        return buf
    yield use
    root.handlers[:], root.level = saved


def app_logging_in_a_thread() -> Starlette:
    log = logging.getLogger("tutor.test")

    async def endpoint(request):
        await asyncio.to_thread(log.info, "checked a step", extra={"session_id": 7})
        return PlainTextResponse("ok")
    return RequestId(Starlette(routes=[Route("/", endpoint)]))


def lines(buf: io.StringIO, logger: str = "tutor.test") -> list[dict]:
    return [d for d in map(json.loads, buf.getvalue().splitlines()) if d["logger"] == logger]


def call(app, headers=None):
    """One request on a fresh event loop in its own thread (the browser tests keep one running in this one)."""
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
            return await client.get("/", headers=headers or {})
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_json_lines_carry_the_request_id_that_the_answer_returns(captured):
    buf = captured("json")
    answer = call(app_logging_in_a_thread(), {"x-request-id": "proxy-id-1234"})
    assert answer.headers["x-request-id"] == "proxy-id-1234"
    [line] = lines(buf)
    assert line["request_id"] == "proxy-id-1234" and line["message"] == "checked a step"
    assert line["level"] == "info" and line["logger"] == "tutor.test" and line["session_id"] == 7
    assert line["time"].endswith("+00:00")


def test_an_unusable_client_id_is_replaced_and_lines_outside_requests_have_none(captured):
    buf = captured("json")
    answer = call(app_logging_in_a_thread(), {"x-request-id": "bad id\twith spaces"})
    rid = answer.headers["x-request-id"]
    assert len(rid) == 32 and rid.isalnum()
    assert lines(buf)[-1]["request_id"] == rid
    logging.getLogger("tutor.test").warning("start-up line")
    assert lines(buf)[-1]["message"] == "start-up line" and "request_id" not in lines(buf)[-1]


def test_text_lines_show_the_request_id_too(captured):
    buf = captured("text")
    answer = call(app_logging_in_a_thread())
    assert f"INFO tutor.test [{answer.headers['x-request-id']}] checked a step" in buf.getvalue()


def test_an_unknown_format_is_refused():
    with pytest.raises(ValueError, match="text or json"):
        logging_config("xml")
