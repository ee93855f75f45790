"""The practice facade app/ and the CLI call: the next problem and why, spaced review, the progress a
student sees, and for teachers the bank, generated variants (preview, approve) and fixed order.

Time comes from an injectable clock, so tests move days forward without waiting for them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tutor.errors import BadInput, NotFound
from tutor.practice import catalog, review
from tutor.practice.fit import fitted_params
from tutor.practice.policy import Choice, Item, Learner, choose, to_master
from tutor.tutoring.hints import BOTTOM_OUT
from tutor.tutoring.learner import BKTParams


@dataclass(frozen=True)
class NextProblem:
    problem_id: int
    text: str
    skill: str
    reason: str
    why: str


class PracticeService:
    def __init__(self, settings: Any, store: Any, *, clock: review.Clock = review.system_clock):
        self.settings = settings
        self.store = store
        self.clock = clock
        self.defaults = BKTParams.from_settings(settings.tutoring)

    # --- parameters ---------------------------------------------------------------------------------
    def params_for(self, class_id: int | None, skill: str) -> BKTParams:
        return fitted_params(self.store, class_id, skill, self.defaults)

    def estimates(self, user_id: int) -> dict[str, float]:
        return {m.skill: m.p_known for m in self.store.mastery_of(user_id)}

    # --- the next problem ---------------------------------------------------------------------------
    def _class_ids(self, user_id: int) -> list[int]:
        return [c.id for c in self.store.list_classes(student_id=user_id)]

    def _items(self, class_ids: list[int]) -> list[Item]:
        items: dict[int, Item] = {}
        for cid in class_ids:
            for a in self.store.class_assignments(cid):
                if a.due_at is None:
                    continue
                pids = [a.problem_id] if a.problem_id else [p.id for p in self.store.problems_in_set(a.problem_set_id)]
                for pid in pids:
                    skills = self.store.get_problem(pid).skills or ["word_problems"]
                    items.setdefault(pid, Item(pid, skills[0], assigned=True, due_at=a.due_at))
            for it in self.store.practice_items(cid, status="approved"):
                items.setdefault(it.problem_id, Item(it.problem_id, it.skill, it.difficulty))
        return list(items.values())

    def next_problem(self, user_id: int) -> NextProblem | None:
        """Chosen after a problem ends; recorded with why, so the page can say it."""
        now = self.clock()
        self.sync_reviews(user_id, now)
        class_ids = self._class_ids(user_id)
        items = self._items(class_ids)
        if not items:
            return None
        order = self.store.practice_settings(class_ids[0]).order_mode if class_ids else "adaptive"
        estimates = self.estimates(user_id)
        class_id = class_ids[0] if class_ids else None
        due = [r.skill for r in self.store.reviews(user_id) if r.due_at <= now
               and estimates.get(r.skill, 0.0) >= self.params_for(class_id, r.skill).threshold]
        learner = Learner(estimates=estimates, solved=self.store.solved_problem_ids(user_id), due_reviews=due)
        skills = {i.skill for i in items}
        prereq = {s: catalog.prerequisites(s, skills) for s in skills}
        # one skill's fitted parameters decide its own readiness numbers; the rest use the defaults
        choice = choose(items, learner, self.defaults, order=order, prerequisites=prereq)
        if choice is None:
            return None
        if choice.reason == "practice":
            params = self.params_for(class_id, choice.skill)
            choice = Choice(choice.problem_id, choice.skill, "practice",
                            to_master(estimates.get(choice.skill, params.p_init), params), choice.difficulty)
        why = choice.why()
        self.store.record_pick(user_id, choice.problem_id, skill=choice.skill, reason=choice.reason, why=why)
        return NextProblem(choice.problem_id, self.store.get_problem(choice.problem_id).text, choice.skill,
                           choice.reason, why)

    # --- spaced review --------------------------------------------------------------------------------
    def _outcome(self, user_id: int, pick: Any) -> bool | None:
        """How the picked problem went: True solved without hints, False solved with hints or bottomed
        out, None not over yet."""
        sessions = [s for s in self.store.list_sessions(user_id) if s.problem_id == pick.problem_id
                    and s.started_at >= pick.picked_at]
        if not sessions:
            return None
        latest = sessions[0]
        hints = self.store.hints(latest.id)
        if latest.solved:
            return not hints
        if any(h.level >= BOTTOM_OUT for h in hints):
            return False
        return None

    def sync_reviews(self, user_id: int, now: dt.datetime | None = None) -> None:
        """Settle finished review picks, and start the schedule of every newly mastered skill."""
        now = now or self.clock()
        schedule = {r.skill: r for r in self.store.reviews(user_id)}
        for pick in self.store.picks(user_id, open_only=True):
            outcome = self._outcome(user_id, pick)
            if outcome is None:
                continue
            self.store.settle_pick(pick.id)
            current = schedule.get(pick.skill)
            if pick.reason == "review" and current is not None:
                state = review.after_review(review.ReviewState(current.skill, current.stage, current.due_at,
                                                               current.reviews, current.lapses), outcome, now)
                schedule[pick.skill] = self.store.save_review(user_id, pick.skill, stage=state.stage,
                                                              due_at=state.due_at, reviews=state.reviews,
                                                              lapses=state.lapses)
        for skill, p in self.estimates(user_id).items():
            if p >= self.defaults.threshold and skill not in schedule:
                first = review.first_review(skill, now)
                self.store.save_review(user_id, skill, stage=first.stage, due_at=first.due_at)

    # --- teachers: the bank, variants, order ------------------------------------------------------------
    def _require_teacher(self, actor: Any, class_id: int) -> None:
        """The class's teachers (and admins, and the command line) manage its practice: school rules."""
        from tutor.school.access import require_class
        require_class(self.store, actor, class_id)

    def _audit(self, actor: Any, action: str, class_id: int, **details: Any) -> None:
        from tutor.school.access import audit
        audit(self.store, actor, action, target_type="class", target_id=class_id, **details)

    def add_problem(self, actor: Any, class_id: int, text: str, *, answer: str, skill: str,
                    difficulty: int = 3) -> Any:
        """A teacher-typed problem into the class's bank."""
        self._require_teacher(actor, class_id)
        if not answer or not answer.strip():
            raise BadInput("a practice problem needs its reference answer")
        problem = self.store.create_problem(text, source="teacher", reference_answer=answer.strip(),
                                            reference_set_by=actor.id, skills=[skill], created_by=actor.id)
        item = self.store.add_practice_item(class_id, problem.id, skill=skill, difficulty=difficulty,
                                            origin="teacher", created_by=actor.id)
        self._audit(actor, "practice.add", class_id, problem_id=problem.id, skill=skill)
        return item

    def load_dataset(self, actor: Any, class_id: int, path: str, *, limit: int = 50,
                     skills: tuple[str, ...] = ()) -> list[Any]:
        from tutor.practice.bank import load_into_bank

        self._require_teacher(actor, class_id)
        items = load_into_bank(self.store, class_id, path, limit=limit, skills=skills, created_by=actor.id)
        self._audit(actor, "practice.load", class_id, path=str(path), added=len(items))
        return items

    def set_order(self, actor: Any, class_id: int, order: str) -> Any:
        self._require_teacher(actor, class_id)
        out = self.store.set_practice_settings(class_id, order_mode=order)
        self._audit(actor, "practice.order", class_id, order=order)
        return out

    def set_auto_approve(self, actor: Any, class_id: int, on: bool) -> Any:
        self._require_teacher(actor, class_id)
        return self.store.set_practice_settings(class_id, auto_approve=on)

    def generate(self, actor: Any, class_id: int, skill: str, count: int, *, backend: Any = None,
                 kernel: Any = None, seed: int = 0) -> tuple[list[Any], list[str]]:
        """Variants of the skill's bank problems; only confirmed ones are stored (pending approval
        unless the class auto-approves). Returns (items stored, why each other one was discarded)."""
        from tutor.practice.bank import generate_for_skill

        self._require_teacher(actor, class_id)
        if not 1 <= count <= 50:
            raise BadInput("generate 1-50 variants at a time")
        auto = self.store.practice_settings(class_id).auto_approve
        items, discarded = generate_for_skill(self.store, self.settings, class_id, skill, count, backend=backend,
                                              kernel=kernel, seed=seed, status="approved" if auto else "pending",
                                              created_by=actor.id)
        self._audit(actor, "practice.generate", class_id, skill=skill, stored=len(items), discarded=len(discarded))
        return items, discarded

    def approve(self, actor: Any, item_id: int) -> Any:
        item = self.store.practice_item(item_id)
        self._require_teacher(actor, item.class_id)
        if item.origin == "generated" and not item.evidence:
            raise NotFound("no confirmed variant with that id")
        out = self.store.approve_practice_item(item_id)
        self._audit(actor, "practice.approve", item.class_id, item_id=item_id)
        return out
