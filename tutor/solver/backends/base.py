"""The one small protocol every model backend speaks: stream text for a prompt, report tokens.

`Backend.complete()` returns a `Stream`: iterate it for text deltas; once it is exhausted,
`stream.result` is a `Generation` (why it stopped, tokens in/out). Stop strings are removed from
the text, as vLLM and DeepSeekMath's evaluation do.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Callable, Generator, Iterator, Protocol, Sequence, runtime_checkable

from tutor.errors import BackendError


class ContextFull(BackendError):
    """The prompt leaves no room in the model's context for the reply."""
    code = "context_full"
    status = 413


@dataclass(frozen=True)
class Generation:
    """How one generation ended.

    finish: `stop` (a stop string other than EOS), `eos`, `length` (max_tokens) or `cancelled`.
    tokens_in: prompt tokens; tokens_cached: how many of them were not re-encoded (KV cache reuse);
    tokens_out: generated tokens; stop: the stop string that ended it, if any.
    """
    text: str
    finish: str
    tokens_in: int
    tokens_out: int
    seconds: float
    tokens_cached: int = 0
    stop: str | None = None
    first_token_s: float | None = None


class Stream:
    """Iterator of text deltas wrapping a generator that *returns* its `Generation`."""

    def __init__(self, gen: Generator[str, None, Generation], on_close: Callable[[], None] | None = None):
        self._gen = gen
        self._on_close = on_close
        self.result: Generation | None = None

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            return next(self._gen)
        except StopIteration as stop:
            self.result = stop.value
            raise

    def close(self) -> None:
        """Stop reading; a backend still generating for this stream stops too."""
        self._gen.close()
        if self._on_close is not None:
            self._on_close()

    def text(self) -> str:
        """Drain the stream and return the whole text."""
        return "".join(self)


@runtime_checkable
class Backend(Protocol):
    name: str

    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        """Stream the continuation of `prompt`. `cache_key` names the turn, so a backend that keeps
        a KV cache may reuse it when the next prompt extends this one. Raises BackendError."""
        ...

    def count_tokens(self, text: str) -> int:
        """Tokens in `text` (exact where the backend has the tokenizer, a safe over-estimate otherwise)."""
        ...

    def close(self) -> None:
        ...


class StopScanner:
    """Finds stop strings in streamed text without ever emitting part of one.

    Text that could still be the start of a stop string is held back until the next piece
    settles it; `feed()` returns what is safe to show and whether a stop string was hit.
    """

    def __init__(self, stops: Sequence[str]):
        self.stops = [s for s in stops if s]
        self._hold = max((len(s) for s in self.stops), default=1) - 1
        self._buf = ""
        self.emitted: list[str] = []
        self.hit: str | None = None

    def feed(self, piece: str) -> str:
        if self.hit is not None:
            return ""
        self._buf += piece
        first: tuple[int, str] | None = None
        for s in self.stops:
            i = self._buf.find(s)
            if i >= 0 and (first is None or i < first[0]):
                first = (i, s)
        if first is not None:
            out, self._buf, self.hit = self._buf[:first[0]], "", first[1]
        else:
            # hold back only a suffix that is a prefix of some stop string
            keep = 0
            for k in range(min(self._hold, len(self._buf)), 0, -1):
                tail = self._buf[-k:]
                if any(s.startswith(tail) for s in self.stops):
                    keep = k
                    break
            cut = len(self._buf) - keep
            out, self._buf = self._buf[:cut], self._buf[cut:]
        if out:
            self.emitted.append(out)
        return out

    def flush(self) -> str:
        out, self._buf = ("" if self.hit else self._buf), ""
        if out:
            self.emitted.append(out)
        return out

    @property
    def text(self) -> str:
        return "".join(self.emitted)


_PSEUDO_TOKEN = re.compile(r"\s*[A-Za-z]+|\s*\d{1,3}|\s*[^\sA-Za-z\d]|\s+")


def pseudo_tokens(text: str) -> list[str]:
    """Split text into token-like pieces (words, up to 3 digits, single symbols) for backends that
    play back text without a tokenizer; their counts over-estimate a BPE tokenizer's slightly."""
    return _PSEUDO_TOKEN.findall(text)


def playback(text: str, prompt: str, *, stop: Sequence[str], max_tokens: int,
             cancel: threading.Event | None, delay_s: float = 0.0,
             fail: BaseException | None = None) -> Generator[str, None, Generation]:
    """Stream fixed text as a model would: token by token, honouring stop strings, EOS, max_tokens
    and cancel. `fail` is raised after the text is streamed (a backend dying mid-stream)."""
    from tutor.solver.prompt import EOS

    start = time.monotonic()
    scanner = StopScanner([*stop, EOS] if EOS not in stop else stop)  # played text always ends at EOS
    n = 0
    first: float | None = None
    finish = "eos"
    for piece in pseudo_tokens(text):
        if delay_s:   # the time a model takes per token; a Stop during it ends the stream at once
            if cancel is not None:
                cancel.wait(delay_s)
            else:
                time.sleep(delay_s)
        if cancel is not None and cancel.is_set():
            finish = "cancelled"
            break
        if n >= max_tokens:
            finish = "length"
            break
        n += 1
        out = scanner.feed(piece)
        if out:
            first = first if first is not None else time.monotonic() - start
            yield out
        if scanner.hit is not None:
            break
    else:
        if fail is not None:
            rest = scanner.flush()
            if rest:
                yield rest
            raise fail
    if scanner.hit is None:
        rest = scanner.flush()
        if rest:
            yield rest
    hit = scanner.hit
    if hit is not None:
        finish = "eos" if hit == EOS else "stop"
    return Generation(text=scanner.text, finish=finish, tokens_in=len(pseudo_tokens(prompt)), tokens_out=n,
                      seconds=time.monotonic() - start, stop=hit, first_token_s=first)
