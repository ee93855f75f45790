"""Turns the typed events of a session into Gradio chat messages, safely.

Everything shown comes from people or programs we do not trust (the student, the model, the kernel),
so all text is made inert here: `&`, `<`, `>` become entities (Gradio's Markdown then shows them as
characters, and KaTeX still reads `a &lt; b` inside math as `a < b`); code and kernel output go into
`<pre>` blocks we build ourselves, with `$` as an entity so a dollar in code never pairs with one in
prose. `\\(…\\)` and `\\[…\\]` are handed to KaTeX as-is, and a bare `\\boxed{…}` outside math is
wrapped in `$…$` so the final answer always renders.

`ChatView` folds events (live stream or stored transcript alike) into messages plus the few facts
the page shows beside the chat: the running state, the hint rung and the last verdict.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from app.messages import friendly

# For gr.Chatbot(latex_delimiters=...): longest delimiters first, so `$$` is not read as two `$`.
LATEX_DELIMITERS = [
    {"left": "$$", "right": "$$", "display": True},
    {"left": "\\[", "right": "\\]", "display": True},
    {"left": "\\(", "right": "\\)", "display": False},
    {"left": "$", "right": "$", "display": False},
]

HINT_RUNGS = {1: "an orienting question", 2: "a strategy", 3: "the next move", 4: "the worked step"}
MAX_SHOWN_OUTPUT = 4000
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n(.*?)(?:\n```|\Z)", re.S)
# Inline `$…$` follows pandoc's rule, so prices are not math: the opening `$` has a non-space on its
# right, the closing one a non-space on its left and no digit after it ("$5 and $10" stays text).
_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]|\\\(.+?\\\)|(?<!\\)\$(?=[^\s$])[^$\n]*?(?<=[^\s\\])\$(?!\d)", re.S)
# Symbols every system font has (DejaVu included), not colour emoji that need an emoji font; the words
# carry the meaning, the symbol only repeats it.
_VERDICT_MARK = {"correct": ("✓", "Correct."), "valid": ("✓", "That step follows."),
                 "incorrect": ("✗", "Not yet."), "invalid": ("✗", "That step does not follow."),
                 "unreadable": ("⚠", "I could not read that."), "unchecked": ("•", "Recorded, not checked.")}


def verdict_sentence(verdict: str, feedback: str, first_bad_line: int | None = None) -> str:
    """A checked attempt in plain sentences: the verdict, then the checker's feedback unless it already
    says the same (its own wording names the line that went wrong)."""
    icon, word = _VERDICT_MARK.get(verdict, ("•", escape(str(verdict)).capitalize() + "."))
    feedback = " ".join(feedback.split())
    first = feedback.split(" ", 1)[0]
    if len(first) > 1 and first.isalpha() and first.islower():   # a word, not a variable like `x`
        feedback = feedback[0].upper() + feedback[1:]
    if verdict in ("valid", "invalid", "unreadable") and feedback:
        return f"{icon} {prose(feedback)}"      # the checker's sentence is the verdict
    if feedback.lower().startswith(word.lower().rstrip(".")):
        return f"{icon} {prose(feedback)}"
    line = f" (line {first_bad_line})" if first_bad_line and verdict not in ("correct", "valid") else ""
    return f"{icon} **{word.rstrip('.')}{line}.**" + (f" {prose(feedback)}" if feedback else "")


def escape(text: str) -> str:
    """Inert text for Gradio's Markdown. `![…](url)` would make every reader's browser fetch `url` (a
    teacher's included), so the `!` of an image becomes an entity: it shows as `!` before a plain link."""
    return html.escape(text, quote=False).replace("![", "&#33;[")


def code_block(text: str, css: str = "mt-code") -> str:
    """Our own `<pre>`: escaped, `$` neutralised, blank lines around so Markdown leaves it alone."""
    body = escape(text).replace("$", "&#36;")
    return f'\n\n<pre class="{css}"><code>{body}</code></pre>\n\n'


def _boxed_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every brace-matched `\\boxed{...}`."""
    spans = []
    for m in re.finditer(r"\\boxed\s*\{", text):
        depth, i = 1, m.end()
        while i < len(text) and depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        if depth == 0:
            spans.append((m.start(), i))
    return spans


def _prose_segment(text: str) -> str:
    """Plain prose with math: escape it, keep math spans intact, wrap bare \\boxed{} in $…$."""
    out: list[str] = []
    pos = 0
    for m in _MATH.finditer(text):
        out.append(_plain(text[pos:m.start()]))
        out.append(escape(m.group(0)))
        pos = m.end()
    out.append(_plain(text[pos:]))
    return "".join(out)


def _plain(text: str) -> str:
    """Text outside math: escaped, a bare \\boxed{} wrapped in math, and any other `$` (a price) as an
    entity, so the page's own math finder cannot pair it with another one."""
    pieces, pos = [], 0
    for start, end in _boxed_spans(text):
        pieces.append(_dollars(escape(text[pos:start])))
        pieces.append("$" + escape(text[start:end]) + "$")
        pos = end
    pieces.append(_dollars(escape(text[pos:])))
    return "".join(pieces)


def _dollars(text: str) -> str:
    return text.replace("$", "&#36;")


def prose(text: str) -> str:
    """Markdown for untrusted text with math: fenced code as inert <pre>, the rest escaped."""
    out, pos = [], 0
    for m in _FENCE.finditer(text):
        out.append(_prose_segment(text[pos:m.start()]))
        out.append(code_block(m.group(2)))
        pos = m.end()
    out.append(_prose_segment(text[pos:]))
    return "".join(out).strip()


def split_executed(text: str) -> str:
    """The round's prose without the ```python block that was run (it is shown in its own block)."""
    idx = text.rfind("```python")
    if idx == -1:
        return text
    return text[:idx].rstrip()


def output_text(event: Any) -> str:
    parts = []
    if getattr(event, "stdout", ""):
        parts.append(event.stdout.rstrip("\n"))
    if getattr(event, "stderr", ""):
        parts.append(event.stderr.rstrip("\n"))
    error = getattr(event, "error", None)
    if error:
        parts.append(f"{error.get('type', 'Error')}: {error.get('message', '')}".rstrip())
    if getattr(event, "timed_out", False):
        parts.append("(stopped: the code ran too long)")
    elif getattr(event, "restarted", False):
        parts.append("(the calculator was restarted)")
    text = "\n".join(parts) if parts else "(no output)"
    if len(text) > MAX_SHOWN_OUTPUT:
        text = text[:MAX_SHOWN_OUTPUT] + f"\n… ({len(text) - MAX_SHOWN_OUTPUT} more characters not shown)"
    return text


class StoredEvent:
    """Attribute access to a stored event dict; a field the dict lacks reads as None."""

    def __init__(self, data: dict[str, Any]):
        self._data = data

    def __getattr__(self, name: str) -> Any:
        return self._data.get(name)


@dataclass
class _Code:
    code: str
    output: str | None = None
    failed: bool = False
    seconds: float = 0.0


@dataclass
class ChatView:
    """The student's view of one session, rebuilt from events."""
    session_id: int | None = None
    mode: str = "tutor"
    question: str = ""
    items: list[Any] = field(default_factory=list)   # str (assistant markdown), ("user", md), _Code
    live: str = ""                                   # model text of the round being streamed
    live_round: int | None = None
    status: str = ""                                 # "", "Thinking…", "Running code…"
    hint_step: int = 0
    hint_level: int = 0
    hint_steps: int = 0
    verdict: str = ""                                # markdown beside the submit box
    solved: bool = False
    interrupted: bool = False
    finished: bool = False
    errors: list[str] = field(default_factory=list)  # error codes seen, for tests and the page

    # --- building ----------------------------------------------------------------------------------
    def user(self, text: str, label: str = "") -> None:
        shown = prose(text)
        self.items.append(("user", f"**{label}** {shown}" if label else shown))

    def notice(self, text: str) -> None:
        self.items.append(f"⚠ {escape(text)}")

    def apply(self, event: Any) -> None:
        if isinstance(event, dict):  # a stored transcript event (SessionView.events)
            event = StoredEvent(event)
        kind = getattr(event, "kind", "")
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(event)

    def extend(self, events: Iterable[Any]) -> "ChatView":
        for event in events:
            self.apply(event)
        self.flush()
        return self

    def flush(self) -> None:
        if self.live.strip():
            self.items.append(prose(self.live))
        self.live = ""
        self.live_round = None

    # --- event handlers (by event kind) ---------------------------------------------------------------
    def _on_session_started(self, e: Any) -> None:
        self.session_id = e.session_id
        self.mode = e.mode
        if not self.items and e.question:
            self.question = e.question
            self.user(e.question)

    def _on_message(self, e: Any) -> None:  # stored transcripts carry the student's own messages
        if (e.role or "student") == "student":
            self.flush()
            self.user(e.text or "")
        else:
            self.items.append(prose(e.text or ""))

    def _on_interrupted(self, e: Any) -> None:
        self.flush()
        self.interrupted = True
        self.items.append(f"ℹ {escape(friendly('interrupted'))}")

    def _on_text(self, e: Any) -> None:
        if self.live_round is not None and e.round != self.live_round:
            self.flush()
        self.live_round = e.round
        self.live += e.text
        self.status = "Thinking…"

    def _on_round_text(self, e: Any) -> None:
        self.live = e.text  # authoritative whole text of the round (also all a transcript has)
        self.live_round = e.round

    def _on_code(self, e: Any) -> None:
        before = split_executed(self.live)
        self.live = before
        self.flush()
        self.items.append(_Code(e.code))
        self.status = "Running code…"

    def _on_output(self, e: Any) -> None:
        block = next((i for i in reversed(self.items) if isinstance(i, _Code) and i.output is None), None)
        if block is None:
            block = _Code(e.code)
            self.items.append(block)
        block.output = output_text(e)
        block.failed = bool(e.error) or bool(e.timed_out)
        block.seconds = float(e.duration_s or 0.0)
        self.status = "Thinking…"

    def _on_answer(self, e: Any) -> None:
        self.flush()

    def _on_tutor_message(self, e: Any) -> None:
        self.flush()
        self.items.append(prose(e.text))

    def _on_key_status(self, e: Any) -> None:
        if e.status == "preparing":   # what is being prepared now: working the problem out, checking it
            self.status = e.message or "Preparing the problem…"
            return
        self.status = "Thinking…"
        if e.status in ("unverified", "unavailable") and e.message:
            self.items.append(f"ℹ {escape(e.message)}")

    def _on_hint(self, e: Any) -> None:
        self.flush()
        self.hint_step, self.hint_level, self.hint_steps = e.step, e.level, e.steps
        of_steps = f", step {e.step} of {e.steps}" if e.steps else ""
        self.items.append(f"**Hint — rung {e.level} of 4** ({HINT_RUNGS.get(e.level, 'hint')}{of_steps})"
                          f"\n\n{prose(e.text)}")

    def _on_attempt(self, e: Any) -> None:
        self.flush()
        if e.input:
            self.user(e.input, label={"answer": "My answer:", "work": "My work:"}.get(e.attempt_kind, "My step:"))
        self.verdict = verdict_sentence(e.verdict, e.feedback or "", e.first_bad_line)
        self.items.append(self.verdict)
        if e.solved:
            self.solved = True

    def _on_error(self, e: Any) -> None:
        self.flush()
        self.errors.append(e.code)
        self.items.append(f"⚠ {escape(friendly(e.code, e.message))}")
        self.status = ""

    def _on_waiting(self, e: Any) -> None:
        """The server is full: the student's request is kept in line; say where it stands."""
        if not e.place:
            self.status = "Thinking…"
            return
        what = "a code kernel" if e.what == "kernel" else "the tutor"
        about = f", about {max(1, round(e.eta_s))} s" if e.eta_s >= 0.5 else ""
        self.status = f"Waiting for {what}: you are number {e.place} in line{about}. Your request is kept."

    def _on_done(self, e: Any) -> None:
        self.flush()
        if e.stopped == "cancelled":
            self.items.append(f"■ {escape(friendly('cancelled'))}")
        self.status = ""

    # --- output --------------------------------------------------------------------------------------
    def messages(self) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for n, item in enumerate(self.items):
            if isinstance(item, tuple):
                out.append({"role": "user", "content": item[1]})
            elif isinstance(item, _Code):
                out.append(self._code_message(item, n))
            else:
                out.append({"role": "assistant", "content": item})
        if self.live.strip():
            out.append({"role": "assistant", "content": prose(self.live)})
        return out

    def _code_message(self, block: _Code, n: int) -> dict[str, Any]:
        body = "**Code**" + code_block(block.code, "mt-code")
        metadata: dict[str, Any] = {"title": "ran code", "id": f"code-{n}"}
        if block.output is None:
            metadata.update(status="pending", log="running code…")
        else:
            body += "**Output**" + code_block(block.output, "mt-output mt-error" if block.failed else "mt-output")
            metadata.update(status="done", duration=round(block.seconds, 2),
                            log="error" if block.failed else "")
        return {"role": "assistant", "content": body.strip(), "metadata": metadata}

    @property
    def rung_label(self) -> str:
        if not self.hint_level:
            return "No hints used yet."
        steps = f" · step {self.hint_step} of {self.hint_steps}" if self.hint_steps else ""
        return f"Hint rung **{self.hint_level} of 4**{steps}"
