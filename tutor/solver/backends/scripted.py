"""A backend that plays replies written by a test, a demo or a UI check (llm's MockModel, in short).

    backend = ScriptedBackend()
    backend.enqueue("First reply.", "Second reply.")            # consumed one per generation
    backend.add_rule(r"derivative", "```python\\nprint(2)\\n```\\n```output\\n2\\n```\\nSo \\\\boxed{2}.")
    backend.enqueue(Failure("Half a rep", BackendError("server went away")))   # dies mid-stream

Queued replies are used first, in order, each for one generation (stop strings cut them as a
model's would). Otherwise the first rule whose regex matches the prompt answers, else `default`.
A rule's or default's reply may be a function of the prompt. A reply that holds a complete
```output block is a whole trajectory: round k of a turn gets the text after its k-th output
block (the round is read from the prompt), like the replay backend; any other reply is the text
of this one generation.
`scripted:PATH` reads the same from a JSON file:
{"responses": ["...", {"text": "...", "error": "message"}], "rules": [{"match": "regex",
"reply": "...", "times": 1}], "default": "...", "delay_s": 0.0}.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, Union

from tutor.solver.backends.base import Stream, playback, pseudo_tokens
from tutor.solver.backends.replay import split_prompt, split_rounds
from tutor.errors import BackendError
from tutor.solver.prompt import EOS, OUTPUT_STOP


@dataclass(frozen=True)
class Failure:
    """Stream `text`, then fail with `error` (a server dying mid-reply)."""
    text: str = ""
    error: BaseException = field(default_factory=lambda: BackendError("the scripted backend failed"))


Reply = Union[str, Failure, BaseException, Callable[[str], str]]


@dataclass
class Rule:
    match: Callable[[str], bool]
    reply: Reply
    times: int | None = None   # None: any number of times
    used: int = 0
    pattern: str = ""


def _holds_output_block(text: str) -> bool:
    i = text.find(OUTPUT_STOP)
    return i >= 0 and text.find("```", i + len(OUTPUT_STOP)) >= 0


class ScriptedBackend:
    name = "scripted"

    def __init__(self, responses: Sequence[Reply] = (), *, rules: Sequence[tuple[Any, Reply]] = (),
                 default: Reply | None = None, delay_s: float = 0.0):
        self._lock = threading.Lock()
        self._queue: list[Reply] = list(responses)
        self._rules: list[Rule] = []
        self.default = default
        self.delay_s = delay_s
        self.prompts: list[str] = []   # every prompt this backend was asked to continue, in order
        for match, reply in rules:
            self.add_rule(match, reply)

    # --- scripting ----------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> "ScriptedBackend":
        with self._lock:
            self._queue.extend(replies)
        return self

    def add_rule(self, match: str | re.Pattern[str] | Callable[[str], bool], reply: Reply, *,
                 times: int | None = None) -> "ScriptedBackend":
        """Answer prompts that `match` (a regex searched in the prompt, or a predicate) with `reply`."""
        if isinstance(match, str):
            match = re.compile(match)
        test = match.search if isinstance(match, re.Pattern) else match
        pattern = match.pattern if isinstance(match, re.Pattern) else getattr(match, "__name__", "predicate")
        with self._lock:
            self._rules.append(Rule(lambda p, t=test: bool(t(p)), reply, times, pattern=pattern))
        return self

    @property
    def pending(self) -> int:
        """Queued replies not yet used."""
        with self._lock:
            return len(self._queue)

    @classmethod
    def from_file(cls, path: str | Path) -> "ScriptedBackend":
        try:
            spec = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise BackendError(f"cannot read script {path}: {exc.strerror or exc}") from None
        except ValueError as exc:
            raise BackendError(f"script {path} is not JSON: {exc}") from None
        if not isinstance(spec, dict):
            raise BackendError(f"script {path} must be a JSON object")

        def reply(item: Any) -> Reply:
            if isinstance(item, str):
                return item
            if isinstance(item, dict) and "error" in item:
                return Failure(str(item.get("text", "")), BackendError(str(item["error"])))
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                return item["text"]
            raise BackendError(f"script {path}: a reply must be text or {{'text', 'error'}}, got {item!r}")

        backend = cls([reply(r) for r in spec.get("responses", [])],
                      default=reply(spec["default"]) if spec.get("default") is not None else None,
                      delay_s=float(spec.get("delay_s", 0.0)))
        for rule in spec.get("rules", []):
            if not isinstance(rule, dict) or "match" not in rule or "reply" not in rule:
                raise BackendError(f"script {path}: each rule needs `match` and `reply`")
            try:
                backend.add_rule(str(rule["match"]), reply(rule["reply"]), times=rule.get("times"))
            except re.error as exc:
                raise BackendError(f"script {path}: bad regex {rule['match']!r}: {exc}") from None
        return backend

    # --- the Backend protocol -------------------------------------------------------------------
    def _choose(self, prompt: str) -> tuple[Reply, bool]:
        """(reply, may_be_a_trajectory): queued replies are always single generations."""
        with self._lock:
            self.prompts.append(prompt)
            if self._queue:
                return self._queue.pop(0), False
            for rule in self._rules:
                if (rule.times is None or rule.used < rule.times) and rule.match(prompt):
                    rule.used += 1
                    return rule.reply, True
        if self.default is not None:
            return self.default, True
        raise BackendError("the scripted backend has no reply for this prompt")

    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        reply, trajectory = self._choose(prompt)
        fail: BaseException | None = None
        if isinstance(reply, Failure):
            reply, fail = reply.text, reply.error
        elif isinstance(reply, BaseException):
            raise reply
        elif callable(reply):
            reply = reply(prompt)
        text = str(reply)
        if trajectory and _holds_output_block(text):
            rounds = split_rounds(text)
            try:
                k = split_prompt(prompt)[1].count(OUTPUT_STOP)
            except BackendError:
                k = 0   # not a DeepSeekMath prompt (a hint or a Socratic reply): the whole text
            text = (rounds[k] + (OUTPUT_STOP if k < len(rounds) - 1 else EOS)) if k < len(rounds) else EOS
        return Stream(playback(text, prompt, stop=stop, max_tokens=max_tokens, cancel=cancel,
                               delay_s=self.delay_s, fail=fail))

    def count_tokens(self, text: str) -> int:
        return len(pseudo_tokens(text))

    def close(self) -> None:
        pass
