"""A whole tutoring session on a real transformers backend (the tiny DeepSeekMath-shaped model).

The tiny model memorised a few tool-integrated replies and writes near-garbage for anything else, so
its hints are exactly what the guard must survive: text that may blurt the memorised answer.
"""

from __future__ import annotations

import pytest

from tests.tutoring.world import collect, make_student, of_type, tutor_settings
from tutor.events import AttemptChecked, HintGiven, KeyStatus, TutorMessage
from tutor.tutoring.guard import mentions
from tutor.tutoring.service import TutorService

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # the tiny model is trained on first use


def test_tutoring_on_the_tiny_transformers_model_never_leaks(tiny_model_dir, store, sandbox_pool, tmp_path):
    from tutor.solver.backends.transformers import TransformersBackend

    settings = tutor_settings(tmp_path, max_tokens_per_round=96, max_tokens_per_turn=192, hint_max_tokens=48,
                              key_max_steps=3, skill_tagging="keywords")
    backend = TransformersBackend(str(tiny_model_dir))
    service = TutorService.from_settings(settings, store=store, backend=backend, pool=sandbox_pool)
    try:
        user = make_student(store)
        events = collect(service.start_session(user.id, question="What is six times seven?", mode="tutor"))
        sid = events[0].session_id
        status = [e for e in of_type(events, KeyStatus) if e.status != "preparing"][0]
        key = store.solution_key(session_id=sid)
        assert key.answer == "42" and key.model_answer == "42"     # solved with code run in the kernel
        assert status.steps == len(key.steps) >= 1
        events += collect(service.ask(user.id, sid, "How should I start?"))
        events += collect(service.submit(user.id, sid, "41"))
        hints: list[HintGiven] = []
        for _ in range(4 * len(key.steps)):
            got = of_type(collect(service.next_hint(user.id, sid)), HintGiven)
            hints += got
            events += got
        assert [(h.step, h.level) for h in hints][:4] == [(1, 1), (1, 2), (1, 3), (1, 4)]
        before = [e for e in events if not (isinstance(e, HintGiven) and e.bottom_out and e.step == len(key.steps))]
        texts = [t for e in before if isinstance(e, (TutorMessage, HintGiven, AttemptChecked))
                 for t in (getattr(e, "text", None), getattr(e, "feedback", None)) if t]
        assert texts and [t for t in texts if mentions(t, "42", 10)] == []
        assert all(h.guard in ("passed", "regenerated", "fallback") for h in hints)
        assert len(store.hints(sid)) == len(hints)
    finally:
        service.close()
        backend.close()
