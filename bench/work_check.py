"""Checking whole worked solutions on MathDial (../shared/data/mathdial/mathdial_dev.jsonl, CC BY-SA 4.0):
every student's incorrect solution and every reference solution given as student work, against the key
from the reference solution; the first wrong line found on the annotated sample
(tests/fixtures/mathdial_first_wrong_lines.jsonl); figures per confusion kind.

    .venv/bin/python bench/work_check.py [--data PATH] [--json]
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tutor.checking.work import KINDS, check_work  # noqa: E402
from tutor.checking.workkey import key_from_solution  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared/data/mathdial/mathdial_dev.jsonl"))
    parser.add_argument("--annotations", default=str(ROOT / "tests/fixtures/mathdial_first_wrong_lines.jsonl"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = [json.loads(line) for line in open(args.data, encoding="utf-8")]
    notes = {a["row"]: a for a in map(json.loads, open(args.annotations, encoding="utf-8"))}
    kinds = collections.Counter()
    found = collections.Counter()
    annotated = collections.Counter()
    students_wrong = references_right = 0
    started = time.perf_counter()
    for i, row in enumerate(rows):
        key = key_from_solution(row["question"], row["ground_truth"])
        references_right += check_work(row["ground_truth"], key).correct
        verdict = check_work(row["student_incorrect_solution"], key)
        students_wrong += not verdict.correct
        kinds[verdict.kind] += 1
        if i in notes:
            a = notes[i]
            annotated[verdict.kind] += 1
            found[verdict.kind] += verdict.first_wrong_line in [a["first_wrong_line"], *a["also_defensible"]]
    elapsed = time.perf_counter() - started
    figures = {
        "conversations": len(rows),
        "students_judged_not_correct": students_wrong,
        "references_judged_correct": references_right,
        "annotated": sum(annotated.values()),
        "first_wrong_line_found": sum(found.values()),
        "per_kind": {k: {"all": kinds[k], "annotated": annotated[k], "found": found[k]} for k in KINDS if kinds[k]},
        "seconds_per_conversation": round(elapsed / len(rows), 4),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"students' incorrect solutions judged not correct: {students_wrong}/{len(rows)}")
    print(f"reference solutions judged correct:               {references_right}/{len(rows)}")
    total = sum(annotated.values())
    print(f"first wrong line found on the annotated sample:   {sum(found.values())}/{total} "
          f"({100 * sum(found.values()) / max(total, 1):.0f}%)")
    print(f"{'kind':<20}{'all 229':>9}{'annotated':>11}{'found':>7}")
    for k, v in figures["per_kind"].items():
        print(f"{k:<20}{v['all']:>9}{v['annotated']:>11}{v['found']:>7}")
    print(f"{elapsed / len(rows) * 1000:.1f} ms per conversation (key + two checks)")


if __name__ == "__main__":
    main()
