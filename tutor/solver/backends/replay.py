"""Replays recorded model text (ToRA / DeepSeekMath trajectories) round by round, with no GPU.

For each round it returns the recorded text up to the next ```output block; the recorded outputs
are skipped, so our own sandbox produces them. The round is read from the prompt (how many output
blocks the assistant part already holds), so the backend itself keeps no per-turn state.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from tutor.solver.backends.base import Stream, playback, pseudo_tokens
from tutor.errors import BackendError
from tutor.jsonl import read_jsonl
from tutor.solver.prompt import EOS, OUTPUT_STOP, SUFFIXES


@dataclass(frozen=True)
class Trajectory:
    question: str
    text: str                 # the assistant's whole recorded reply, output blocks included
    answer: str | None = None  # the dataset's ground truth, when the file has it
    index: int = 0


def split_rounds(text: str) -> list[str]:
    """The model text of each round: up to each ```output block, then whatever follows it."""
    rounds: list[str] = []
    rest = text
    while True:
        i = rest.find(OUTPUT_STOP)
        if i < 0:
            rounds.append(rest)
            return rounds
        rounds.append(rest[:i])
        end = rest.find("```", i + len(OUTPUT_STOP))
        if end < 0:  # an unterminated output block: nothing more the model said
            return rounds
        rest = rest[end + 3:]
        if rest.startswith("\n"):
            rest = rest[1:]


def split_prompt(prompt: str) -> tuple[str, str]:
    """(the last user question without its suffix, the assistant text written so far this turn)."""
    u = prompt.rfind("User: ")
    if u < 0:
        raise BackendError("the prompt has no `User:` message")
    head, sep, assistant = prompt[u + len("User: "):].partition("\n\nAssistant:")
    if not sep:
        raise BackendError("the prompt does not end with an `Assistant:` turn")
    for suffix in SUFFIXES.values():
        if suffix and head.endswith("\n" + suffix):
            head = head[: -len(suffix) - 1]
            break
    return head.strip(), assistant


def _normal(question: str) -> str:
    return " ".join(question.split())


def _record(row: dict[str, Any], index: int) -> Trajectory:
    if "messages" in row:
        msgs = row["messages"]
        user = [m["content"] for m in msgs if m.get("role") == "user"]
        reply = [m["content"] for m in msgs if m.get("role") == "assistant"]
        if not user or not reply:
            raise ValueError("`messages` needs a user and an assistant message")
        return Trajectory(user[-1], reply[-1], row.get("gt") or row.get("answer"), index)
    question = row.get("question") or row.get("problem")
    text = row.get("code") or row.get("trajectory") or row.get("response") or row.get("output")
    if isinstance(text, list):
        text = text[0] if text else None
    if not isinstance(question, str) or not isinstance(text, str):
        raise ValueError("expected `question` and `code`/`trajectory` fields, or `messages`")
    gt = row.get("gt", row.get("answer"))
    return Trajectory(question, text, None if gt is None else str(gt), index)


def load_trajectories(path: str | Path) -> list[Trajectory]:
    """Read a JSONL file of trajectories (ToRA's `question`/`code` rows or chat `messages` rows)."""
    out = []
    for n, row in read_jsonl(path, "replay file", BackendError):
        try:
            out.append(_record(row, len(out)))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackendError(f"{path}:{n}: not a trajectory ({exc})") from None
    if not out:
        raise BackendError(f"replay file {path} holds no trajectories")
    return out


class ReplayBackend:
    """`replay:PATH`: plays back recorded trajectories for the questions they answer."""

    name = "replay"

    def __init__(self, trajectories: Sequence[Trajectory], *, delay_s: float = 0.0, source: str = ""):
        self.trajectories = list(trajectories)
        self.source = source
        self.delay_s = delay_s
        self._by_question: dict[str, Trajectory] = {}
        for t in self.trajectories:
            self._by_question.setdefault(_normal(t.question), t)

    @classmethod
    def from_file(cls, path: str | Path, **kw: Any) -> "ReplayBackend":
        return cls(load_trajectories(path), source=str(path), **kw)

    def lookup(self, question: str) -> Trajectory | None:
        return self._by_question.get(_normal(question))

    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        question, assistant = split_prompt(prompt)
        found = self.lookup(question)
        if found is None:
            raise BackendError(f"no recorded trajectory for this question in {self.source or 'the replay file'}")
        rounds = split_rounds(found.text)
        k = assistant.count(OUTPUT_STOP)
        # rounds before the last end where the recorded output block began; the last one with EOS
        if k < len(rounds) - 1:
            text = rounds[k] + OUTPUT_STOP
        elif k == len(rounds) - 1:
            text = rounds[k] + EOS
        else:
            text = EOS
        return Stream(playback(text, prompt, stop=stop, max_tokens=max_tokens, cancel=cancel, delay_s=self.delay_s))

    def count_tokens(self, text: str) -> int:
        return len(pseudo_tokens(text))

    def close(self) -> None:
        pass
