"""Practice through the real tutoring service (real kernels, the scripted model): the next problem
and why, spaced review on a fake clock, and generated variants that are never offered unconfirmed."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tutoring.world import PROBLEM, World, collect, tutor_settings
from tutor.errors import NotFound
from tutor.events import AttemptChecked, SessionStarted
from tutor.practice.service import PracticeService
from tutor.practice.variants import VARIANT_MARK
from tutor.solver.backends import ScriptedBackend
from tutor.tutoring.service import TutorService


class FakeClock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.timezone.utc)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += dt.timedelta(**kw)


@pytest.fixture
def world():
    return World()


@pytest.fixture
def tutor(store, sandbox_pool, world, tmp_path):
    svc = TutorService.from_settings(tutor_settings(tmp_path), store=store, backend=world.backend(), pool=sandbox_pool)
    yield svc
    svc.close()


@pytest.fixture
def school(store):
    teacher = store.create_user("tess", "teacher", password="correct horse battery")
    student = store.create_user("ada", "student", password="correct horse battery")
    cls = store.create_class("7B", teachers=[teacher.id])
    store.enroll(cls.id, student.id)
    return teacher, student, cls


def _bank(practice, teacher, cls, skill, n):
    return [practice.add_problem(teacher, cls.id, PROBLEM, answer="7", skill=skill, difficulty=1 + i)
            for i in range(n)]


def solve(tutor, user_id, problem_id, *, hint_first=False):
    started = collect(tutor.start_session(user_id, problem_id=problem_id))
    sid = next(e for e in started if isinstance(e, SessionStarted)).session_id
    if hint_first:
        collect(tutor.next_hint(user_id, sid))
    checked = [e for e in collect(tutor.submit(user_id, sid, "7")) if isinstance(e, AttemptChecked)]
    assert checked and checked[-1].solved
    return sid


def test_mastered_skill_comes_back_for_review_on_schedule(tutor, store, school, tmp_path):
    teacher, student, cls = school
    clock = FakeClock()
    practice = PracticeService(tutor.settings, store, clock=clock)
    _bank(practice, teacher, cls, "algebra", 4)
    _bank(practice, teacher, cls, "fractions", 3)
    p = practice.defaults
    store.update_mastery(student.id, "algebra", 0.97, correct=True, cause="manual",
                         params=(p.p_init, p.p_learn, p.p_guess, p.p_slip))

    first = practice.next_problem(student.id)
    assert first.reason == "practice" and first.skill == "fractions"
    assert first.why.startswith("You're practising fractions:") and "more to master" in first.why
    solve(tutor, student.id, first.problem_id)
    (algebra,) = [r for r in store.reviews(student.id) if r.skill == "algebra"]
    assert algebra.due_at == clock.now + dt.timedelta(days=1)

    clock.advance(hours=23)
    assert practice.next_problem(student.id).reason != "review"     # not due yet
    clock.advance(hours=1)
    due = practice.next_problem(student.id)
    assert (due.reason, due.skill) == ("review", "algebra") and due.why.startswith("Review:")
    solve(tutor, student.id, due.problem_id)                         # solved with no hint: passed

    clock.advance(minutes=5)
    assert practice.next_problem(student.id).reason != "review"
    (algebra,) = [r for r in store.reviews(student.id) if r.skill == "algebra"]
    assert algebra.stage == 1 and algebra.due_at == clock.now + dt.timedelta(days=3)   # judged when settled

    clock.advance(days=3)
    again = practice.next_problem(student.id)
    assert (again.reason, again.skill) == ("review", "algebra")
    before = store.get_mastery(student.id, "algebra").p_known
    solve(tutor, student.id, again.problem_id, hint_first=True)      # needed a hint: the review failed
    clock.advance(minutes=1)
    practice.next_problem(student.id)
    (algebra,) = [r for r in store.reviews(student.id) if r.skill == "algebra"]
    assert algebra.lapses == 1 and algebra.stage == 0
    assert algebra.due_at == clock.now + dt.timedelta(days=1)        # the shortest interval again
    assert store.get_mastery(student.id, "algebra").p_known < before < 1


def test_fixed_order_and_a_solved_problem_is_not_offered_again(tutor, store, school):
    teacher, student, cls = school
    practice = PracticeService(tutor.settings, store)
    items = _bank(practice, teacher, cls, "fractions", 2)
    practice.set_order(teacher, cls.id, "fixed")
    first = practice.next_problem(student.id)
    assert (first.problem_id, first.reason) == (items[0].problem_id, "fixed")
    solve(tutor, student.id, first.problem_id)
    assert practice.next_problem(student.id).problem_id == items[1].problem_id


def _variant_model(stated: str, solved: str) -> ScriptedBackend:
    def reply(prompt: str) -> str:
        if VARIANT_MARK in prompt:
            return ("Problem: Tom packs 3 bags with 4 apples in each bag. How many apples does he pack?\n"
                    f"```python\nprint(3 * 4)\n```\nSo he packs $\\boxed{{{stated}}}$ apples.")
        return f"Each bag holds 4 apples and there are 3 bags, so the total is $\\boxed{{{solved}}}$."
    return ScriptedBackend(default=reply)


@pytest.mark.parametrize("stated, solved, why", [
    ("13", "12", "the program computes 12 but the variant states 13"),
    ("12", "15", "an independent solve reaches 15"),
])
def test_unconfirmed_variants_are_discarded_and_never_shown(tutor, store, school, stated, solved, why):
    teacher, student, cls = school
    practice = PracticeService(tutor.settings, store)
    _bank(practice, teacher, cls, "fractions", 1)
    practice.set_auto_approve(teacher, cls.id, True)          # even auto-approval shows nothing unconfirmed
    items, discarded = practice.generate(teacher, cls.id, "fractions", 2, backend=_variant_model(stated, solved),
                                         kernel=lambda: tutor.kernels.fresh(0, "variant"))
    assert items == [] and len(discarded) == 2 and all(why in d for d in discarded)
    assert [i for i in store.practice_items(cls.id) if i.origin == "generated"] == []
    offered = practice.next_problem(student.id)
    assert "Tom packs" not in offered.text


def test_confirmed_variant_waits_for_approval_then_is_offered(tutor, store, school):
    teacher, student, cls = school
    practice = PracticeService(tutor.settings, store)
    (source,) = _bank(practice, teacher, cls, "fractions", 1)
    items, discarded = practice.generate(teacher, cls.id, "fractions", 1, backend=_variant_model("12", "12"),
                                         kernel=lambda: tutor.kernels.fresh(0, "variant"))
    assert discarded == [] and len(items) == 1 and items[0].status == "pending"
    variant = store.get_problem(items[0].problem_id)
    assert variant.reference_answer == "12" and "independent" in items[0].evidence
    with pytest.raises(NotFound):                                  # not before a teacher approves it
        tutor.start_session(student.id, problem_id=variant.id)
    solve(tutor, student.id, source.problem_id)
    assert practice.next_problem(student.id) is None
    practice.approve(teacher, items[0].id)
    assert practice.next_problem(student.id).problem_id == variant.id


def test_trivial_steps_and_answers_after_the_bottom_out_earn_no_mastery(tutor, store, school):
    from tutor.events import MasteryUpdated

    teacher, student, cls = school
    store.set_class_settings(cls.id, allow_hint_skip=True)
    started = collect(tutor.start_session(student.id, question=PROBLEM))
    sid = next(e for e in started if isinstance(e, SessionStarted)).session_id
    restated = collect(tutor.submit(student.id, sid, "2x + 3 = 17", kind="step"))
    assert not [e for e in restated if isinstance(e, MasteryUpdated)]          # restating the problem
    trivial = collect(tutor.submit(student.id, sid, "1 = 1", kind="step"))
    assert not [e for e in trivial if isinstance(e, MasteryUpdated)]
    worked = collect(tutor.next_hint(student.id, sid, bottom_out=True))      # the worked step: counts as not knowing
    assert [e.mastered for e in worked if isinstance(e, MasteryUpdated)] == [False]
    before = store.get_mastery(student.id, "algebra").p_known
    answered = collect(tutor.submit(student.id, sid, "7"))
    assert any(isinstance(e, AttemptChecked) and e.solved for e in answered)
    assert not [e for e in answered if isinstance(e, MasteryUpdated)]          # typed after the bottom-out
    assert store.get_mastery(student.id, "algebra").p_known == before
