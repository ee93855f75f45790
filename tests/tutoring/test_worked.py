"""A whole worked solution pasted in tutoring mode: the key from the problem's worked reference solution,
the focused question about the first line that goes wrong, the attempt the teacher sees, and mastery."""

from __future__ import annotations

import pytest

from tests.tutoring.world import World, collect, make_student, of_type, tutor_settings
from tutor.errors import BadInput
from tutor.events import AttemptChecked, KeyStatus, MasteryUpdated
from tutor.tutoring.service import TutorService

JULIA = ("Julia bought a pack of spoons. Her husband bought another pack of 5 spoons. Julia used 3 spoons to "
         "sample her stew. When she went to set the table she had 12 spoons. How many spoons were in the "
         "package that Julia bought?")
# the written 16 is wrong on purpose: the key must hold the recomputed 15
REFERENCE = "Julia had 12 + 3 = 16 spoons before she tasted the stew.\nSo her pack had 15 - 5 = 10 spoons.\n#### 10"
WRONG_WORK = ("Julia used 3 spoons to sample her stew, so she had 12 - 3 = 9 spoons left.\n"
              "We know that the total number of spoons is x + 5, so we can set up an equation: x + 5 = 9\n"
              "x = 4")


@pytest.fixture
def service(store, sandbox_pool, tmp_path):
    world = World()
    svc = TutorService.from_settings(tutor_settings(tmp_path), store=store, backend=world.backend(), pool=sandbox_pool)
    svc.world = world
    yield svc
    svc.close()


def _start(service, store):
    user = make_student(store)
    problem = store.create_problem(JULIA, source="dataset", reference_answer=None, reference_solution=REFERENCE)
    events = collect(service.start_session(user.id, problem_id=problem.id, mode="tutor"))
    return user, events[0].session_id, events


def test_the_worked_reference_solution_is_the_key(service, store):
    _, sid, events = _start(service, store)
    status = of_type(events, KeyStatus)[-1]
    assert status.status == "verified" and status.steps == 2
    key = store.solution_key(session_id=sid)
    assert key.source == "reference" and key.answer == "10"
    assert [s["result"] for s in key.steps] == ["15", "10"]          # recomputed, not the written 16
    assert "solve" not in service.world.calls                         # no model solve was needed


def test_pasted_work_gets_a_question_about_its_first_wrong_line(service, store):
    user, sid, _ = _start(service, store)
    events = collect(service.submit(user.id, sid, WRONG_WORK, kind="work"))
    attempt = of_type(events, AttemptChecked)[0]
    assert attempt.attempt_kind == "work" and attempt.verdict == "incorrect" and attempt.first_bad_line == 1
    assert "line 1" in attempt.feedback.lower() and "?" in attempt.feedback
    assert "10" not in attempt.feedback and "15" not in attempt.feedback
    row = store.attempts(sid)[-1]
    assert (row.kind, row.verdict, row.first_bad_line) == ("work", "incorrect", 1)     # for the teacher
    mastery = of_type(events, MasteryUpdated)
    assert mastery and all(m.p_mastery < 0.2 for m in mastery)   # counted like a wrong first step attempt
    assert [h.cause for h in store.mastery_history(user.id, mastery[0].skill)] == ["work"]
    assert not of_type(collect(service.submit(user.id, sid, WRONG_WORK, kind="work")), MasteryUpdated)
    right = of_type(collect(service.submit(user.id, sid, "12 + 3 = 15 spoons\n15 - 5 = 10", kind="work")),
                    AttemptChecked)[0]
    assert right.verdict == "correct" and right.solved and right.first_bad_line is None
    with pytest.raises(BadInput):
        service.submit(user.id, sid, "x", kind="essay")
