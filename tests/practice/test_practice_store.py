"""The practice tables in the store (SQLite and PostgreSQL): bad input refused clearly, a problem once
per bank, settings defaults, and a deleted learner's picks and review schedule gone with them."""

from __future__ import annotations

import datetime as dt

import pytest

from tutor.errors import BadInput, NotFound
from tutor.store import AlreadyExists


def test_bank_items_settings_and_bad_input(store):
    cls = store.create_class("7B")
    problem = store.create_problem("What is 1 + 1?", reference_answer="2")
    item = store.add_practice_item(cls.id, problem.id, skill="arithmetic", difficulty=1)
    assert (item.status, item.origin) == ("approved", "teacher")
    with pytest.raises(AlreadyExists):
        store.add_practice_item(cls.id, problem.id, skill="arithmetic")
    with pytest.raises(BadInput, match="difficulty is 1-5"):
        store.add_practice_item(cls.id, problem.id, skill="arithmetic", difficulty=6)
    with pytest.raises(BadInput, match="origin is one of"):
        store.add_practice_item(cls.id, problem.id, skill="arithmetic", origin="internet")
    with pytest.raises(BadInput, match="needs a skill"):
        store.add_practice_item(cls.id, problem.id, skill="  ")
    with pytest.raises(NotFound):
        store.approve_practice_item(9999)
    assert store.practice_settings(cls.id).order_mode == "adaptive"
    with pytest.raises(BadInput, match="practice order"):
        store.set_practice_settings(cls.id, order_mode="alphabetical")
    assert store.set_practice_settings(cls.id, order_mode="fixed").order_mode == "fixed"
    assert store.in_practice_bank([cls.id], problem.id) and not store.in_practice_bank([], problem.id)


def test_a_deleted_learner_takes_picks_and_reviews_along(store):
    user = store.create_user("ada", "student")
    problem = store.create_problem("What is 1 + 1?", reference_answer="2")
    store.record_pick(user.id, problem.id, skill="arithmetic", reason="practice", why="You're practising arithmetic")
    due = dt.datetime(2026, 3, 3, tzinfo=dt.timezone.utc)
    store.save_review(user.id, "arithmetic", stage=0, due_at=due)
    assert store.reviews(user.id)[0].due_at == due
    store.delete_learner("ada")
    assert store.picks(user.id) == [] and store.reviews(user.id) == []
