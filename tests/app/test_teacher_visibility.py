"""A learner in two classes: each class's teacher sees the sessions started in that class or on a problem
assigned to it, never the learner's work from the other class (private key work included), in every
view the teacher page and export offer (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tutor.errors import NotFound
from tutor.school.access import require_session


@pytest.fixture
def two_classes(store):
    ana = store.create_user("ana", "teacher")
    ben = store.create_user("ben", "teacher")
    sam = store.create_user("sam", "student")
    algebra = store.create_class("algebra", teachers=[ana.id])
    physics = store.create_class("physics", teachers=[ben.id])
    store.enroll(algebra.id, sam.id)
    store.enroll(physics.id, sam.id)
    assigned = store.create_problem("A ball falls for 2 s from rest: how far? (g = 10)", source="teacher")
    store.assign(physics.id, problem_id=assigned.id)
    in_algebra = store.create_session(sam.id, question="Solve 2x + 3 = 17.", class_id=algebra.id)
    # started while the algebra class was first on the learner's list, but on a physics assignment
    on_physics_problem = store.create_session(sam.id, problem_id=assigned.id, class_id=algebra.id)
    in_physics = store.create_session(sam.id, question="My private physics question", class_id=physics.id)
    store.append(in_physics.id, {"kind": "key_work", "text": "physics key"}, private=True)
    store.raise_flag(in_physics.id, "stuck", note="physics only")
    return {"store": store, "ana": ana, "ben": ben, "algebra": algebra, "physics": physics,
            "in_algebra": in_algebra.id, "on_physics_problem": on_physics_problem.id, "in_physics": in_physics.id}


def test_each_teacher_sees_only_their_class_sessions(two_classes):
    t = two_classes
    store = t["store"]
    algebra = {s.id for s in store.class_sessions(t["algebra"].id)}
    physics = {s.id for s in store.class_sessions(t["physics"].id)}
    assert algebra == {t["in_algebra"], t["on_physics_problem"]}
    assert physics == {t["in_physics"], t["on_physics_problem"]}
    assert store.class_has_session(t["physics"].id, t["in_physics"])
    assert not store.class_has_session(t["algebra"].id, t["in_physics"])


def test_a_teacher_cannot_open_another_class_session_by_id(two_classes):
    t = two_classes
    ana = t["ana"]  # a UserRecord is the Actor the web pages pass
    with pytest.raises(NotFound):
        require_session(t["store"], ana, t["algebra"].id, t["in_physics"])
    assert require_session(t["store"], ana, t["algebra"].id, t["in_algebra"]).id == t["in_algebra"]


def test_export_summary_stats_and_flags_keep_to_the_class(two_classes):
    t = two_classes
    store = t["store"]
    exported = {row["session_id"] for row in store.export_rows(t["algebra"].id)}
    assert exported == {t["in_algebra"], t["on_physics_problem"]}
    (row,) = store.class_summary(t["algebra"].id)
    assert row.sessions == 2 and row.open_flags == 0
    assert store.flags(class_id=t["algebra"].id) == []
    assert [f.note for f in store.flags(class_id=t["physics"].id)] == ["physics only"]
    assert {p.problem_id for p in store.class_problem_stats(t["algebra"].id)} == {
        store.get_session(t["in_algebra"]).problem_id, store.get_session(t["on_physics_problem"]).problem_id}
