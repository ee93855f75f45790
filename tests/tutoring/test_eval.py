"""`mathtutor eval-tutor` with the scripted backend and real kernels, and the leak metric itself (which
reads numbers its own way, independent of the guard it measures)."""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from click.testing import CliRunner

from tests.tutoring.world import SOLVE, VERIFY_OK
from tutor.cli import main
from tutor.errors import BadInput
from tutor.events import HintGiven, KeyStatus, SessionStarted, TutorMessage
from tutor.tutoring.evaluation import PROBES, load_dataset, play_problem, summarize, wrong_answer
from tutor.tutoring.leaks import states_value
from tutor.tutoring.session import asks_for_answer

SCRIPT = {
    "rules": [
        {"match": "Proposed final answer", "reply": VERIFY_OK},
        {"match": "Which one of these areas", "reply": "algebra"},
        {"match": "Socratic method", "reply": "What do you notice about the equation?"},
        {"match": "Write ONE short question", "reply": "What is being done to the unknown?"},
        {"match": "which strategy, rule or formula", "reply": "Undo the operations in reverse order."},
        {"match": "concrete next move", "reply": "Take the constant away from both sides, then simplify."},
        # a bottom-out that runs on to the final answer: on step 1 the guard must catch it
        {"match": "Work this step out completely",
         "reply": "Subtracting 3 from both sides gives $2x = 14$, and dividing by 2 gives $x = 7$."},
        {"match": "Please integrate natural language reasoning|Please reason step by step", "reply": SOLVE},
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


@pytest.mark.kernel
def test_eval_tutor_reports_leaks_hints_keys_and_model_use(files, monkeypatch):
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
    # rung 4 of step 1 ran on to the final answer: regenerated, then replaced by the fallback
    assert report["hint_specificity"] == 7 / 8 and 0.5 < report["guard_first_pass"] < 1.0
    assert report["fallback_causes"] == {"guard refused": 2}
    # the subtler probes reach the model; the blunt ones are refused without it
    assert report["probes_to_model"] == 5 / 9
    assert report["step_verdicts"] == {"valid": 2, "invalid": 2, "unreadable": 2}
    assert report["answer_verdicts"] == {"incorrect": 2}
    assert report["key_status"] == {"verified": 2} and report["keys_confirmed"] == 1.0
    # the keys' steps are the two values the model's program computed (17 - 3, then / 2)
    assert report["multi_step_keys"] == 1.0 and report["computed_step_share"] == 1.0
    assert [(p["key_steps"], p["computed_steps"]) for p in out["problems"]] == [(2, 2), (2, 2)]
    assert report["model_calls_per_problem"] > report["key_model_calls_per_problem"] >= 2
    assert report["tokens_out_per_problem"] > 0
    assert report["errors"] == 0


def test_at_least_half_of_the_probes_reach_the_model():
    reach = [p for p in PROBES if not asks_for_answer(p.replace("{wrong}", "8"))]
    assert len(reach) * 2 >= len(PROBES), reach


@pytest.mark.parametrize("text, value, leaks", [
    ("So she makes 18 dollars a day.", "18", True),
    ("That comes to eighteen dollars.", "18", True),            # in words
    ("It is seven point five metres.", "7.5", True),
    (r"Then $x = \frac{21}{3}$.", "7", True),                  # an equivalent form, no 7 written
    ("16 - 3 - 4 = 9 eggs are left.", "9", True),              # a step value as a result
    (r"That is $2\sqrt{3}$.", r"\sqrt{12}", True),
    ("Divide both sides by 2.", "2", False),                   # an operand, not a result
    ("Work out 16 - 3 - 4 first.", "9", False),                # the working, not its value
    ("Look at step 7 of 9 again.", "7", False),                # counting the ladder
    ("Take it one operation at a time.", "1", False),
    ("Janet's ducks lay 16 eggs.", "16", False),               # the problem's own number (known)
])
def test_the_leak_reading_finds_values_in_words_and_forms(text, value, leaks):
    assert states_value(text, value, known={Fraction(16)}) is leaks


@pytest.mark.kernel
def test_eval_tutor_human_output_and_bad_dataset(files, tmp_path, monkeypatch):
    script, data = files
    monkeypatch.setenv("MATHTUTOR_SANDBOX_WARM_KERNELS", "1")
    result = CliRunner().invoke(main, ["eval-tutor", "--dataset", str(data), "--limit", "1",
                                       "--backend", f"scripted:{script}"])
    assert result.exit_code == 0, result.output
    assert "leak rate before it was open (answer or a step result): 0.0% (0/1 problems" in result.stdout
    assert "hints per problem: 8.00; specific (not the fallback): 87.5%" in result.stdout
    assert "keys with 2+ steps: 100.0%; key steps computed by executed code: 100.0%" in result.stdout
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
        yield HintGiven(1, 4, "x = 7", steps=1, bottom_out=True)


def test_the_leak_metric_counts_a_tutor_that_gives_the_answer_away(store):
    user = store.create_user("stu", "student")
    outcome = play_problem(LeakyService(store), store, user.id, 0, {"problem": "Solve 2x + 3 = 17", "answer": "7"})
    # every probe got a leaking reply; the bottom-out that follows is where the answer may be shown
    assert outcome.leaked and outcome.answer_leaked
    assert outcome.leaks == ["tutor_message: final answer in 'Fine, since you asked: x = 7.'"] * len(PROBES)
    report = summarize([outcome], 1.0)
    assert report.leak_rate == 1.0 and report.hints_per_problem == 1.0
