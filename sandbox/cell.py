"""What one execute request collected from the kernel's messages, bounded by the output cap."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sandbox.result import CellError, CellResult

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]")
TRUNCATED = "\n[... output truncated: more than {n} characters ...]"


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


@dataclass
class Cell:
    cap: int
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    error: CellError | None = None
    used: int = 0
    truncated: bool = False
    idle: bool = False
    replied: bool = False
    started: bool = False   # the kernel announced it is running this cell (a Stop's interrupt now lands in it)

    def add(self, where: list[str], text: str) -> None:
        """Keep text until the cap; the part that passes it is replaced by a visible marker."""
        if self.truncated:
            return
        room = self.cap - self.used
        if len(text) > room:
            self.truncated = True
            text = text[:max(room, 0)] + TRUNCATED.format(n=self.cap)
        self.used += len(text)
        where.append(text)

    def take(self, m: dict, from_shell: bool) -> None:
        """One signed message addressed to this cell's request."""
        kind, content = m["header"].get("msg_type"), m.get("content") or {}
        if from_shell:
            if kind == "execute_reply":
                self.replied = True
                if content.get("status") == "error" and self.error is None:
                    self.error = error_from(content)
                elif content.get("status") == "aborted" and self.error is None:
                    self.error = CellError("Aborted", "execution was aborted", "")
            return
        if kind == "status":
            self.idle = self.idle or content.get("execution_state") == "idle"
        elif kind == "execute_input":
            self.started = True
        elif kind == "stream":
            self.add(self.stderr if content.get("name") == "stderr" else self.stdout, str(content.get("text", "")))
        elif kind in ("execute_result", "display_data"):
            data = content.get("data") or {}
            text = data.get("text/plain")   # never HTML/JS, never pickled objects
            if isinstance(text, str):
                self.add(self.results, strip_ansi(text))
        elif kind == "error":
            self.error = error_from(content)

    def result(self, **kw) -> CellResult:
        return CellResult(stdout="".join(self.stdout), stderr="".join(self.stderr), error=self.error,
                          results=list(self.results), truncated=self.truncated, **kw)


def error_from(content: dict) -> CellError:
    tb = content.get("traceback") or []
    tb_text = strip_ansi("\n".join(str(line) for line in tb))
    if len(tb_text) > 20_000:   # keep where it started and, above all, where it ended
        tb_text = tb_text[:4_000] + "\n[... traceback truncated ...]\n" + tb_text[-16_000:]
    return CellError(str(content.get("ename", "Error"))[:200], strip_ansi(str(content.get("evalue", "")))[:5000], tb_text)
