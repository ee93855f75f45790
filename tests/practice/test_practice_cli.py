"""`mathtutor practice ...` and `mathtutor learner fit` against a real database: a bank from the
datasets (GSM8K kinds, MATH subjects and levels), template variants confirmed twice, preview and
approval, fixed order, and BKT parameters fitted from a class's history."""

from __future__ import annotations

import json
import random

import pytest
from click.testing import CliRunner

from tests.fixtures.data import GSM8K, SHARED_DATA
from tutor.cli import main
from tutor.store import Store
from tutor.tutoring.learner import BKTParams, update


@pytest.fixture
def run(db_url, monkeypatch):
    monkeypatch.setenv("MATHTUTOR_DATABASE_URL", db_url)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert (result.exit_code == 0) == ok, result.output
        return result
    return invoke


@pytest.fixture
def school(db_url, run):
    run("db", "upgrade")
    store = Store(db_url)
    teacher = store.create_user("tess", "teacher")
    cls = store.create_class("7B", teachers=[teacher.id])
    students = [store.create_user(f"s{i}", "student") for i in range(40)]
    for s in students:
        store.enroll(cls.id, s.id)
    yield store, cls, students
    store.close()


def test_bank_from_datasets_variants_preview_approve_and_order(run, school):
    store, cls, _ = school
    assert "added 30 problems" in run("practice", "load", "--class", "7B", str(GSM8K), "--limit", "30").output
    math = SHARED_DATA / "math_test.jsonl"
    run("practice", "load", "--class", "7B", str(math), "--limit", "5", "--skill", "geometry")
    items = store.practice_items(cls.id)
    kinds = {i.skill for i in items}
    assert "geometry" in kinds and kinds & {"money", "rates", "percentages", "fractions", "time"}
    geometry = [i for i in items if i.skill == "geometry"]
    assert len(geometry) == 5 and all(1 <= i.difficulty <= 5 for i in geometry)
    # loading again adds the next rows, never one already in the bank
    run("practice", "load", "--class", "7B", str(GSM8K), "--limit", "30")
    refs = [store.get_problem(i.problem_id).source_ref for i in store.practice_items(cls.id)]
    assert len(refs) == 65 and len(set(refs)) == 65

    skill = max(kinds - {"geometry"}, key=lambda k: sum(i.skill == k for i in items))
    out = run("practice", "generate", "--class", "7B", "--skill", skill, "--count", "4", "--seed", "3").output
    pending = store.practice_items(cls.id, status="pending")
    assert pending and f"{len(pending)} confirmed" in out
    for item in pending:
        variant, parent = store.get_problem(item.problem_id), store.get_problem(item.parent_problem_id)
        assert variant.text != parent.text and variant.reference_answer
        assert "by SymPy" in item.evidence and "replaying the steps" in item.evidence
    preview = run("practice", "list", "--class", "7B", "--pending").output
    assert "confirmed: template of the dataset solution" in preview
    run("practice", "approve", str(pending[0].id))
    assert store.practice_item(pending[0].id).status == "approved"
    # geometry problems come from MATH, with no worked steps to make a template of: said, nothing stored
    out = run("practice", "generate", "--class", "7B", "--skill", "geometry", "--count", "2").output
    assert "0 confirmed, 2 discarded" in out and "need the model" in out
    run("practice", "order", "--class", "7B", "fixed", "--auto-approve")
    settings = store.practice_settings(cls.id)
    assert settings.order_mode == "fixed" and settings.auto_approve
    assert "no class named" in run("practice", "order", "--class", "nope", "fixed", ok=False).output


def test_learner_fit_from_the_class_history(run, school):
    store, cls, students = school
    assert "no attempt history" in run("learner", "fit", "--class", "7B").output
    truth, p = BKTParams(p_init=0.1, p_learn=0.35, p_guess=0.25, p_slip=0.05), BKTParams()
    rng = random.Random(2)
    for s in students:
        known, estimate = rng.random() < truth.p_init, p.p_init
        for _ in range(10):
            correct = rng.random() < (1 - truth.p_slip if known else truth.p_guess)
            estimate = update(estimate, correct, p)
            store.update_mastery(s.id, "fractions", estimate, correct=correct, cause="answer",
                                 params=(p.p_init, p.p_learn, p.p_guess, p.p_slip))
            known = known or rng.random() < truth.p_learn
    store.update_mastery(students[0].id, "geometry", 0.5, correct=True, cause="answer",
                         params=(p.p_init, p.p_learn, p.p_guess, p.p_slip))
    rows = [json.loads(line) for line in run("learner", "fit", "--class", "7B", "--json").output.splitlines()]
    by_skill = {r["skill"]: r for r in rows}
    assert by_skill["geometry"]["fitted"] is False and by_skill["geometry"]["p_learn"] == p.p_learn
    frac = by_skill["fractions"]
    assert frac["fitted"] and frac["observations"] == 400 and abs(frac["p_learn"] - 0.35) <= 0.12
    (saved,) = store.bkt_fits(cls.id)
    assert saved.skill == "fractions" and saved.p_learn == frac["p_learn"]
