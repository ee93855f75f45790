"""`mathtutor solve` and `mathtutor eval`, in-process, with real kernels."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.fixtures.tiny_model import free_port
from tests.fixtures import data as shared_data
from tutor.cli import main

GSM8K = str(shared_data.GSM8K)
TORA = str(shared_data.TORA_GSM8K)
TRAJ = "Let me compute.\n```python\nprint(6*7)\n```\n```output\n0\n```\nSo the answer is $\\boxed{42}$."


@pytest.fixture
def script(tmp_path):
    path = tmp_path / "script.json"
    path.write_text(json.dumps({"rules": [{"match": "six times seven", "reply": TRAJ},
                                          {"match": "derivative", "reply": "It is $\\boxed{2x}$."}]}))
    return path


@pytest.mark.kernel
def test_solve_streams_reasoning_code_output_and_answer(script):
    result = CliRunner().invoke(main, ["solve", "What is six times seven?", "--backend", f"scripted:{script}"])
    assert result.exit_code == 0, result.output
    assert "Let me compute.\n```python\nprint(6*7)\n```" in result.output
    assert "```output\n42\n```" in result.output          # our kernel's output, not the script's "0"
    assert "Final answer: 42" in result.output


@pytest.mark.kernel
def test_solve_json_lines(script):
    result = CliRunner().invoke(main, ["solve", "What is six times seven?", "--backend", f"scripted:{script}", "--json"])
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    kinds = [e["kind"] for e in events]
    assert kinds[-1] == "done" and {"text", "round_text", "code", "output", "answer"} <= set(kinds)
    assert [e["observation"] for e in events if e["kind"] == "output"] == ["42"]
    assert [e["answer"] for e in events if e["kind"] == "answer"] == ["42"]


def test_solve_cot_needs_no_kernel_and_errors_exit_non_zero(script):
    result = CliRunner().invoke(main, ["solve", "The derivative of x^2?", "--mode", "cot", "--backend", f"scripted:{script}"])
    assert result.exit_code == 0 and "Final answer: 2x" in result.output
    dead = f"openai:http://127.0.0.1:{free_port()}/v1"
    result = CliRunner().invoke(main, ["solve", "q", "--mode", "cot", "--backend", dead])
    assert result.exit_code == 1 and "cannot connect" in result.stderr
    result = CliRunner().invoke(main, ["solve", "q", "--backend", "gpt-5"])
    assert result.exit_code != 0 and "unknown backend 'gpt-5'" in result.output
    result = CliRunner().invoke(main, ["solve", "  ", "--backend", f"scripted:{script}"])
    assert result.exit_code != 0 and "empty" in result.output


@pytest.mark.kernel
def test_eval_replays_gsm8k_through_the_sandbox(tmp_path):
    out = tmp_path / "results.jsonl"
    result = CliRunner().invoke(main, ["eval", "--dataset", GSM8K, "--backend", f"replay:{TORA}", "--limit", "5",
                                       "--concurrency", "2", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.splitlines()[-1])
    # problems 2 and 4 are ones ToRA-Code-34B got wrong
    assert report["n"] == 5 and report["correct"] == 3 and report["accuracy"] == 60.0
    assert report["code_runs"] == 5 and report["outputs_compared"] == 5 and report["outputs_differ"] == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted(r["idx"] for r in rows) == [0, 1, 2, 3, 4]
    first = next(r for r in rows if r["idx"] == 0)
    assert first["answer"] == "18" and first["correct"] and first["outputs"] == ["18"] and first["rounds"] == 2
    assert "```output\n18\n```" in first["trajectory"]
    assert "problem" in result.stderr                     # the progress bar


@pytest.mark.kernel
def test_eval_reports_math_subjects_and_levels(tmp_path, script):
    data = tmp_path / "math.jsonl"
    rows = [{"problem": "What is six times seven?", "solution": "It is $\\boxed{42}$.", "level": "Level 1", "type": "Prealgebra"},
            {"problem": "The derivative of x^2?", "answer": "2x", "level": 3, "subject": "Calculus"},
            {"problem": "The derivative of x^3?", "answer": "3x^2", "level": 3, "subject": "Calculus"}]
    data.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    script.write_text(json.dumps({"rules": [{"match": "six times seven", "reply": TRAJ}], "default": "I think $\\boxed{2x}$."}))
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), "--backend", f"scripted:{script}",
                                       "--out", str(tmp_path / "r.jsonl")])
    assert result.exit_code == 0, result.output
    assert "accuracy: 66.67% (2/3)" in result.stdout
    assert "Calculus" in result.stdout and "50.00% (1/2)" in result.stdout
    assert "Level 1" in result.stdout and "100.00% (1/1)" in result.stdout
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hello"}\n')
    result = CliRunner().invoke(main, ["eval", "--dataset", str(bad), "--backend", f"scripted:{script}"])
    assert result.exit_code != 0 and "bad.jsonl:1" in result.output


@pytest.mark.kernel
@pytest.mark.parametrize("flag", [[], ["--kernel-per-problem"]])
def test_eval_never_leaks_state_between_problems(tmp_path, flag):
    data = tmp_path / "gsm.jsonl"
    data.write_text("\n".join(json.dumps({"question": q, "answer": "#### 1"}) for q in ("Set it.", "Read it.")) + "\n")
    script = tmp_path / "s.json"
    script.write_text(json.dumps({"rules": [
        {"match": "Set it", "reply": "```python\nsecret = 1\nprint(secret)\n```\n```output\n1\n```\n\\boxed{1}"},
        {"match": "Read it", "reply": "```python\nprint(secret)\n```\n```output\n1\n```\n\\boxed{1}"}]}))
    out = tmp_path / "r.jsonl"
    result = CliRunner().invoke(main, ["eval", "--dataset", str(data), "--backend", f"scripted:{script}",
                                       "--out", str(out), *flag])
    assert result.exit_code == 0, result.output
    rows = {r["question"]: r for r in map(json.loads, out.read_text().splitlines())}
    assert rows["Set it."]["outputs"] == ["1"]
    assert rows["Read it."]["outputs"] == ["Runtime errors: NameError: name 'secret' is not defined"]
