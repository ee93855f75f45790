"""The web page (through the tutoring service) and `mathtutor check-step` judge the same work alike."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.tutoring.world import PROBLEM, World, collect, make_student, of_type, tutor_settings
from tutor.checking.steps import carried
from tutor.cli import main
from tutor.events import AttemptChecked
from tutor.tutoring.service import TutorService

TIMEOUT_S = 20  # per line, generous on a loaded box: both paths must get a verdict, not a timeout

# (work submitted from a fresh start on PROBLEM, verdict, 1-based first failing line of multi-line work)
WORK = [
    (r"2x + 3 - 3 = 17 - 3 \\ 2x = 14", "valid", None),    # a LaTeX line break splits one typed line
    ("2x = 17 - 3\n= 14\n= 7 * 2", "valid", None),           # `= ...` continues the line before
    (r"2x &= 17 - 3 \\ &= 14 \\ x &= 7", "valid", None),       # ... which then reads `2x = 14`
    ("2x = 17 - 3\n= 15", "invalid", 2),
    ("2x = 14\nx = 6", "invalid", 2),
    ("2x &= 14 \\\\\nx &= 7", "valid", None),                 # LaTeX alignment marks and a break with a newline
    ("x = 7", "valid", None),
    ("garbage ]]", "unreadable", None),
]


@pytest.fixture
def service(store, sandbox_pool, tmp_path):
    svc = TutorService.from_settings(tutor_settings(tmp_path, grader_timeout_s=TIMEOUT_S), store=store,
                                     backend=World().backend(), pool=sandbox_pool)
    yield svc
    svc.close()


def _check_step(work: str) -> tuple[str, int | None]:
    out = CliRunner().invoke(main, ["check-step", "--problem", PROBLEM, "--timeout", str(TIMEOUT_S), "--json", work])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    first_bad = data.get("first_bad_line")  # counted from 0; absent when there is one line
    return data["verdict"], None if first_bad is None else first_bad + 1


def test_the_service_and_check_step_give_the_same_verdict(service, store):
    user = make_student(store)
    # an assigned problem: its verified key is prepared once and reused by every fresh session below
    problem = store.create_problem(PROBLEM, reference_answer="7", created_by=store.create_user("tom", "teacher").id)
    store.assign(store.class_by_name(f"class-{user.name}").id, problem_id=problem.id)
    for work, verdict, first_bad in WORK:
        sid = collect(service.start_session(user.id, problem_id=problem.id, mode="tutor"))[0].session_id
        checked = of_type(collect(service.submit(user.id, sid, work, kind="step")), AttemptChecked)[0]
        multi_line = checked.first_bad_line if first_bad is not None else None
        assert (checked.verdict, multi_line) == (verdict, first_bad), work
        assert _check_step(work) == (verdict, first_bad), work


def test_later_work_follows_on_from_a_continued_line():
    """What the session carries over to the next submission: `2x = 17 - 3` then `= 14` says `2x = 14`."""
    assert carried(["2x = 17 - 3", "= 14"]) == "2x = 14"
    assert carried(["3*4 + 2", "= 14"]) == "14"
    assert carried([r"x + 1 \le 3 + 4 \\ &= 7"]) == r"x + 1 \le 7"
    assert carried([r"2x + 3 - 3 = 17 - 3 \\ 2x = 14"]) == "2x = 14"
    assert carried([]) is None
