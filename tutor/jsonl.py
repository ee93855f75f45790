"""JSON Lines files (datasets, recorded trajectories): one JSON object a line, read with errors that
name the file and the line, in the error class the caller's users expect (a dataset is the user's
input, BadInput; a replay file backs a model, BackendError)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from tutor.errors import BadInput


def read_jsonl(path: str | Path, what: str = "file", error: type[Exception] = BadInput
               ) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line. Lines are parsed as they are taken, so a caller
    that stops early (a `limit`) never trips on a bad line after the ones it used."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise error(f"{path}:{n}: not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise error(f"{path}:{n}: not a JSON object")
        yield n, row
