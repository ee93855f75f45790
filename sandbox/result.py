"""What one cell run produced, as plain frozen dataclasses (no kernel objects leak out)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class CellError:
    type: str
    message: str
    traceback: str = ""   # plain text, ANSI colours removed

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class CellResult:
    stdout: str = ""
    stderr: str = ""
    error: CellError | None = None
    results: list[str] = field(default_factory=list)   # text/plain of execute_result / display_data
    timed_out: bool = False
    restarted: bool = False     # the kernel was replaced: variables from earlier cells are gone
    duration_s: float = 0.0
    truncated: bool = False     # output passed the cap and was cut (a marker is in stdout/stderr)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.timed_out

    def to_dict(self) -> dict:
        return {
            "stdout": self.stdout,
            "stderr": self.stderr,
            "error": self.error.to_dict() if self.error else None,
            "results": list(self.results),
            "timed_out": self.timed_out,
            "restarted": self.restarted,
            "duration_s": round(self.duration_s, 6),
            "truncated": self.truncated,
        }
