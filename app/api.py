"""The student's JSON API under /api: the same actions as the page, for scripts and the load bench.

Reads are JSON; actions stream their events as NDJSON (one `event.to_dict()` per line) so a client
sees text as it is generated. Every route needs a signed-in user; every POST needs the CSRF token in
the `X-CSRF-Token` header (GET /api/me returns it). A session that is not the caller's is reported
as not found, never as forbidden, so ids cannot be probed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from typing import Any, AsyncIterator, Callable, Iterator

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, Field

from app.context import AppContext
from app.messages import friendly
from tutor.errors import InputTooLong
from tutor.events import ErrorEvent, Event

# Errors found before anything streamed get a real HTTP status instead of a 200 stream.
_EARLY_STATUS = {"rate_limited": 429, "busy": 409, "queue_full": 503, "too_long": 413, "bad_input": 400, "unreadable": 400,
                 "not_found": 404, "forbidden": 403, "mode_not_allowed": 403}


class StartBody(BaseModel):
    question: str | None = None
    problem_id: int | None = None
    mode: str = "tutor"


class TextBody(BaseModel):
    text: str


class HintBody(BaseModel):
    bottom_out: bool = False


class SubmitBody(BaseModel):
    text: str
    kind: str = Field("answer", pattern="^(answer|step|work)$")   # work: a whole worked solution


def jsonable(value: Any) -> Any:
    """Dataclass records (datetimes included) as JSON-safe values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return jsonable(value.to_dict())
        return {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def event_json(event: Event) -> dict[str, Any]:
    data = jsonable(event.to_dict())
    if isinstance(event, ErrorEvent):
        data["message"] = friendly(event.code, event.message)
    return data


def check_length(text: str, limit: int, what: str) -> None:
    if len(text) > limit:
        raise InputTooLong(f"{what} has {len(text)} characters; the limit is {limit}")


def mount(app: FastAPI, ctx: AppContext) -> None:
    router = APIRouter(prefix="/api")
    student = Depends(ctx.require())
    csrf = Depends(ctx.csrf_protect)
    settings = ctx.settings

    async def stream(action: str, user: Any, session_id: int | None,
                     start: Callable[[], Iterator[Event]]) -> Response:
        timing: dict[str, float] = {}
        events = ctx.turns.run(action, user.id, session_id, start, timing)
        try:
            first = await events.__anext__()
        except StopAsyncIteration:
            return JSONResponse({"error": "error", "message": friendly("error")}, status_code=500)
        if isinstance(first, ErrorEvent) and first.code in _EARLY_STATUS:
            await events.aclose()
            return JSONResponse({"error": first.code, "message": friendly(first.code, first.message)},
                                status_code=_EARLY_STATUS[first.code])

        async def lines() -> AsyncIterator[bytes]:
            try:
                yield (json.dumps(event_json(first)) + "\n").encode()
                async for event in events:
                    yield (json.dumps(event_json(event)) + "\n").encode()
            finally:
                await events.aclose()

        # Server-Timing: how long this action waited for a turn slot (what queueing adds under load)
        queue_ms = timing.get("queue_s", 0.0) * 1000
        return StreamingResponse(lines(), media_type="application/x-ndjson",
                                 headers={"cache-control": "no-store", "x-accel-buffering": "no",
                                          "server-timing": f"queue;dur={queue_ms:.1f}"})

    async def owned(user: Any, session_id: int) -> None:
        await asyncio.to_thread(ctx.own_session, user.id, session_id)

    @router.get("/me")
    def me(request: Request, user: Any = student) -> dict[str, Any]:
        return {"id": user.id, "name": user.name, "role": user.role, "csrf_token": ctx.csrf_token(request)}

    @router.get("/sessions")
    async def sessions(user: Any = student) -> Any:
        return jsonable(await asyncio.to_thread(ctx.service.list_sessions, user.id))

    @router.get("/sessions/{session_id}")
    async def session(session_id: int, user: Any = student) -> Any:
        await owned(user, session_id)
        return jsonable(await asyncio.to_thread(ctx.service.open_session, user.id, session_id))

    @router.get("/problems")
    async def problems(user: Any = student) -> Any:
        return jsonable(await asyncio.to_thread(ctx.service.assigned_problems, user.id))

    @router.post("/sessions", dependencies=[csrf])
    async def start(body: StartBody, user: Any = student) -> Response:
        if body.question is not None:
            check_length(body.question, settings.tutoring.max_question_chars, "the question")
        return await stream("start", user, None, lambda: ctx.service.start_session(
            user.id, question=body.question, problem_id=body.problem_id, mode=body.mode))

    @router.post("/sessions/{session_id}/ask", dependencies=[csrf])
    async def ask(session_id: int, body: TextBody, user: Any = student) -> Response:
        check_length(body.text, settings.tutoring.max_message_chars, "the message")
        await owned(user, session_id)
        return await stream("ask", user, session_id, lambda: ctx.service.ask(user.id, session_id, body.text))

    @router.post("/sessions/{session_id}/hint", dependencies=[csrf])
    async def hint(session_id: int, body: HintBody | None = None, user: Any = student) -> Response:
        await owned(user, session_id)
        bottom_out = bool(body and body.bottom_out)
        return await stream("hint", user, session_id,
                            lambda: ctx.service.next_hint(user.id, session_id, bottom_out=bottom_out))

    @router.post("/sessions/{session_id}/submit", dependencies=[csrf])
    async def submit(session_id: int, body: SubmitBody, user: Any = student) -> Response:
        check_length(body.text, settings.tutoring.max_message_chars, "the submission")
        await owned(user, session_id)
        return await stream("submit", user, session_id,
                            lambda: ctx.service.submit(user.id, session_id, body.text, kind=body.kind))

    @router.post("/sessions/{session_id}/cancel", dependencies=[csrf])
    async def cancel(session_id: int, user: Any = student) -> dict[str, bool]:
        await owned(user, session_id)
        stopping = await asyncio.to_thread(ctx.turns.stop, user.id, session_id)
        return {"ok": True, "stopping": bool(stopping)}   # False: nothing was running or waiting

    @app.exception_handler(RequestValidationError)
    async def unreadable(request: Request, exc: RequestValidationError) -> Response:
        return JSONResponse({"error": "unreadable", "message": friendly("unreadable"),
                             "detail": jsonable(exc.errors())[:5]}, status_code=400)

    app.include_router(router)
