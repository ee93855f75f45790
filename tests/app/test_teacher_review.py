"""The session review a teacher reads, built from the store (SQLite and PostgreSQL): every kind of event in
order, the facts panel with the key's verification and the system's flags, and inert rendering."""

from __future__ import annotations

from app.teacher_review import render_transcript


def _cell(code, stdout="", *, timed_out=False, restarted=False, error=None):
    return {"kind": "output", "code": code, "stdout": stdout, "stderr": "", "error": error, "timed_out": timed_out,
            "restarted": restarted, "duration_s": 0.5, "observation": stdout, "round": 0}


def _session(store):
    student = store.create_user("sam", "student", display_name="Sam Student")
    problem = store.create_problem("Solve $x^2 = 4$ for $x > 0$.", source="teacher", reference_answer="2")
    sid = store.create_session(student.id, problem_id=problem.id).id
    return student, problem, sid


def test_transcript_shows_every_event_in_order_with_the_evidence(store):
    student, problem, sid = _session(store)
    store.append(sid, {"kind": "session_started", "session_id": sid, "mode": "tutor", "question": problem.text})
    store.append(sid, {"kind": "round_text", "text": "Solve it.\n```python\nprint(2**2)\n```", "round": 0}, private=True)
    store.append(sid, {"kind": "code", "code": "print(2**2)", "round": 0}, private=True)
    store.append(sid, _cell("print(2**2)", "4\n"), private=True)
    store.save_solution_key(session_id=sid, answer="2", steps=[{"text": "Take the square root", "result": "2"}],
                            verified=True, verification="substituted back", model="scripted")
    store.append(sid, {"kind": "tutor_message", "text": "What undoes a square?", "purpose": "opening"})
    store.append_message(sid, "is it $\\sqrt{4}$?", role="student")
    store.append(sid, {"kind": "hint", "step": 1, "level": 2, "text": "Take square roots of both sides.", "steps": 1,
                       "guard": "passed"})
    store.append(sid, {"kind": "attempt", "attempt_kind": "answer", "verdict": "incorrect", "input": "-2",
                       "feedback": "Check the condition $x > 0$.", "step": 1})
    store.append(sid, {"kind": "attempt", "attempt_kind": "answer", "verdict": "correct", "input": "2",
                       "feedback": "Correct.", "step": 1, "solved": True})
    messages, facts_md, facts = render_transcript(store.transcript(sid))
    contents = [m["content"] for m in messages]
    order = ["**Question**", "Solve it.", "print(2**2)", "What undoes a square?", "is it", "rung 2 of 4",
             "**Answer:** -2", "Check the condition", "**Answer:** 2", "**Verdict:** correct"]
    positions = [next(i for i, c in enumerate(contents) if marker in c) for marker in order]
    assert positions == sorted(positions), positions
    code = next(m for m in messages if "print(2**2)" in m["content"] and "Output" in m["content"])
    assert "<pre class=\"mt-output\"><code>4</code></pre>" in code["content"]
    assert code["content"].startswith("**ran code #1 (0.50 s) · hidden from the student**")
    assert not any("```python" in c for c in contents)      # the executed block appears once, as a cell
    assert "$\\sqrt{4}$" in next(c for c in contents if "is it" in c)   # math is left for KaTeX
    assert "verified by executed code" in facts_md and "substituted back" in facts_md
    assert "Take the square root" in facts_md and "reference answer:** $2$" in facts_md
    assert facts.code_cells == 1 and facts.hints == 1 and facts.attempts == 2 and facts.key_verified


def test_system_flags_kills_guard_replacements_disagreement_and_interruptions_are_visible(store):
    student, problem, sid = _session(store)
    store.append(sid, _cell("while True: pass", timed_out=True))
    store.append(sid, _cell("import os", restarted=True))
    store.raise_flag(sid, "sandbox_kill", note="cell timed out after 10 s", source="system")
    store.append(sid, {"kind": "hint", "step": 1, "level": 1, "text": "Think about signs.", "guard": "fallback"})
    store.raise_flag(sid, "hint_replaced", note="the hint gave the answer away", source="system")
    store.save_solution_key(session_id=sid, answer="-2", verified=False, model_answer="-2", reference_answer="2",
                            disagreement=True)
    store.raise_flag(sid, "key_disagreement", source="system")
    store.append(sid, {"kind": "done", "rounds": 1, "tokens_in": 1, "tokens_out": 1, "seconds": 1.0,
                       "stopped": "cancelled"})
    store.set_status(sid, "interrupted")
    store.append(sid, {"kind": "interrupted"})
    messages, facts_md, facts = render_transcript(store.transcript(sid))
    text = "\n".join(m["content"] for m in messages)
    assert "killed: timed out" in text and "kernel restarted" in text
    assert "guard: fallback (the model's hints gave too much away, so a prepared hint was shown instead)" in text
    assert "turn ended early (cancelled)" in text and "session interrupted" in text
    assert facts.sandbox_kills == 2 and facts.guard_replaced == 1 and facts.interrupted and facts.disagreement
    assert facts.key_verified is False and "NOT verified by code" in facts_md
    assert "disagreement" in facts_md and "model says $-2$" in facts_md and "reference says $2$" in facts_md
    assert set(facts.system_flags) == {"sandbox_kill", "hint_replaced", "key_disagreement"}
    assert "[system] sandbox_kill — cell timed out after 10 s (open)" in facts_md
    assert "interrupted" in facts_md


def test_the_review_speaks_in_sentences_without_emoji_json_or_contradictions(store):
    """A key confirmed by code whose preparation met a model outage says both, without claiming and
    denying verification in one breath; a guard's record reads as a sentence, not JSON."""
    import re
    student, problem, sid = _session(store)
    store.save_solution_key(session_id=sid, answer="2", verified=True,
                            verification="substituted back\nstep check: backend_unavailable", model="scripted")
    store.append(sid, {"kind": "hint_guard", "step": 1, "level": 2, "guard": "replaced", "passed_first": False,
                       "generations": 2, "reasons": ["states the value 2"], "claims": []}, private=True)
    store.raise_flag(sid, "hint_replaced", source="system", note="the hint gave the answer away")
    messages, facts_md, _ = render_transcript(store.transcript(sid))
    text = "\n".join(m["content"] for m in messages) + facts_md
    assert "verified by executed code: substituted back." in facts_md
    assert "NOT verified" not in facts_md and "the model was not answering" in facts_md
    assert "backend_unavailable" not in facts_md
    assert "gave too much away, so a regenerated one was shown. Why: states the value 2. It took 2 tries." in text
    assert "{" not in text.replace("\\frac{", "") and '"guard"' not in text
    assert not re.search("[\U0001F300-\U0001FAFF\u2600-\u27BF]", text), "colour emoji carry no meaning here"


def test_html_from_students_models_and_kernels_is_escaped(store):
    student = store.create_user("eve", "student")
    sid = store.create_session(student.id, question="<script>alert(1)</script>").id
    store.append_message(sid, "<img src=x onerror=alert(2)>", role="student")
    store.append(sid, {"kind": "round_text", "text": "<iframe src=evil></iframe> $a<b$", "round": 0})
    store.append(sid, _cell("print('<b>x</b>')", "<script>alert(3)</script>\n"))
    store.append(sid, {"kind": "attempt", "attempt_kind": "answer", "verdict": "<i>odd</i>", "input": "<u>1</u>",
                       "feedback": "<a href='javascript:alert(4)'>x</a>"})
    store.append(sid, {"kind": "mystery_event", "payload": "<svg onload=alert(5)>"})
    messages, facts_md, _ = render_transcript(store.transcript(sid))
    everything = "\n".join(m["content"] for m in messages) + facts_md
    for raw in ("<script", "<img", "<iframe", "<b>x", "<i>", "<u>", "<a href", "<svg"):
        assert raw not in everything, raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in facts_md
    assert "&lt;img src=x onerror=alert(2)&gt;" in everything and "$a&lt;b$" in everything
    assert "mystery_event" in everything   # unknown kinds are shown, not dropped
