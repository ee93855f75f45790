"""Two `mathtutor serve` replicas on one PostgreSQL database and two model servers, all real processes.

A student starts a solve session on replica A (defining variables in the kernel) and continues on B,
where the variables are there (B rebuilt the kernel by replaying the recorded cells). A model server is
stopped; turns go on through the other. A turn on A is cut off by SIGKILL while the student's next
action goes to B: B waits for A's lock, finds A's action unfinished, marks it interrupted, and carries
on with everything A committed (the cell of the cut-off turn too)."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import pytest

from tests.fixtures.db import create_pg_database, drop_pg_database
from tests.fixtures.web import PASSWORD, sign_in
from tests.replicas.processes import completions, model_server, replica
from tutor.store import Store
from tutor.store.passwords import make_hasher

pytestmark = [pytest.mark.postgres, pytest.mark.kernel, pytest.mark.slow]

RULES = [
    {"when": "Define a and b", "code": "a = 6\nb = 7\nprint(a * b)", "answer": "So $ab = \\boxed{42}$."},
    {"when": "their sum", "code": "print(a + b)", "answer": "The sum is $\\boxed{13}$."},
    # the turn that is cut off: its cell runs and is recorded, then the reply streams for a minute
    {"when": "hundred more", "code": "c = a * b + 100\nprint(c)",
     "answer": "Now let me explain very slowly why that is. " * 40 + "$\\boxed{142}$", "slow_s": 60},
    {"when": "carry on", "code": "print(c - a)", "answer": "That gives $\\boxed{136}$."},
]


def outputs(events: list[dict]) -> list[str]:
    return [e["stdout"].strip() for e in events if e["kind"] == "output"]


def post(client: httpx.Client, path: str, token: str, body: dict) -> list[dict]:
    r = client.post(path, json=body, headers={"x-csrf-token": token})
    assert r.status_code == 200, r.text
    return [json.loads(line) for line in r.text.splitlines() if line.strip()]


@pytest.fixture
def database():
    name, url = create_pg_database(migrated=True)
    yield url
    drop_pg_database(name)


def test_any_replica_continues_any_session_and_survives_a_killed_replica(tmp_path, database):
    store = Store(database, hasher=make_hasher(1, 1024, 1))
    procs: list[Any] = []
    try:
        student = store.create_user("ada", "student", password=PASSWORD)
        cls = store.create_class("algebra", allow_solve_mode=True)
        store.enroll(cls.id, student.id)
        models = [model_server(tmp_path, RULES, f"model-{i}") for i in range(2)]
        procs += models
        urls = [f"{m.url}/v1" for m in models]
        a = replica(tmp_path, "replica-a", database, urls)
        procs.append(a)
        b = replica(tmp_path, "replica-b", database, urls)
        procs.append(b)
        to_a = httpx.Client(base_url=a.url, timeout=120, headers={"origin": a.url})
        token = sign_in(to_a, "ada")
        # the load balancer may send her next request anywhere: same cookie, another replica
        to_b = httpx.Client(base_url=b.url, timeout=120, headers={"origin": b.url}, cookies=to_a.cookies)

        first = post(to_a, "/api/sessions", token, {"question": "Define a and b and multiply them.", "mode": "solve"})
        sid = first[0]["session_id"]
        assert outputs(first) == ["42"], [e for e in first if e["kind"] != "text"]

        second = post(to_b, f"/api/sessions/{sid}/ask", token, {"text": "Now print their sum."})
        assert outputs(second) == ["13"], second      # a and b were there on B: its kernel was rebuilt
        rebuilt = [e.data for e in store.events(sid) if e.kind == "kernel_rebuilt"]
        assert rebuilt and rebuilt[-1]["cells"] == 1 and rebuilt[-1]["mismatches"] == []
        assert {completions(m) for m in models} == {2}   # four generations, spread over both servers

        models[0].kill()                                  # a model server dies between turns

        seen: list[dict] = []
        cell_ran = threading.Event()

        def cut_off_turn() -> None:
            try:
                with to_a.stream("POST", f"/api/sessions/{sid}/ask", json={"text": "Make c a hundred more."},
                                 headers={"x-csrf-token": token}) as r:
                    for line in r.iter_lines():
                        seen.append(json.loads(line))
                        if seen[-1]["kind"] == "text" and outputs(seen):
                            cell_ran.set()      # the cell ran and the slow reply is streaming
            except httpx.HTTPError:
                pass                            # the replica was killed under the stream
            finally:
                cell_ran.set()

        turn = threading.Thread(target=cut_off_turn)
        turn.start()
        assert cell_ran.wait(120) and outputs(seen) == ["142"], seen
        committed = [(e.seq, e.kind) for e in store.events(sid)]

        third: dict[str, Any] = {}
        sent = threading.Event()

        def next_action_on_b() -> None:
            with httpx.Client(base_url=b.url, timeout=180, headers={"origin": b.url}, cookies=to_a.cookies) as c:
                sent.set()
                third["events"] = post(c, f"/api/sessions/{sid}/ask", token, {"text": "Please carry on."})

        action = threading.Thread(target=next_action_on_b)
        action.start()
        sent.wait(30)
        a.kill()                                          # mid-turn: the slow reply was still streaming
        turn.join(60)
        action.join(180)
        assert not action.is_alive()

        events = third["events"]
        assert outputs(events) == ["136"], events         # c from the cut-off turn was replayed on B
        assert [e["answer"] for e in events if e["kind"] == "answer"] == ["136"]
        after = store.events(sid)
        assert [(e.seq, e.kind) for e in after[:len(committed)]] == committed   # nothing committed was lost
        tail = [e.kind for e in after[len(committed):]]
        assert tail.index("interrupted") < tail.index("resumed") < tail.index("message")
        assert "interrupted" in [f.reason for f in store.flags(session_id=sid)]
        assert [c.stdout.strip() for c in store.code_cells(sid, include_private=False)] == ["42", "13", "142", "136"]
        session = store.get_session(sid)
        assert session.status == "active" and session.owner is None   # no action in flight any more
        assert completions(models[1]) >= 4               # the surviving model server took every later turn
        view = to_b.get(f"/api/sessions/{sid}").json()   # the student's transcript says it was interrupted
        assert "interrupted" in [e["kind"] for e in view["events"]]
    finally:
        for p in procs:
            p.kill()
        store.close()
