"""Any OpenAI-compatible server (vLLM, SGLang, llama.cpp's server, TGI, `transformers serve`) through
the legacy `/v1/completions` endpoint, so the raw DeepSeekMath prompt reaches the model unchanged.

Streams Server-Sent Events; stop strings are enforced here, where the text shows which one ended a
reply (servers cut it and call EOS and a stop string alike `stop`).
Several servers may be given (`ServerPool`): a request goes to the next healthy one, and one that
fails before any text arrived moves at once to a server it has not tried, then is retried with
exponential backoff; one that fails mid-stream, or a server that answers garbage, ends the turn
with a BackendError that says what happened (text already shown to the student is never silently
regenerated elsewhere).
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from pathlib import Path
from typing import Any, Generator, Iterable, Iterator, Sequence

import httpx

from tutor.solver.backends.base import ContextFull, Generation, StopScanner, Stream
from tutor.solver.backends.servers import ServerPool, server_urls
from tutor.errors import BackendError
from tutor.settings import SolverSettings
from tutor.solver.prompt import BOS, EOS

_RETRY_STATUS = {408, 429, 500, 502, 503, 504}


class _Retryable(Exception):
    pass


def _local_tokenizer(model: str) -> Any:
    """The model's tokenizer.json via the small `tokenizers` library, when it is on disk (a local
    folder, or the Hugging Face cache of a hub id)."""
    path = Path(model) / "tokenizer.json"
    if not path.is_file():
        try:
            from huggingface_hub import try_to_load_from_cache
            cached = try_to_load_from_cache(model, "tokenizer.json")
        except Exception:  # not installed, or not a valid repo id
            cached = None
        if not isinstance(cached, str):
            return None
        path = Path(cached)
    try:
        from tokenizers import Tokenizer
        return Tokenizer.from_file(str(path))
    except Exception:  # no `tokenizers`, or a file it cannot read: fall back to the estimate
        return None


class OpenAIBackend:
    name = "openai"

    def __init__(self, base_url: str | Iterable[str], model: str, *, api_key: str = "", timeout_s: float = 60.0,
                 retries: int = 2, backoff_s: float = 0.5, send_bos: bool = False,
                 transport: httpx.BaseTransport | None = None):
        self.servers = ServerPool(server_urls(base_url))
        self.base_url = self.servers.urls[0]
        self.model = model
        self.timeout_s = float(timeout_s)
        self.retries = max(0, int(retries))
        self.backoff_s = backoff_s
        # vLLM, SGLang, llama.cpp and transformers serve tokenize with add_special_tokens: the
        # server puts BOS in front itself, so by default we leave it off (never two BOS tokens)
        self.send_bos = send_bos
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(headers=headers, transport=transport,
                                    timeout=httpx.Timeout(self.timeout_s, connect=min(10.0, self.timeout_s)))
        self._tokenizer = _local_tokenizer(model)

    @classmethod
    def from_spec(cls, arg: str, settings: SolverSettings) -> "OpenAIBackend":
        return cls(arg or settings.openai_base_url, settings.model, api_key=settings.openai_api_key,
                   timeout_s=settings.backend_timeout_s, retries=settings.backend_retries,
                   send_bos=settings.openai_send_bos)

    def count_tokens(self, text: str) -> int:
        if self._tokenizer is not None:
            return len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        # no tokenizer here: bytes / 3 over-estimates DeepSeekMath's BPE on English, maths and code
        return math.ceil(len(text.encode("utf-8")) / 3)

    def close(self) -> None:
        self._client.close()

    def complete(self, prompt: str, *, stop: Sequence[str], max_tokens: int,
                 cancel: threading.Event | None = None, cache_key: str | None = None) -> Stream:
        sent = prompt if self.send_bos or not prompt.startswith(BOS) else prompt[len(BOS):]
        body = {"model": self.model, "prompt": sent, "max_tokens": int(max_tokens), "temperature": 0.0,
                "stream": True}
        # Stop strings are enforced here only, never sent: llama.cpp, vLLM and SGLang cut a matched stop
        # string from the text and report finish_reason "stop" exactly as for EOS, so the loop could not
        # tell "run this code" from "the reply is over". Closing the stream at the match stops the server.
        return Stream(self._stream(prompt, body, stop, cancel))

    # --- one streamed request, with fail-over and retries before the first byte of text -------------
    def _stream(self, prompt: str, body: dict, stop: Sequence[str],
                cancel: threading.Event | None) -> Generator[str, None, Generation]:
        start = time.monotonic()
        scanner = StopScanner([*stop, EOS] if EOS not in stop else stop)
        state: dict[str, Any] = {"chunks": 0, "finish": None, "usage": None, "first": None}
        attempt = 0
        tried: list[str] = []   # servers that failed this request since the last backoff
        while True:
            url = self.servers.pick(exclude=tried)
            try:
                yield from self._attempt(url, body, scanner, state, cancel, start)
                self.servers.succeeded(url)
                break
            except Exception as exc:
                if cancel is not None and cancel.is_set():   # the Stop closed the connection under the read
                    state["finish"] = "cancelled"
                    break
                if not isinstance(exc, _Retryable):
                    raise
                self.servers.failed(url, str(exc))
                if state["chunks"]:
                    raise BackendError(f"the model server at {url} failed: {exc}") from None
                tried.append(url)
                if len(set(tried)) < len(self.servers):
                    continue   # nothing was generated yet: another server takes the request at once
                if attempt >= self.retries:
                    where = url if len(self.servers) == 1 else f"{', '.join(self.servers.urls)} (every one)"
                    raise BackendError(f"the model server at {where} failed: {exc}") from None
                if cancel is not None and cancel.wait(self.backoff_s * (2 ** attempt)):
                    state["finish"] = "cancelled"
                    break
                if cancel is None:
                    time.sleep(self.backoff_s * (2 ** attempt))
                attempt += 1
                tried = []
        finish = state["finish"]
        if scanner.hit is not None:
            finish = "eos" if scanner.hit == EOS else "stop"
        elif finish != "cancelled":
            rest = scanner.flush()
            if rest:
                yield rest
            finish = {"length": "length"}.get(finish, "eos")
        usage = state["usage"] or {}
        return Generation(text=scanner.text, finish=finish,
                          tokens_in=int(usage.get("prompt_tokens") or self.count_tokens(prompt)),
                          tokens_out=int(usage.get("completion_tokens") or state["chunks"]),
                          seconds=time.monotonic() - start, stop=scanner.hit, first_token_s=state["first"])

    def _attempt(self, base: str, body: dict, scanner: StopScanner, state: dict, cancel: threading.Event | None,
                 start: float) -> Generator[str, None, None]:
        url = f"{base}/completions"
        try:
            with self._client.stream("POST", url, json=body) as response, _closed_on_stop(cancel, response):
                if response.status_code != 200:
                    detail = _error_detail(response)
                    if response.status_code in _RETRY_STATUS:
                        raise _Retryable(f"HTTP {response.status_code}: {detail}")
                    if "context" in detail.lower() and ("length" in detail.lower() or "maximum" in detail.lower()):
                        raise ContextFull(f"the model server says the prompt is too long: {detail}")
                    raise BackendError(f"the model server refused the request (HTTP {response.status_code}): {detail}")
                for event in _sse_events(response):
                    if event is None:   # [DONE]
                        break
                    if "error" in event:
                        err = event["error"]
                        msg = err.get("message", err) if isinstance(err, dict) else err
                        raise BackendError(f"the model server reported an error mid-stream: {msg}")
                    choices = event.get("choices")
                    if not isinstance(choices, list):
                        raise BackendError(f"the model server sent an event without `choices`: {str(event)[:200]}")
                    if event.get("usage"):
                        state["usage"] = event["usage"]
                    for choice in choices[:1]:
                        text = choice.get("text") or ""
                        if not isinstance(text, str):
                            raise BackendError("the model server sent a non-text completion")
                        if text:
                            state["chunks"] += 1
                            out = scanner.feed(text)
                            if out:
                                if state["first"] is None:
                                    state["first"] = time.monotonic() - start
                                yield out
                        if choice.get("finish_reason"):
                            state["finish"] = choice["finish_reason"]
                    if scanner.hit is not None:
                        return   # closing the response tells the server to stop generating
                    if cancel is not None and cancel.is_set():
                        state["finish"] = "cancelled"
                        return
                if state["finish"] is None and not state["chunks"]:
                    raise _Retryable("the stream closed before any text")
                if state["finish"] is None:
                    self.servers.failed(base, "stream closed mid-reply")
                    raise BackendError(f"the model server at {base} closed the stream before the completion finished")
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _Retryable(f"cannot connect ({exc})") from None
        except httpx.TimeoutException:
            if state["chunks"]:
                self.servers.failed(base, "silent mid-reply")
                raise BackendError(f"the model server stopped sending for {self.timeout_s:.0f} s mid-reply") from None
            raise _Retryable(f"no answer within {self.timeout_s:.0f} s") from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            if state["chunks"]:
                # the text so far was already streamed to the student: the turn ends cleanly here
                # rather than another server starting the reply over under it
                self.servers.failed(base, f"connection broke mid-reply ({exc})")
                raise BackendError(f"the connection to the model server at {base} broke mid-reply ({exc})") from None
            raise _Retryable(f"the connection broke ({exc})") from None


@contextlib.contextmanager
def _closed_on_stop(cancel: threading.Event | None, response: httpx.Response) -> Iterator[None]:
    """A Stop closes the response at once, also while the server sends nothing (a request queued behind
    others, a long prompt being read): the server sees the connection go and stops generating."""
    if cancel is None:
        yield
        return
    done = threading.Event()

    def watch() -> None:
        while not cancel.wait(0.05):
            if done.is_set():
                return
        if not done.is_set():
            response.close()
    threading.Thread(target=watch, name="openai-stop", daemon=True).start()
    try:
        yield
    finally:
        done.set()


def _error_detail(response: httpx.Response) -> str:
    try:
        raw = response.read().decode("utf-8", "replace")
    except httpx.HTTPError:
        return "(no body)"
    try:
        data = json.loads(raw)
    except ValueError:
        return raw[:300] or "(empty body)"
    if isinstance(data, dict):
        err = data.get("error", data.get("detail", data))
        if isinstance(err, dict):
            err = err.get("message", err)
        return str(err)[:300]
    return str(data)[:300]


def _sse_events(response: httpx.Response) -> Generator[dict | None, None, None]:
    """JSON objects from `data:` lines; None for `[DONE]`. Anything else that is not SSE is garbage."""
    content_type = response.headers.get("content-type", "")
    if "text/event-stream" not in content_type:
        body = response.read().decode("utf-8", "replace")[:200]
        raise BackendError(f"the model server did not stream (content-type {content_type or 'missing'}): {body!r}")
    for line in response.iter_lines():
        if not line or line.startswith(":") or line.startswith(("event:", "id:", "retry:")):
            continue
        if not line.startswith("data:"):
            raise BackendError(f"the model server sent a malformed event line: {line[:200]!r}")
        data = line[5:].strip()
        if data == "[DONE]":
            yield None
            return
        try:
            event = json.loads(data)
        except ValueError:
            raise BackendError(f"the model server sent malformed JSON in its stream: {data[:200]!r}") from None
        if not isinstance(event, dict):
            raise BackendError(f"the model server sent a non-object event: {data[:200]!r}")
        yield event
