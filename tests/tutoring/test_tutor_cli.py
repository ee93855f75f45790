"""`mathtutor tutor` (a headless session from a script of actions) and `mathtutor check-hint`, with the
scripted model and real kernels; and the rule they show: an unconfirmed key never grades."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.tutoring.test_key import PRINT_TRUE, WORD_PROBLEM, WRONG_SOLVE
from tests.tutoring.world import PROBLEM, SOLVE, VERIFY_OK, World, collect, make_student, of_type, tutor_settings
from tutor.cli import main
from tutor.events import AttemptChecked
from tutor.tutoring.headless import parse_actions
from tutor.tutoring.service import TutorService
from tutor.errors import BadInput


def script(tmp_path, solve: str, verify: str):
    rules = [
        {"match": "Proposed final answer", "reply": verify},
        {"match": "Which one of these areas", "reply": "arithmetic"},
        {"match": "Socratic method", "reply": "What do you know about the pens?"},
        {"match": "Write ONE short question", "reply": "What does the problem ask you to count?"},
        {"match": "Please integrate natural language reasoning|Please reason step by step", "reply": solve},
    ]
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"rules": rules}))
    return f"scripted:{path}"


def run(args, actions: str) -> list[dict]:
    result = CliRunner().invoke(main, ["tutor", *args, "--actions", "-", "--json"], input=actions)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.fixture(autouse=True)
def one_warm_kernel(monkeypatch):
    monkeypatch.setenv("MATHTUTOR_SANDBOX_WARM_KERNELS", "1")


@pytest.mark.kernel
def test_a_wrong_unconfirmed_key_marks_neither_answer(tmp_path):
    """The model's program adds where it should multiply (15, not 29) and its check is print(True): with
    no reference, neither the right nor the wrong answer is marked; the teacher will check."""
    backend = script(tmp_path, WRONG_SOLVE, PRINT_TRUE)
    events = run(["--backend", backend, "--problem", WORD_PROBLEM], "answer: 29\nanswer: 15\nhint\n")
    answers = [e for e in events if e["kind"] == "attempt" and e["attempt_kind"] == "answer"]
    assert [(e["input"], e["verdict"], e["solved"]) for e in answers] == [("29", "unchecked", False),
                                                                         ("15", "unchecked", False)]
    assert all("teacher will check" in e["feedback"] for e in answers)
    key = next(e for e in events if e["kind"] == "key_status" and e["status"] != "preparing")
    assert key["status"] == "unverified"
    assert any(e["kind"] == "hint" for e in events)   # the tutoring itself goes on


@pytest.mark.kernel
def test_with_a_reference_the_same_key_grades_both_answers_right(tmp_path):
    backend = script(tmp_path, WRONG_SOLVE, PRINT_TRUE)
    events = run(["--backend", backend, "--problem", WORD_PROBLEM, "--reference", "29"], "answer: 15\nanswer: 29\n")
    answers = [(e["input"], e["verdict"]) for e in events if e["kind"] == "attempt"]
    assert answers == [("15", "incorrect"), ("29", "correct")]


@pytest.mark.kernel
def test_every_event_is_printed_and_stop_ends_the_script(tmp_path):
    backend = script(tmp_path, SOLVE, VERIFY_OK)
    result = CliRunner().invoke(main, ["tutor", "--backend", backend, "--problem", PROBLEM, "--actions", "-"],
                                input="# a teacher trying the problem\nsay: where do I start?\nstep: 2x = 14\n"
                                      "stop\nanswer: 7\n")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("session 1 (tutor): Solve for x") and "[key] verified, 2 steps" in out
    assert "tutor: What do you know about the pens?" in out
    assert "step '2x = 14': valid" in out
    assert out.rstrip().endswith("■ stopped") and "answer '7'" not in out


def test_bad_scripts_are_refused_with_the_line(tmp_path):
    with pytest.raises(BadInput, match="line 2: 'jump' is not an action"):
        parse_actions(["hint", "jump", "stop"])
    with pytest.raises(BadInput, match="line 1: `answer:` needs text"):
        parse_actions(["answer:"])
    with pytest.raises(BadInput, match="holds no actions"):
        parse_actions(["", "# nothing"])
    result = CliRunner().invoke(main, ["tutor", "--backend", "scripted", "--problem", PROBLEM, "--actions", "-"],
                                input="hint please\n")
    assert result.exit_code != 0 and "`hint` takes no text" in result.output


def test_check_hint_uses_the_tutors_guard():
    result = CliRunner().invoke(main, ["check-hint", "--answer", "7", "--step-result", "14", "--json",
                                       "Subtracting 3 gives 2x = 14."])
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["leak"] is True and verdict["reason"] == "gives away step 1 result"
    result = CliRunner().invoke(main, ["check-hint", "--answer", "7", "What is being done to x?"])
    assert result.exit_code == 0 and result.stdout.strip() == "no leak"
    result = CliRunner().invoke(main, ["check-hint", "--answer", "7.5", "--json", "It comes to seven point five."])
    assert json.loads(result.stdout)["leak"] is True


def test_an_unmarked_answer_goes_on_the_teachers_review_queue(store, sandbox_pool, tmp_path):
    world = World(solve=WRONG_SOLVE, verify=PRINT_TRUE)
    service = TutorService.from_settings(tutor_settings(tmp_path), store=store, backend=world.backend(),
                                         pool=sandbox_pool)
    try:
        user = make_student(store)
        events = collect(service.start_session(user.id, question=WORD_PROBLEM, mode="tutor"))
        sid = events[0].session_id
        checked = of_type(collect(service.submit(user.id, sid, "29", "answer")), AttemptChecked)
        assert checked[0].verdict == "unchecked" and not checked[0].solved
        reasons = [f.reason for f in store.flags(session_id=sid)]
        assert "key_unverified" in reasons and "answer_unchecked" in reasons
        note = next(f.note for f in store.flags(session_id=sid) if f.reason == "answer_unchecked")
        assert "the student answered: 29" in note
        assert not store.get_session(sid).solved
    finally:
        service.close()
