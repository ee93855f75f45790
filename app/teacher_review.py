"""A session's full record as the teacher reviews it: every event in order turned into chat messages
(student messages, tutor text with math, each code cell with its output, hints with their rung,
attempts with verdicts and feedback, system notes), plus a facts panel (the solution key, whether code
verified it, flags, sandbox kills, guard replacements, interruptions).

All text comes from the student, the model or the kernel, so it goes through `app.render`'s inert
helpers (escaped prose with math left for KaTeX, code in our own <pre>): nothing here can inject HTML.
Unlike the student's view this includes the private solution work, marked as hidden from the student.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from app.render import HINT_RUNGS, code_block, escape, output_text, prose, split_executed

# Words, not colour emoji: many school machines have no emoji font and show them as empty boxes.
PRIVATE = "hidden from the student"
_VERDICT = {"correct": "correct", "valid": "a valid step", "incorrect": "incorrect", "invalid": "not a valid step",
            "unreadable": "could not be read", "unchecked": "not checked"}
# What the guard's and the key's codes mean, for a teacher.
_GUARD = {"replaced": "the model's hint gave too much away, so a regenerated one was shown",
          "fallback": "the model's hints gave too much away, so a prepared hint was shown instead",
          "refused": "the reply was held back because it gave the answer away",
          "failed": "the guard could not check the hint, so a prepared hint was shown"}
_CODES = {"backend_unavailable": "the model was not answering", "sandbox_busy": "the calculator was busy",
          "sandbox_error": "the calculator failed", "sandbox_unsafe": "the calculator is switched off",
          "timeout": "it took too long", "timed_out": "it took too long"}
# Events that carry nothing a reviewer needs beyond what other events show.
_QUIET = {"code", "text"}


@dataclass
class _Out:
    """Attribute view of a stored `output` event for app.render.output_text."""
    stdout: str = ""
    stderr: str = ""
    error: dict[str, str] | None = None
    timed_out: bool = False
    restarted: bool = False


@dataclass
class ReviewFacts:
    """What the facts panel and the tests read: counts a teacher would want at a glance."""
    code_cells: int = 0
    sandbox_kills: int = 0
    hints: int = 0
    guard_replaced: int = 0
    attempts: int = 0
    interrupted: bool = False
    key_verified: bool | None = None
    disagreement: bool = False
    system_flags: list[str] = field(default_factory=list)


class TranscriptRenderer:
    """Folds a store `Transcript` into gr.Chatbot messages (in order) and a Markdown facts panel."""

    def __init__(self, transcript: Any):
        self.t = transcript
        self.messages: list[dict[str, Any]] = []
        self.facts = ReviewFacts()
        self._pending: tuple[str, bool] | None = None  # model text of the round, waiting for its code cell
        self._cell = 0

    # --- building --------------------------------------------------------------------------------
    def render(self) -> "TranscriptRenderer":
        for event in self.t.events:
            self._event(event)
        self._flush()
        self._facts_from_records()
        return self

    def _say(self, role: str, content: str, private: bool = False, title: str | None = None,
             log: str = "") -> None:
        """One message; its title (and the private marker) is a header line inside it rather than a
        Gradio "thought" accordion, so every piece of evidence is on screen without clicking."""
        parts = [p for p in (title, PRIVATE if private else None) if p]
        head = f"**{' · '.join(parts)}**" if parts else ""
        if log:
            head += f" — {escape(log)}"
        body = content.strip() or "(empty)"
        msg: dict[str, Any] = {"role": role, "content": f"{head}\n\n{body}" if head else body}
        self.messages.append(msg)

    def _flush(self, executed: bool = False) -> None:
        if self._pending is None:
            return
        text, private = self._pending
        self._pending = None
        if executed:
            text = split_executed(text)
        if text.strip():
            self._say("assistant", prose(text), private, title="Model reasoning" if private else None)

    def _event(self, ev: Any) -> None:
        data: dict[str, Any] = dict(ev.data or {})
        kind = ev.kind
        private = bool(ev.private)
        if kind in _QUIET:
            if kind == "code":
                self._flush(executed=True)
            return
        if kind == "round_text":
            self._flush()
            self._pending = (data.get("text") or ev.text or "", private)
            return
        if kind == "output":
            self._flush(executed=True)
            self._code_cell(data, private)
            return
        self._flush()
        handler = getattr(self, "_on_" + kind, None)
        if handler is not None:
            handler(data, private, ev)
        else:
            self._unknown(kind, data, private)

    def _code_cell(self, d: dict[str, Any], private: bool) -> None:
        self._cell += 1
        out = _Out(d.get("stdout") or "", d.get("stderr") or "", d.get("error"), bool(d.get("timed_out")),
                   bool(d.get("restarted")))
        failed = bool(out.error) or out.timed_out
        body = "**Code**" + code_block(d.get("code") or "", "mt-code")
        body += "**Output**" + code_block(output_text(out), "mt-output mt-error" if failed else "mt-output")
        log = "killed: timed out" if out.timed_out else ("kernel restarted" if out.restarted else
                                                         ("error" if out.error else ""))
        seconds = float(d.get("duration_s") or 0.0)
        title = f"ran code #{self._cell} ({seconds:.2f} s)"
        self._say("assistant", body, private, title=title, log=log)

    # --- event kinds ---------------------------------------------------------------------------------
    def _on_session_started(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        mode = "solve mode" if d.get("mode") == "solve" else "tutoring mode"
        resumed = " (resumed)" if d.get("resumed") else ""
        if d.get("question") and not d.get("resumed"):
            self._say("user", f"**Question** ({mode}){resumed}\n\n{prose(d['question'])}")
        else:
            self._say("assistant", f"Session continued in {escape(mode)}{resumed}.")

    def _on_message(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        role = d.get("role") or "student"
        text = d.get("text") or ev.text or ""
        if role == "student":
            self._say("user", prose(text))
        elif role == "system":
            self._say("assistant", f"**System:** {prose(text)}", private)
        else:
            self._say("assistant", prose(text), private)

    def _on_tutor_message(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        self._say("assistant", prose(d.get("text") or ev.text or ""), private)

    def _on_key_status(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        status = d.get("status") or ""
        if status == "preparing":
            return
        steps = f" It has {d['steps']} steps." if d.get("steps") else ""
        note = f" {escape(d['message'])}" if d.get("message") else ""
        self._say("assistant", f"The solution key is {escape(status)}.{steps}{note}", True, title="Solution key")

    def _on_key_work(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        self._say("assistant", prose(d.get("text") or ev.text or ""), True, title="Worked solution (key)")

    def _on_hint(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        level = int(d.get("level") or 0)
        steps = f" of {d['steps']}" if d.get("steps") else ""
        guard = d.get("guard") or "passed"
        guard_note = "" if guard == "passed" else f" · guard: {escape(guard)} ({_GUARD.get(guard, 'see the flags')})"
        bottom = " · bottom-out" if d.get("bottom_out") or level >= 4 else ""
        head = (f"**Hint — step {d.get('step', '?')}{steps}, rung {level} of 4** "
                f"({HINT_RUNGS.get(level, 'hint')}){bottom}{guard_note}")
        self._say("assistant", f"{head}\n\n{prose(d.get('text') or ev.text or '')}", private)

    def _on_attempt(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        kind = d.get("attempt_kind") or "answer"
        label = {"answer": "Answer", "work": "Worked solution"}.get(kind, "Step(s)")
        self._say("user", f"**{label}:** {prose(d.get('input') or '')}")
        verdict = d.get("verdict") or ""
        mark = _VERDICT.get(verdict, escape(verdict))
        line = f" (line {d['first_bad_line']})" if d.get("first_bad_line") else ""
        feedback = f"\n\nFeedback shown: {prose(d['feedback'])}" if d.get("feedback") else ""
        solved = " · solved" if d.get("solved") else ""
        self._say("assistant", f"**Verdict:** {mark}{line}{solved}{feedback}", private)

    def _on_answer(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        self._say("assistant", f"The model's final answer: {_math(d.get('answer') or '')} "
                               f"(from {escape(d.get('source') or 'boxed')})", private)

    def _on_mastery(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        p = d.get("p_mastery")
        shown = f"{float(p):.2f}" if isinstance(p, (int, float)) else "?"
        mastered = " · mastered" if d.get("mastered") else ""
        self._say("assistant", f"Mastery of {escape(str(d.get('skill') or '?'))}: {shown}{mastered}", private)

    def _on_error(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        code = str(d.get("code") or "error")
        self._say("assistant", f"**System:** the student was shown an error: {escape(_CODES.get(code, code))}. "
                               f"{escape(str(d.get('message') or ''))}", private)

    def _on_done(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        stopped = d.get("stopped") or ""
        if stopped in ("cancelled", "error", "max_rounds", "max_tokens", "context"):
            self.facts.interrupted |= stopped == "cancelled"
            self._say("assistant", f"**System:** turn ended early ({escape(stopped)}) after "
                                   f"{d.get('rounds', '?')} round(s)", private)

    def _on_interrupted(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        self.facts.interrupted = True
        self._say("assistant", "**System:** session interrupted (the server stopped during a turn)", private)

    def _on_kernel_rebuilt(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        # another app replica (or a restart) re-ran the session's cells to rebuild its kernel
        mismatches = d.get("mismatches") or []
        differ = "; ".join(f"cell {m.get('cell')} printed {escape(str(m.get('now'))[:80])} instead of "
                           f"{escape(str(m.get('recorded'))[:80])}" for m in mismatches[:5])
        self._say("assistant", f"**System:** kernel rebuilt by re-running {d.get('cells', '?')} recorded cell(s)"
                               + (f"; {differ}" if differ else ", every output as recorded"), True, title="Kernel")

    def _on_hint_guard(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        outcome = d.get("outcome") or d.get("guard") or ""
        if outcome in ("", "passed"):
            return
        reasons = "; ".join(str(r) for r in d.get("reasons") or [])
        why = f" Why: {escape(reasons)}." if reasons else ""
        tries = f" It took {d['generations']} tries." if d.get("generations") else ""
        self._say("assistant", f"**Hint guard:** {escape(_GUARD.get(str(outcome), str(outcome)))}.{why}{tries}",
                  True, title="Guard")

    def _on_reply_guard(self, d: dict[str, Any], private: bool, ev: Any) -> None:
        guard = d.get("guard") or ""
        if guard in ("", "passed"):
            return
        reasons = "; ".join(str(r) for r in d.get("reasons") or [])
        why = f" Why: {escape(reasons)}." if reasons else ""
        self._say("assistant", f"**Reply guard:** {escape(_GUARD.get(str(guard), str(guard)))}.{why}", True,
                  title="Guard")

    def _unknown(self, kind: str, d: dict[str, Any], private: bool) -> None:
        d.pop("kind", None)
        self._say("assistant", f"Event `{escape(kind)}`: {escape(_compact(d))}", private)

    # --- facts ---------------------------------------------------------------------------------------
    def _facts_from_records(self) -> None:
        t, f = self.t, self.facts
        f.code_cells = len(t.code_cells)
        f.sandbox_kills = sum(1 for c in t.code_cells if c.timed_out or c.restarted)
        f.hints = len(t.hints)
        f.guard_replaced = sum(1 for h in t.hints if (h.guard or "passed") != "passed")
        f.attempts = len(t.attempts)
        f.interrupted = f.interrupted or t.session.status == "interrupted"
        if t.key is not None:
            f.key_verified = bool(t.key.verified)
            f.disagreement = bool(t.key.disagreement)
        f.system_flags = [fl.reason for fl in t.flags if fl.source == "system"]

    def facts_markdown(self) -> str:
        t, f = self.t, self.facts
        s = t.session
        learner = t.learner.display_name or t.learner.name
        lines = [f"**Learner:** {escape(learner)} ({escape(t.learner.name)}) · **session** #{s.id} · "
                 f"**mode:** {escape(s.mode)} · **status:** {escape(s.status)}"
                 + (" · **solved**" if s.solved else ""),
                 f"**Started:** {s.started_at:%Y-%m-%d %H:%M} UTC · **last activity:** {s.last_activity_at:%Y-%m-%d %H:%M}"]
        if t.problem is not None:
            lines.append(f"**Problem** (#{t.problem.id}, {escape(t.problem.source)}): {prose(t.problem.text)}")
            if t.problem.reference_answer:
                lines.append(f"**Teacher's reference answer:** {_math(t.problem.reference_answer)}")
        k = t.key
        if k is None:
            lines.append("**Solution key:** none recorded")
        else:
            how, notes = _verification(k.verification or "")
            source = f"from the {escape(k.source)}" + (f" ({escape(k.model)})" if k.model else "")
            if k.verified:
                said = f"The answer was verified by executed code{': ' + how if how else ''}."
            else:
                said = ("The answer is NOT verified by code, so treat hints and verdicts in this session with care"
                        + (f" ({how})" if how else "") + ".")
            lines.append(f"**Solution key:** {_math(k.answer or '?')}, {source}. {said}")
            if notes:
                lines.append("**While preparing the key:** " + " ".join(notes))
            if k.disagreement:
                lines.append(f"**Reference/model disagreement:** model says {_math(k.model_answer or '?')}, "
                             f"reference says {_math(k.reference_answer or '?')}")
            if k.steps:
                steps = "; ".join(f"{i + 1}. {escape(str(st.get('text') or st.get('description') or ''))}"
                                  + (f" → {escape(str(st['result']))}" if st.get("result") not in (None, "") else "")
                                  for i, st in enumerate(k.steps))
                lines.append(f"**Key steps:** {steps}")
        lines.append(f"**Code cells:** {f.code_cells} · **sandbox kills:** {f.sandbox_kills} · **hints:** {f.hints} "
                     f"(guard-replaced: {f.guard_replaced}) · **attempts:** {f.attempts}"
                     + (" · **interrupted**" if f.interrupted else ""))
        if t.flags:
            items = []
            for fl in t.flags:
                state = "open" if fl.resolved_at is None else f"resolved: {escape(fl.resolution or '')}"
                note = f" — {escape(fl.note)}" if fl.note else ""
                items.append(f"- #{fl.id} [{escape(fl.source)}] {escape(fl.reason)}{note} ({state})")
            lines.append("**Flags:**\n" + "\n".join(items))
        else:
            lines.append("**Flags:** none")
        return "\n\n".join(lines)


def _verification(text: str) -> tuple[str, list[str]]:
    """The key's verification record (its first line says how it was confirmed; further lines are problems
    met on the way, often error codes) as (how, [sentences])."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if not lines:
        return "", []
    def said(ln: str) -> str:
        ln = " ".join(_CODES.get(w.strip(".,;:()"), w) for w in ln.split())
        ln = ln[:1].upper() + ln[1:]
        return escape(ln if ln.endswith(".") else ln + ".")
    return escape(_CODES.get(lines[0], lines[0])), [said(ln) for ln in lines[1:]]


def _math(answer: str) -> str:
    """An answer as inline math when it looks like math (digits, LaTeX), else as plain text ("True")."""
    if re.search(r"[\\^_{}0-9]", answer) and "$" not in answer:
        return f"${escape(answer)}$"
    return escape(answer)


def _compact(d: dict[str, Any], limit: int = 400) -> str:
    text = json.dumps({k: v for k, v in d.items() if k != "kind"}, ensure_ascii=False, default=str)
    return text if len(text) <= limit else text[:limit] + "…"


def render_transcript(transcript: Any) -> tuple[list[dict[str, Any]], str, ReviewFacts]:
    """(chat messages, facts markdown, facts) for one session."""
    r = TranscriptRenderer(transcript).render()
    return r.messages, r.facts_markdown(), r.facts
