"""Problems a teacher picks from a dataset file (.jsonl: GSM8K, MATH, MATH-500 and the like) to assign.

Only files inside the configured dataset folders can be read (a typed path is resolved and must stay
inside one of them), so the assign form cannot be used to read other files on the server.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tutor.solver.answers import last_boxed
from tutor.errors import BadInput
from tutor.settings import Settings
from tutor.tutoring.skills import normalize_skill

_TEXT_KEYS = ("problem", "question", "input", "prompt")
_MAX_LINE_BYTES = 1_000_000


@dataclass(frozen=True)
class DatasetProblem:
    row: int                 # 1-based line in the file
    text: str
    answer: str | None       # the dataset's reference answer, if it has one
    skills: tuple[str, ...]  # e.g. MATH's subject
    solution: str | None = None   # a worked solution in GSM8K's lines (its `answer`, MathDial's `ground_truth`)


def dataset_dirs(settings: Settings) -> list[Path]:
    dirs = [Path(d).expanduser() for d in settings.web.teacher_dataset_dirs if str(d).strip()]
    return [d.resolve() for d in (dirs or [Path(settings.data_dir) / "datasets"])]


def list_datasets(settings: Settings) -> list[str]:
    """Every .jsonl file under the dataset folders, named relative to its folder (`gsm8k/test.jsonl`; with
    several folders, the folder's own name first): a teacher needs the file, not where the server keeps it."""
    bases = dataset_dirs(settings)
    found = []
    for base in bases:
        if base.is_dir():
            prefix = f"{base.name}/" if len(bases) > 1 else ""
            found.extend(prefix + p.relative_to(base).as_posix() for p in sorted(base.rglob("*.jsonl")) if p.is_file())
    return found


def resolve_dataset(settings: Settings, path: str) -> Path:
    """The file at `path` if it is a .jsonl file inside a dataset folder; BadInput otherwise."""
    raw = (path or "").strip()
    if not raw:
        raise BadInput("choose a dataset file or type its path")
    candidate = Path(raw).expanduser()
    bases = dataset_dirs(settings)
    if not candidate.is_absolute():
        # a listed name: relative to the (only) folder, or "<folder name>/…" with several folders
        named = [b.parent / candidate for b in bases if len(bases) > 1 and candidate.parts[0] == b.name]
        candidate = next((c for c in named + [b / candidate for b in bases] if c.exists()), bases[0] / candidate)
    resolved = candidate.resolve()
    if not any(resolved == b or b in resolved.parents for b in bases):
        raise BadInput("only files inside the dataset folders can be used: pick one from the list")
    if resolved.suffix != ".jsonl" or not resolved.is_file():
        raise BadInput(f"no .jsonl dataset file at {raw}")
    return resolved


def parse_rows(spec: str, limit: int) -> list[int]:
    """'1-5, 9' -> [1, 2, 3, 4, 5, 9] (1-based lines, in the order given, no repeats)."""
    rows: list[int] = []
    text = (spec or "").strip()
    if not text:
        raise BadInput("say which rows to take, e.g. 1-5, 9")
    for part in re.split(r"[,\s]+", text):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if m is None:
            raise BadInput(f"cannot read the row range {part!r}; write e.g. 1-5, 9")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if lo < 1 or hi < lo:
            raise BadInput(f"row range {part!r} is empty; rows count from 1")
        for n in range(lo, hi + 1):
            if n not in rows:
                rows.append(n)
            if len(rows) > limit:
                raise BadInput(f"at most {limit} problems per assignment")
    return rows


def _answer(item: dict[str, Any]) -> str | None:
    for key in ("answer", "gt", "final_answer"):
        value = item.get(key)
        if isinstance(value, (int, float)):
            return str(value)
        if isinstance(value, str) and value.strip():
            # GSM8K keeps the worked solution in `answer`, the number after '####'
            return value.split("####")[-1].strip() if "####" in value else value.strip()
    solution = item.get("solution")
    if isinstance(solution, str):
        return last_boxed(solution)
    return None


def _solution(item: dict[str, Any]) -> str | None:
    """A worked solution whose lines are calculations, which the key then recomputes step by step:
    GSM8K's `answer` (lines with <<...>> and a last '#### N') or MathDial's `ground_truth`."""
    for key in ("answer", "ground_truth"):
        value = item.get(key)
        if isinstance(value, str) and "\n" in value.strip() and ("####" in value or key == "ground_truth"):
            return value.strip()
    return None


def _skills(item: dict[str, Any]) -> tuple[str, ...]:
    label = item.get("type") or item.get("subject")
    if not isinstance(label, str):
        return ()
    try:
        return (normalize_skill(label),)
    except BadInput:  # a subject outside the fixed list: the service tags the problem itself
        return ()


def load_problems(path: Path, rows: list[int]) -> list[DatasetProblem]:
    """The problems on these 1-based lines of the file, in the order asked; BadInput for a missing
    row or a line that is not a problem."""
    wanted = set(rows)
    found: dict[int, DatasetProblem] = {}
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for n, line in enumerate(fh, start=1):
            if n > max(wanted):
                break
            if n not in wanted:
                continue
            if len(line) > _MAX_LINE_BYTES:
                raise BadInput(f"row {n} of {path.name} is too long to be a problem")
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                raise BadInput(f"row {n} of {path.name} is not valid JSON") from None
            text = next((item[k] for k in _TEXT_KEYS if isinstance(item, dict) and isinstance(item.get(k), str)), None)
            if not text or not text.strip():
                raise BadInput(f"row {n} of {path.name} has no problem text (looked for {', '.join(_TEXT_KEYS)})")
            found[n] = DatasetProblem(n, text.strip(), _answer(item), _skills(item), _solution(item))
    missing = [n for n in rows if n not in found]
    if missing:
        raise BadInput(f"{path.name} has no row {missing[0]}")
    return [found[n] for n in rows]
