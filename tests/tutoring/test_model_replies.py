"""The tutoring's readers of model text on the corpus of replies written the way a 7B model writes
(tests/fixtures/model_replies.jsonl): the hint guard, the key's steps read off the executed program,
the skill a tagging reply names, and whether a check program really checks."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.fixtures.model_replies import Reply, ids, load
from tutor.tutoring.guard import check_hint
from tutor.tutoring.key_steps import derive_steps, reasoning_before_cells
from tutor.tutoring.skills import keyword_skill, parse_skill, tag_problem
from tutor.events import CodeOutput
from tutor.tutoring.verification import meaningful_check, verdict_of

GUARDED = load(having="leak")
STEPPED = load(having="steps")
TAGS = load("skill_tag")
CHECKS = load("check_program")


def _same(expected: str, got: str) -> bool:
    from tutor.checking.grader import grade
    return expected == got or bool(grade(expected, got, timeout=10).equivalent)


@pytest.mark.parametrize("reply", GUARDED, ids=ids(GUARDED))
def test_the_guard_refuses_what_gives_the_answer_away_and_passes_real_hints(reply: Reply):
    """Full solutions, hints that solve anyway (in words too), and step values are leaks; a question back,
    an operation to try, and the problem's own numbers are not (the guard is told the problem, as the
    tutor tells it)."""
    key = reply.expect.get("key") or {"answer": reply.reference, "steps": []}
    verdict = check_hint(reply.text, key["answer"], key["steps"], timeout=10, problem=reply.problem)
    assert verdict.leak is reply.expect["leak"], verdict.reason


@pytest.fixture(scope="module")
def kernel(sandbox_pool):
    key = f"model-replies-{uuid.uuid4().hex[:8]}"
    yield sandbox_pool.acquire(key)
    sandbox_pool.release(key)


@pytest.mark.parametrize("reply", STEPPED, ids=ids(STEPPED))
def test_the_key_takes_its_steps_from_the_executed_program(reply: Reply, kernel):
    """Each value the program computed on the way to the answer is a step, in order; its words come from
    the code and the reasoning, never from the value (a description must not give the step away)."""
    derived = derive_steps(reply.executed_cells(), kernel, reply.expect["answer"], max_steps=8, timeout=10,
                           reasoning=reasoning_before_cells(reply.text))
    got = [s.result for s in derived.steps]
    want = reply.expect["steps"]
    assert len(got) == len(want) and all(_same(w, g) for w, g in zip(want, got)), (got, derived.note)
    assert "executed program" in derived.note
    for step in derived.steps:
        assert step.description.strip() and step.expression.strip()
        assert not re.search(rf"(?<![\w.]){re.escape(step.result)}(?![\w.])", step.description), step


@pytest.mark.parametrize("reply", TAGS, ids=ids(TAGS))
def test_a_tagging_reply_names_its_skill_or_the_keywords_decide(reply: Reply):
    want = reply.expect["skill"]
    assert parse_skill(reply.text) == want
    tags = tag_problem(reply.problem, ask_model=lambda question: reply.text)
    assert tags == [want or keyword_skill(reply.problem)]


@pytest.mark.parametrize("reply", CHECKS, ids=ids(CHECKS))
def test_a_check_program_counts_only_when_it_recomputes_from_the_problem(reply: Reply):
    ok, why = meaningful_check(reply.executed_cells(), reply.problem, reply.expect["proposed"])
    assert ok is reply.expect["meaningful"], why


@pytest.mark.parametrize("reply", CHECKS, ids=ids(CHECKS))
def test_a_check_programs_verdict_is_the_last_true_or_false_it_printed(reply: Reply):
    cells = reply.executed_cells()
    printed = re.findall(r"```output\n(.*?)\n```", reply.text, re.S)
    outputs = [CodeOutput(code=code, stdout=out + "\n", stderr="", error=None, timed_out=False, restarted=False,
                          duration_s=0.01, observation=out, round=i) for i, (code, out) in enumerate(zip(cells, printed))]
    verdict, ran = verdict_of(outputs)
    assert verdict is (printed[-1] == "True") and ran == cells
