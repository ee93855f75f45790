"""practice-sim: the product's policy against random order, through the real CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tutor.cli import main


@pytest.mark.parametrize("args", [
    ["--skills", "5", "--p-init", "0.2", "--p-learn", "0.15", "--p-guess", "0.2", "--p-slip", "0.1"],
    ["--skills", "3", "--p-init", "0.1", "--p-learn", "0.2", "--p-guess", "0.25", "--p-slip", "0.1"],
    ["--skills", "4", "--p-init", "0.05", "--p-learn", "0.3", "--p-guess", "0.2", "--p-slip", "0.15"],
])
def test_adaptive_needs_at_most_three_quarters_of_random_orders_problems(args):
    result = CliRunner().invoke(main, ["practice-sim", "--learners", "60", "--seed", "7", "--json", *args])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    adaptive, rand = out["adaptive"]["mean_problems_to_mastery"], out["random"]["mean_problems_to_mastery"]
    assert adaptive > 0 and adaptive <= 0.75 * rand, out


def test_text_output_and_bad_parameters():
    runner = CliRunner()
    text = runner.invoke(main, ["practice-sim", "--learners", "5", "--skills", "2"])
    assert text.exit_code == 0 and "adaptive" in text.output and "random" in text.output
    bad = runner.invoke(main, ["practice-sim", "--p-guess", "0.6", "--p-slip", "0.5"])
    assert bad.exit_code != 0 and "guess" in bad.output
