"""`mathtutor eval-tutor` with the scripted backend and real kernels, and the leak metric itself."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.tutoring.world import SOLVE, STEPS, VERIFY_OK
from tutor.cli import main
from tutor.cli.tutoring import load_dataset, play_problem, summarize, wrong_answer
from tutor.errors import BadInput
from tutor.events import HintShown, KeyStatus, SessionStarted, TutorMessage

SCRIPT = {
    "rules": [
        {"match": "Proposed final answer", "reply": VERIFY_OK},
        {"match": "Break this solution into", "reply": STEPS},
        {"match": "Which one of these areas", "reply": "algebra"},
        {"match": "Socratic method", "reply": "What do you notice about the equation?"},
        {"match": "Write ONE short question", "reply": "What is being done to the unknown?"},
        {"match": "which strategy, rule or formula", "reply": "Undo the operations in reverse order."},
        {"match": "concrete next move", "reply": "Take the constant away from both sides, then simplify."},
        # a bottom-out that runs on to the final answer: on step 1 the guard must catch it
        {"match": "Work this step out completely",
         "reply": "Subtracting 3 from both sides gives $2x = 14$, and dividing by 2 gives $x = 7$."},
        {"match": "Please integrate natural language reasoning", "reply": SOLVE},
    ],
}


@pytest.fixture
def files(tmp_path):
    script = tmp_path / "script.json"
    script.write_text(json.dumps(SCRIPT))
    data = tmp_path / "problems.jsonl"
    data.write_text("\n".join(json.dumps(r) for r in [
        {"problem": "Solve for x: 2x + 3 = 17.", "answer": "7", "subject": "Algebra"},
        {"question": "Solve for y: 2y + 3 = 17.", "answer": "Subtract, then divide.\n#### 7"},
        {"problem": "never reached", "answer": "1"},
    ]))
    return script, data


def test_eval_tutor_reports_leaks_hints_and_step_verdicts(files, monkeypatch):
    script, data = files
    monkeypatch.setenv("MATHTUTOR_SANDBOX_WARM_KERNELS", "1")
    result = CliRunner().invoke(main, ["eval-tutor", "--dataset", str(data), "--limit", "2",
                                       "--backend", f"scripted:{script}", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout.strip().splitlines()[-1])
    report = out["report"]
    assert report["problems"] == 2
    assert report["leak_rate"] == 0.0 and report["messages_checked"] > 20
    assert report["hints_per_problem"] == 8.0          # two steps, four rungs each, one at a time
    # rung 4 of step 1 ran on to the final answer: regenerated, then replaced -> not all passed first time
    assert 0.5 < report["guard_first_pass"] < 1.0
    assert report["step_verdicts"] == {"valid": 2, "invalid": 2, "unreadable": 2}
    assert report["answer_verdicts"] == {"incorrect": 2}
    assert report["key_status"] == {"verified": 2}
    assert report["errors"] == 0


def test_eval_tutor_human_output_and_bad_dataset(files, tmp_path, monkeypatch):
    script, data = files
    monkeypatch.setenv("MATHTUTOR_SANDBOX_WARM_KERNELS", "1")
    result = CliRunner().invoke(main, ["eval-tutor", "--dataset", str(data), "--limit", "1",
                                       "--backend", f"scripted:{script}"])
    assert result.exit_code == 0, result.output
    assert "answer-leak rate before bottom-out: 0.0% (0/1 problems" in result.stdout
    assert "hints per problem: 8.00" in result.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"problem": "no answer here"}\n')
    result = CliRunner().invoke(main, ["eval-tutor", "--dataset", str(bad), "--backend", f"scripted:{script}"])
    assert result.exit_code != 0 and "needs `problem`/`question` and an answer" in result.output


def test_dataset_loading_reads_math_and_gsm8k_rows(tmp_path):
    f = tmp_path / "d.jsonl"
    f.write_text(json.dumps({"problem": "p", "solution": "so \\boxed{\\frac{1}{2}}"}) + "\n"
                 + json.dumps({"question": "q", "answer": "work\n#### 1,234"}) + "\n")
    assert [(r["problem"], r["answer"]) for r in load_dataset(f)] == [("p", "\\frac{1}{2}"), ("q", "1234")]
    with pytest.raises(BadInput):
        load_dataset(tmp_path / "missing.jsonl")
    assert wrong_answer("7") == "8" and wrong_answer("\\frac{1}{2}") == "0" and wrong_answer("0") == "1"


class LeakyService:
    """Plays a tutor that blurts the answer, to show the metric notices (the real one must not)."""

    def __init__(self, store):
        self.store = store

    def start_session(self, user_id, *, problem_id, mode):
        rec = self.store.create_session(user_id, problem_id=problem_id, mode=mode)
        self.store.save_solution_key(session_id=rec.id, problem_id=problem_id, answer="7")
        yield SessionStarted(rec.id, mode, "q", problem_id)
        yield KeyStatus("verified", 1)

    def ask(self, user_id, sid, text):
        yield TutorMessage("Fine, since you asked: x = 7.")

    def submit(self, user_id, sid, text, kind="answer"):
        return iter(())

    def next_hint(self, user_id, sid, bottom_out=False):
        yield HintShown(1, 4, "x = 7", steps=1, bottom_out=True)


def test_the_leak_metric_counts_a_tutor_that_gives_the_answer_away(store):
    user = store.create_user("stu", "student")
    outcome = play_problem(LeakyService(store), store, user.id, 0, {"problem": "Solve 2x + 3 = 17", "answer": "7"},
                           timeout=10)
    # four leaking replies; the bottom-out that follows is where the answer may be shown
    assert outcome.leaked and outcome.leaks == ["tutor_message"] * 4
    report = summarize([outcome], 1.0)
    assert report.leak_rate == 1.0 and report.hints_per_problem == 1.0
