"""Template variants of dataset problems (answers computed two ways, checked against the dataset), and
the teacher's "who needs help now" from what the store holds."""

from __future__ import annotations

import json
import random

import pytest

from tests.fixtures.data import GSM8K
from tutor.practice.progress import needs_help
from tutor.practice.templates import Template
from tutor.practice.variants import from_template

QUESTION = ("Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for "
            "her friends every day with four. She sells the remainder at the farmers' market daily for $2 per "
            "fresh duck egg. How much in dollars does she make every day at the farmers' market?")
SOLUTION = ("Janet sells 16 - 3 - 4 = <<16-3-4=9>>9 duck eggs a day.\n"
            "She makes 9 * 2 = $<<9*2=18>>18 every day at the farmer’s market.\n#### 18")


def test_a_template_variant_has_new_numbers_and_its_answer_computed_from_them():
    variant = Template(QUESTION, SOLUTION, "18").variant(random.Random(3))
    eggs = int(variant.text.split("lay ")[1].split()[0])
    price = int(variant.text.split("for $")[1].split()[0])
    assert (eggs, price) != (16, 2) and "three for breakfast" in variant.text
    assert variant.answer == str((eggs - 7) * price)        # three and four are words: they stay
    assert "give back the dataset's 18" in variant.evidence


def test_a_template_that_does_not_give_back_the_datasets_answer_makes_nothing():
    with pytest.raises(ValueError, match="does not give back"):
        Template(QUESTION, SOLUTION, "19")
    made = from_template(QUESTION, SOLUTION, "19", 3)
    assert made.variants == []
    assert made.discarded == ["no template: the template does not give back the dataset's answer"]


def test_most_gsm8k_problems_make_confirmed_variants():
    rows = [json.loads(line) for line in GSM8K.read_text().splitlines()[:60]]
    made = sum(bool(from_template(r["question"], r["answer"], r["answer"].split("####")[-1].strip().replace(",", ""),
                                  1).variants) for r in rows)
    assert made >= 40


def test_who_needs_help_now(store):
    teacher = store.create_user("tess", "teacher")
    cls = store.create_class("7B", teachers=[teacher.id])
    stuck, hinted, falling, fine = (store.create_user(n, "student", display_name=n.title())
                                    for n in ("sam", "hal", "flo", "fay"))
    for s in (stuck, hinted, falling, fine):
        store.enroll(cls.id, s.id)
    s1 = store.create_session(stuck.id, question="2x + 3 = 17", class_id=cls.id)
    for wrong in ("5", "6", "8"):
        store.record_attempt(s1.id, kind="answer", input=wrong, verdict="incorrect")
    s2 = store.create_session(hinted.id, question="2x + 3 = 17", class_id=cls.id)
    for level in range(1, 7):
        store.record_hint(s2.id, step=1, level=min(level, 4), text="a hint")
    store.record_attempt(s2.id, kind="answer", input="7", verdict="correct")
    params = (0.2, 0.15, 0.2, 0.1)
    for p in (0.9, 0.8, 0.7, 0.55):
        store.update_mastery(falling.id, "fractions", p, correct=False, cause="answer", params=params)
    for p in (0.5, 0.7, 0.9):
        store.update_mastery(fine.id, "fractions", p, correct=True, cause="answer", params=params)
    found = {h.name: h.reasons for h in needs_help(store, cls.id)}
    assert set(found) == {"Sam", "Hal", "Flo"}
    assert found["Sam"] == [f"stuck: 3 wrong tries on session #{s1.id}"]
    assert found["Hal"] == ["many hints: 6 in the last 2 days"]
    assert found["Flo"] == ["falling mastery: fractions 90% → 55%"]
