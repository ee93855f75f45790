"""A class's problem bank: dataset rows (GSM8K by word-problem kind, MATH by subject and level),
teacher-typed problems, and confirmed generated variants, each with a skill, difficulty and answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tutor.errors import BadInput
from tutor.jsonl import read_jsonl
from tutor.store import AlreadyExists
from tutor.practice import catalog


def _read_rows(path: Path) -> list[dict[str, Any]]:
    return [row for _, row in read_jsonl(path, "dataset")]


def describe(row: dict[str, Any]) -> tuple[str, str, str, int] | None:
    """(text, reference answer, skill, difficulty) of a GSM8K or MATH row; None for another shape."""
    from tutor.solver.answers import last_boxed

    if "question" in row and "answer" in row:
        text, solution = str(row["question"]), str(row["answer"])
        answer = solution.split("####")[-1].strip().replace(",", "")
        return text, answer, catalog.word_problem_kind(text), catalog.gsm8k_difficulty(solution)
    if "problem" in row:
        answer = row.get("answer") or last_boxed(str(row.get("solution", "")))
        if not answer:
            return None
        skill, level = catalog.math_skill(str(row.get("subject") or row.get("type") or "algebra"), row.get("level"))
        return str(row["problem"]), str(answer), skill, level
    return None


def load_into_bank(store: Any, class_id: int, path: str | Path, *, limit: int = 50, skills: tuple[str, ...] = (),
                   created_by: int | None = None) -> list[Any]:
    """Add up to `limit` rows of the dataset (of the given finer skills, if any) to the class's bank;
    rows already there are skipped."""
    path = Path(path)
    have = store.bank_sources(class_id)
    added: list[Any] = []
    for n, row in enumerate(_read_rows(path)):
        if len(added) >= limit:
            break
        seen = describe(row)
        if seen is None:
            raise BadInput(f"{path}: row {n} is not a GSM8K or MATH problem")
        text, answer, skill, difficulty = seen
        ref = f"{path.resolve()}#{n}"
        if (skills and skill not in skills) or ref in have or len(ref) > 256:
            continue
        problem = store.create_problem(text, source="dataset", reference_answer=answer, skills=[skill],
                                       source_ref=ref)
        try:
            added.append(store.add_practice_item(class_id, problem.id, skill=skill, difficulty=difficulty,
                                                 origin="dataset", created_by=created_by))
        except AlreadyExists:
            continue
    return added


def source_row(problem: Any) -> dict[str, Any] | None:
    """The dataset row a bank problem came from (its solution drives the templates)."""
    ref = problem.source_ref or ""
    path, _, row = ref.rpartition("#")
    if not path or not row.isdigit() or not Path(path).is_file():
        return None
    rows = _read_rows(Path(path))
    return rows[int(row)] if int(row) < len(rows) else None


def generate_for_skill(store: Any, settings: Any, class_id: int, skill: str, count: int, *, backend: Any = None,
                       kernel: Any = None, seed: int = 0, status: str = "pending",
                       created_by: int | None = None) -> tuple[list[Any], list[str]]:
    """Confirmed variants of the skill's bank problems, stored; unconfirmed ones only reported."""
    from tutor.practice.variants import Generation, from_model, from_template

    sources = [it for it in store.practice_items(class_id) if it.skill == skill and it.origin != "generated"]
    if not sources:
        raise BadInput(f"the class's bank has no {catalog.label(skill)} problems to make variants of")
    made = Generation()
    for i in range(count):
        item = sources[i % len(sources)]
        problem = store.get_problem(item.problem_id)
        before = len(made.variants)
        if backend is not None and kernel is not None:
            from_model(problem.text, 1, backend=backend, kernel=kernel, settings=settings, out=made)
        else:
            row = source_row(problem)
            if row is None or "question" not in row:
                made.discarded.append(f"problem {problem.id}: no dataset solution to make a template of "
                                      "(variants of it need the model)")
                continue
            from_template(row["question"], row["answer"], problem.reference_answer or "", 1, seed=seed + i, out=made)
        for variant in made.variants[before:]:
            new = store.create_problem(variant.text, source="teacher", reference_answer=variant.answer,
                                       skills=[skill], created_by=created_by)
            store.add_practice_item(class_id, new.id, skill=skill, difficulty=item.difficulty, origin="generated",
                                    status=status, parent_problem_id=problem.id, evidence=variant.evidence,
                                    created_by=created_by)
    stored = [it for it in store.practice_items(class_id) if it.origin == "generated"]
    return stored[-len(made.variants):] if made.variants else [], made.discarded
