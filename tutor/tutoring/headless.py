"""One tutoring session without a browser, driven by a script of student actions (`mathtutor tutor`).

One action a line: `hint`, `step: LINE`, `answer: TEXT`, `say: TEXT`, `stop`; blank lines and lines
starting with `#` are skipped. The session runs through the same service the web pages use, on a
throw-away SQLite store, as a student of a class with the default policy.
"""

from __future__ import annotations

import dataclasses
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from tutor.errors import BadInput
from tutor.events import Event

ACTIONS = ("hint", "step", "answer", "say", "stop")


@dataclass(frozen=True)
class Action:
    kind: str       # hint | step | answer | say | stop
    text: str = ""
    line: int = 0


def parse_actions(lines: Iterable[str]) -> list[Action]:
    """The actions of a script, or BadInput naming the first line that is not one."""
    out: list[Action] = []
    for n, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        word, colon, rest = line.partition(":")
        kind, text = word.strip().lower(), rest.strip()
        if kind.split() and kind.split()[0] in ("hint", "stop") and len(kind.split()) > 1:
            kind, text, colon = kind.split()[0], " ".join(kind.split()[1:]), ":"
        if kind not in ACTIONS:
            raise BadInput(f"line {n}: {line[:60]!r} is not an action (expected one of: hint, step: LINE, "
                           "answer: TEXT, say: TEXT, stop)")
        if kind in ("hint", "stop") and (colon and text):
            raise BadInput(f"line {n}: `{kind}` takes no text")
        if kind in ("step", "answer", "say") and not text:
            raise BadInput(f"line {n}: `{kind}:` needs text after the colon")
        out.append(Action(kind, text, n))
    if not out:
        raise BadInput("the script holds no actions")
    return out


@dataclass
class Stopped:
    """Marks where a `stop` action ended the script (not an event the service yields)."""
    line: int


@contextmanager
def throwaway_service(settings: Any, *, backend: Any, pool: Any = None,
                      name: str = "tutor") -> Iterator[tuple[Any, Any, int]]:
    """(service, store, student id): the service the web pages use, on a temporary SQLite store that is
    gone afterwards, with one student in a class of the default policy (no solve mode, no hint skipping).
    `name` only marks the temporary folder, for whoever finds one left behind."""
    from tutor.store import Store
    from tutor.tutoring.service import TutorService

    with tempfile.TemporaryDirectory(prefix=f"mathtutor-{name}-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'tutor.db'}")
        store.upgrade()
        service = TutorService.from_settings(dataclasses.replace(settings, data_dir=Path(tmp)), store=store,
                                             backend=backend, pool=pool)
        try:
            student = store.create_user("student", "student")
            cls = store.create_class(name)
            store.enroll(cls.id, student.id)
            yield service, store, student.id
        finally:
            service.close()
            store.close()


def run_headless(settings: Any, problem: str, actions: list[Action], *, backend: Any, reference: str | None = None,
                 pool: Any = None) -> Iterator[Event | Stopped]:
    """Start a tutoring session on `problem` and play `actions`, yielding every event as it comes."""
    problem = problem.strip()
    if not problem:
        raise BadInput("the problem is empty")
    with throwaway_service(settings, backend=backend, pool=pool) as (service, store, student_id):
        record = store.create_problem(problem, source="dataset", reference_answer=reference or None)
        sid = None
        for ev in service.start_session(student_id, problem_id=record.id, mode="tutor"):
            sid = getattr(ev, "session_id", sid)
            yield ev
        for action in actions:
            if action.kind == "stop":
                service.cancel(student_id, sid)
                yield Stopped(action.line)
                return
            if action.kind == "hint":
                stream = service.next_hint(student_id, sid)
            elif action.kind == "say":
                stream = service.ask(student_id, sid, action.text)
            else:
                stream = service.submit(student_id, sid, action.text, action.kind)
            yield from stream


def describe(ev: Event | Stopped) -> str | None:
    """One readable line for an event (None for the ones a person does not need: streamed text)."""
    if isinstance(ev, Stopped):
        return "■ stopped"
    d = ev.to_dict()
    kind = d["kind"]
    if kind == "session_started":
        return f"session {d['session_id']} ({d['mode']}): {d['question']}"
    if kind == "key_status":
        return f"[key] {d['status']}" + (f", {d['steps']} steps" if d.get("steps") else "") + \
            (f": {d['message']}" if d.get("message") else "")
    if kind == "tutor_message":
        return f"tutor: {d['text']}"
    if kind == "hint":
        return f"hint (step {d['step']}/{d['steps']}, rung {d['level']}{', ' + d['guard'] if d['guard'] != 'passed' else ''}): " \
               f"{d['text']}"
    if kind == "attempt":
        return f"{d['attempt_kind']} {d['input']!r}: {d['verdict']} — {d['feedback']}"
    if kind == "mastery":
        return f"mastery {d['skill']}: {d['p_mastery']:.2f}{' (mastered)' if d['mastered'] else ''}"
    if kind == "error":
        return f"error {d['code']}: {d['message']}"
    if kind in ("text", "round_text", "code", "output", "done"):
        return None
    return f"{kind}: {d}"
