"""A verdict on one part of an install (ok, warn or fail, with the fix in a sentence) and a list of them.

The model check, the doctor and the admin page all speak this one shape, so a problem reads the same on
the command line, in `serve`'s start-up output and on the web page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}


@dataclass(frozen=True)
class Check:
    part: str
    status: str
    detail: str
    fix: str = ""

    def __post_init__(self) -> None:
        if self.status not in _RANK:
            raise ValueError(f"check status must be ok, warn or fail, not {self.status!r}")


@dataclass
class Report:
    title: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)

    def add(self, part: str, status: str, detail: str, fix: str = "") -> Check:
        check = Check(part, status, detail, fix)
        self.checks.append(check)
        return check

    def extend(self, checks: Iterable[Check]) -> None:
        self.checks.extend(checks)

    @property
    def status(self) -> str:
        return worst(c.status for c in self.checks)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "status": self.status, "checks": [asdict(c) for c in self.checks],
                "facts": self.facts}

    def text(self) -> str:
        """Plain lines for a terminal or a journal: one per check, its fix indented under it."""
        width = max((len(c.part) for c in self.checks), default=0)
        lines = [f"{self.title}: {self.status.upper()}"]
        for c in self.checks:
            lines.append(f"  {c.status.upper():4}  {c.part:{width}}  {c.detail}")
            if c.fix and c.status != OK:
                lines.append(f"        {'':{width}}  fix: {c.fix}")
        return "\n".join(lines)


def worst(statuses: Iterable[str]) -> str:
    return max(statuses, key=_RANK.__getitem__, default=OK)


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
