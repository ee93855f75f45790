"""The solver's readers of model text on the corpus of replies written the way a 7B model writes
(tests/fixtures/model_replies.jsonl): the final answer, the code to run, whether a round asks for a run."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from tests.fixtures import data as shared_data
from tests.fixtures.model_replies import KINDS, Reply, ids, load
from tutor.solver.answers import extract_answer, last_boxed
from tutor.solver.backends.replay import split_rounds
from tutor.solver.prompt import last_python_block, wants_code_run

REPLIES = load()


def _dataset() -> dict[str, tuple[str, str]]:
    """origin -> (problem, answer) for the shared evaluation sets the corpus draws on."""
    out: dict[str, tuple[str, str]] = {}
    with shared_data.GSM8K.open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            out[f"gsm8k:{row['idx']}"] = (row["question"], row["answer"].split("####")[-1].strip().replace(",", ""))
    with (shared_data.SHARED_DATA / "math500_test.jsonl").open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            out[f"math:{row['unique_id']}"] = (row["problem"], row["answer"])
    with (shared_data.SHARED_DATA / "math_test.jsonl").open(encoding="utf-8") as f:
        for row in map(json.loads, f):
            out[f"math_test:{row['idx']}"] = (row["problem"], last_boxed(row["solution"]) or "")
    return out


def test_the_corpus_is_model_text_on_real_problems():
    assert len(REPLIES) >= 60 and len(set(ids(REPLIES))) == len(REPLIES)
    per_kind = Counter(r.kind for r in REPLIES)
    assert set(per_kind) == set(KINDS) and min(per_kind.values()) >= 4, per_kind
    dataset = _dataset()
    for r in REPLIES:
        if r.origin.startswith("custom:"):
            continue
        problem, answer = dataset[r.origin]
        assert (r.problem, r.reference) == (problem, answer), r.id


@pytest.mark.parametrize("reply", REPLIES, ids=ids(REPLIES))
def test_the_final_answer_is_read_as_the_evaluation_reads_it(reply: Reply):
    found = extract_answer(reply.text)
    got = (found.answer, found.source) if found else (None, None)
    assert got == (reply.expect["answer"], reply.expect["source"])


@pytest.mark.parametrize("reply", REPLIES, ids=ids(REPLIES))
def test_the_code_to_run_is_the_last_complete_python_block(reply: Reply):
    assert last_python_block(reply.text) == reply.expect["code"]


@pytest.mark.parametrize("reply", REPLIES, ids=ids(REPLIES))
def test_each_round_asks_for_a_run_exactly_when_it_ends_in_code(reply: Reply):
    """Cut as the loop sees it (each round ends where the model wrote ```output): every round before an
    output block asks for its cell to run, and that cell is what ran; the last round asks as expected."""
    rounds = split_rounds(reply.text)
    ran = reply.executed_cells()
    if "cells" not in reply.expect:
        assert [last_python_block(r) for r in rounds[:-1]] == ran
    assert all(wants_code_run(r) for r in rounds[:-1])
    assert wants_code_run(rounds[-1]) is reply.expect["run"]
