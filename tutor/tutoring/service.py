"""The facade app/ and the CLI call: sessions, questions, hints, submissions, listings.

Stream methods validate their input *before* returning the stream (bad input raises a tutor.errors
class at the call); once streaming, failures become an `ErrorEvent(code, message)` and the stream
ends. Every event a student is sent is recorded in the store first; the hidden solution work is
recorded as private events that only teachers see.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Iterator

from tutor.errors import BadInput, Forbidden, InputTooLong, NotFound, SandboxUnavailable
from tutor.events import (AttemptChecked, ErrorEvent, Event, HintGiven, MasteryUpdated,
                          SessionStarted, TextDelta, TutorMessage)
from tutor.checking.steps import split_lines
from tutor.solver.prompt import STOP_STRINGS, build_prompt
from tutor.settings import Settings
from tutor.tutoring.actions import run_action
from tutor.tutoring.ahead import HintsAhead
from tutor.tutoring.handover import Handover
from tutor.tutoring.hints import BOTTOM_OUT, generate_hint
from tutor.tutoring.kernels import LazyRunner, SessionKernels
from tutor.tutoring.learner import BKTParams, observe
from tutor.practice.fit import fitted_params
from tutor.tutoring.listing import (ProblemView, SessionSummary, SessionView, problem_views, session_summaries,
                                    session_view)
from tutor.tutoring.preparation import prepare
from tutor.tutoring.worked import check_worked
from tutor.tutoring.session import check_answer, check_steps, opening_message, require_text, socratic_reply
from tutor.tutoring.state import LiveSession, apply, first_attempt, rebuild
from tutor.tutoring.stopping import unless_stopped

if TYPE_CHECKING:
    from sandbox import KernelPool
    from tutor.solver.backends.base import Backend
    from tutor.store import Store

MODES = ("tutor", "solve")
MAX_LIVE = 2000   # sessions kept in memory; older idle ones are reloaded from the store on use


class TutorService:
    def __init__(self, settings: Settings, *, store: Store, backend: Backend | None = None,
                 pool: KernelPool | None = None, owns: tuple[str, ...] = ()):
        self.settings = settings
        self.store = store
        self._backend = backend
        self._owns = set(owns)          # what close() must close: "store", "backend", "pool"
        self._lock = threading.Lock()
        self._live: dict[int, LiveSession] = {}
        self.handover = Handover(self)   # any replica continues any session (database lock, kernel replay)
        self.kernels = SessionKernels(settings, pool, busy=self._busy, restore=self.handover.restore)
        self.params = BKTParams.from_settings(settings.tutoring)
        self.model_slots: Any = None    # a ModelSlots the web app sets: model calls then hold a slot each
        self.ahead = HintsAhead(self._write_hint)   # the first hint, written while the key is confirmed

    @classmethod
    def from_settings(cls, settings: Settings, *, store: Store | None = None, backend: Backend | None = None,
                      pool: KernelPool | None = None) -> "TutorService":
        """Build the service; whatever is not given is made from settings (and closed by close()).
        The backend and the kernel pool are created lazily, on first use."""
        owns = []
        if store is None:
            from tutor.store import open_store
            store = open_store(settings)
            owns.append("store")
        if backend is None:
            owns.append("backend")
        if pool is None:
            owns.append("pool")
        return cls(settings, store=store, backend=backend, pool=pool, owns=tuple(owns))

    # --- lazily made parts ------------------------------------------------------------------------
    @property
    def backend(self) -> Backend:
        with self._lock:
            if self._backend is None:
                from tutor.solver.backends import get_backend
                self._backend = get_backend(None, self.settings.solver)
            if self.model_slots is not None:
                from tutor.solver.backends.slots import SlottedBackend
                return SlottedBackend(self._backend, self.model_slots)
            return self._backend

    def _busy(self, session_id: int) -> bool:
        live = self._live.get(session_id)
        return live is not None and live.lock.locked()

    def ask_model(self, live: LiveSession | None = None):
        cancel = live.cancel if live is not None else None   # the running action's Stop
        return lambda prompt, max_tokens: unless_stopped(cancel, self.backend.complete(
            prompt, stop=STOP_STRINGS, max_tokens=max_tokens, cancel=cancel).text())

    # --- policy -------------------------------------------------------------------------------------
    def modes_allowed(self, user_id: int) -> set[str]:
        user = self.store.get_user(user_id)
        if user.role in ("teacher", "admin"):
            return set(MODES)
        return {"tutor", "solve"} if self.store.class_policy(user_id).allow_solve_mode else {"tutor"}

    def _can_skip(self, user_id: int) -> bool:
        user = self.store.get_user(user_id)
        return user.role in ("teacher", "admin") or bool(self.store.class_policy(user_id).allow_hint_skip)

    # --- sessions -----------------------------------------------------------------------------------
    def start_session(self, user_id: int, *, question: str | None = None, problem_id: int | None = None,
                      mode: str = "tutor") -> Iterator[Event]:
        if mode not in MODES:
            raise BadInput(f"mode must be one of {', '.join(MODES)}")
        if (question is None) == (problem_id is None):
            raise BadInput("start a session with either a question or a problem")
        if question is not None:
            question = require_text(question, "question", self.settings.tutoring.max_question_chars)
        if mode not in self.modes_allowed(user_id):
            raise Forbidden("your class does not allow solve mode; the tutor will guide you instead")
        problem = self.store.get_problem(problem_id) if problem_id is not None else None
        if problem is not None and not self._may_use(user_id, problem):
            raise NotFound(f"no problem with id {problem_id}")
        classes = self.store.list_classes(student_id=user_id)
        rec = self.store.create_session(user_id, mode=mode, problem_id=problem_id, question=question,
                                        class_id=classes[0].id if classes else None)
        if problem is None:
            problem = self.store.get_problem(rec.problem_id)
        live = LiveSession(id=rec.id, user_id=user_id, mode=mode, question=problem.text, problem_id=problem.id,
                           class_id=rec.class_id, skills=list(problem.skills or []),
                           allow_skip=self._can_skip(user_id))
        self.handover.loaded(live.id, rec.event_count)
        with self._lock:
            self._live[live.id] = live
            dropped = self._trim()
        for sid in dropped:
            self.kernels.release(sid)
        return self._stream(live, self._start(live, problem), key_first=False)

    def _may_use(self, user_id: int, problem: Any) -> bool:
        """Students work on problems assigned to their classes, dataset problems and their own questions."""
        if problem.source == "dataset" or problem.created_by == user_id:
            return True
        if self.store.get_user(user_id).role in ("teacher", "admin"):
            return True
        if any(p.id == problem.id for p in self.store.assigned_problems(user_id)):
            return True
        # approved problems of the class's practice bank (a generated variant waiting for approval is not)
        return self.store.in_practice_bank([c.id for c in self.store.list_classes(student_id=user_id)], problem.id)

    def _start(self, live: LiveSession, problem: Any) -> Iterator[Event]:
        yield self.emit(live, SessionStarted(live.id, live.mode, live.question, live.problem_id))
        if live.mode == "solve":
            yield from self._solve_turn(live)
            return
        # the opening comes as soon as the key's steps are known, before its confirmation ends
        yield from prepare(self, live, problem.reference_answer,
                           opening=lambda: TutorMessage(opening_message(live), purpose="opening"),
                           warm=lambda: self.ahead.write_first(live))

    def backend_or_none(self) -> Backend | None:
        return self._backend

    # --- loading sessions (after a restart too) --------------------------------------------------------
    def _get(self, user_id: int, session_id: int) -> LiveSession:
        rec = self.store.session_for(user_id, session_id)   # NotFound for someone else's session
        with self._lock:
            live = self._live.pop(session_id, None)
            if live is not None:
                self._live[session_id] = live      # most recently used last
        if live is not None:
            live.status = rec.status
            return live
        live = rebuild(self.store, rec, allow_skip=self._can_skip(rec.user_id))
        with self._lock:
            if session_id not in self._live:
                self.handover.loaded(session_id, rec.event_count)
            live = self._live.setdefault(session_id, live)
            dropped = self._trim()
        for sid in dropped:
            self.kernels.release(sid)
        return live

    def _trim(self) -> list[int]:
        """Forget the oldest idle sessions past MAX_LIVE (call with self._lock held; release the returned
        sessions' kernels after letting go of it). They are rebuilt from the store when next used, so a
        long-running server does not grow without bound."""
        if len(self._live) <= MAX_LIVE:
            return []
        idle = [sid for sid, s in self._live.items() if not s.lock.locked()]
        dropped = idle[: len(self._live) - MAX_LIVE // 2]   # dicts keep insertion order: oldest first
        for sid in dropped:
            del self._live[sid]
            self.ahead.forget(sid)
        return dropped

    # --- streaming helpers ---------------------------------------------------------------------------
    def emit(self, live: LiveSession, event: Event | dict[str, Any], private: bool = False) -> Any:
        """Record, apply, then hand out: an event the student saw is always in the store, and the live
        state is what folding the stored events gives (private events change no state)."""
        self.store.append(live.id, event, private=private)
        if not private:
            place = (live.step, live.level)
            apply(live, event)
            rung = (event.step, event.level) if isinstance(event, HintGiven) else None
            if (live.step, live.level) not in (place, rung):   # the store files a hint's own rung itself
                self.store.set_progress(live.id, current_step=live.step, hint_level=live.level)
        return event

    def _stream(self, live: LiveSession, body: Iterator[Event], key_first: bool = True) -> Iterator[Event]:
        return run_action(self, live, body, key_first)

    # --- asking ------------------------------------------------------------------------------------------
    def ask(self, user_id: int, session_id: int, text: str) -> Iterator[Event]:
        text = require_text(text, "message", self.settings.tutoring.max_message_chars)
        live = self._get(user_id, session_id)
        return self._stream(live, self._ask_body(live, text))

    def _ask_body(self, live: LiveSession, text: str) -> Iterator[Event]:
        self.emit(live, {"kind": "message", "role": "student", "text": text})
        if live.mode == "solve":
            yield from self._solve_turn(live)
            return
        tutoring = self.settings.tutoring
        reply = socratic_reply(live, text, self.ask_model(live), regenerations=tutoring.hint_regenerations,
                               max_tokens=tutoring.hint_max_tokens, timeout=tutoring.guard_timeout_s)
        if reply.guard not in ("passed", "refused"):
            self.store.append(live.id, {"kind": "reply_guard", "guard": reply.guard, "reasons": list(reply.reasons)},
                              private=True)
        yield self.emit(live, TutorMessage(reply.text, purpose="reply"))

    def _solve_turn(self, live: LiveSession) -> Iterator[Event]:
        """Solve mode: the full tool-integrated solution of the conversation so far, streamed, in the
        session's kernel."""
        from tutor.solver.loop import run_turn

        try:
            runner = self.kernels.acquire(live.id)
        except SandboxUnavailable as exc:
            yield self.emit(live, ErrorEvent(exc.code, exc.message))
            runner = None
        yield from self.handover.notices(live)   # a rebuilt kernel that did not match is said first
        prompt = build_prompt(live.chat, mode="tir" if runner is not None else "cot")
        for ev in run_turn(self.backend, runner, prompt, self.settings.solver, cancel=live.cancel,
                           cell_timeout=self.settings.sandbox.cell_timeout_s):
            if not isinstance(ev, TextDelta):
                self.emit(live, ev)
            yield ev

    def cancel(self, user_id: int, session_id: int) -> bool:
        return self._get(user_id, session_id).stops.stop()   # False: nothing was running or waiting

    # --- hints ------------------------------------------------------------------------------------------
    def next_hint(self, user_id: int, session_id: int, *, bottom_out: bool = False) -> Iterator[Event]:
        live = self._get(user_id, session_id)
        if live.mode != "tutor":
            raise BadInput("hints are part of tutoring mode; this session is in solve mode")
        if bottom_out and not live.allow_skip:
            raise Forbidden("your class works through the hints one at a time; ask for the next hint")
        return self._stream(live, self._hint_body(live, bottom_out))

    def _hint_body(self, live: LiveSession, bottom_out: bool) -> Iterator[Event]:
        key, notice = live.key, None
        if key is None or not key.steps:
            notice = ("I have no worked solution to give hints from for this problem. Write your steps and I'll "
                      "check each one.")
        elif live.revealed and live.level >= BOTTOM_OUT and live.step >= live.steps_total:
            notice = ("You've seen every hint for this problem, including the worked solution. Try writing it up "
                      "in your own words.")
        elif live.reached_end and not live.solved:
            # the ladder keeps its place: the next move is the student's, not another rung
            notice = "Your work already reaches the end of the problem: submit your last result as your answer."
        if notice is not None or key is None:
            yield self.emit(live, TutorMessage(notice or "", purpose="notice"))
            return
        step = key.step(live.step)
        level = BOTTOM_OUT if bottom_out else min(live.level + 1, BOTTOM_OUT)
        result = self.ahead.hint(live, key, step, level)
        event = HintGiven(step=step.index, level=level, text=result.text, steps=len(key.steps),
                          bottom_out=level >= BOTTOM_OUT, guard=result.guard)
        first = first_attempt(live, event)
        self.emit(live, event)
        mastery = self._observe(live, correct=first, cause="hint") if first is not None else []
        self.store.append(live.id, {"kind": "hint_guard", "step": step.index, "level": level, **result.record()},
                          private=True)
        if result.fallback:
            self.store.raise_flag(live.id, "hint_replaced", source="system",
                                  note=f"Step {step.index}, rung {level}: the generated hint was replaced by a safe "
                                       f"fallback ({'; '.join(result.reasons) or 'no usable text'}).")
        yield event
        yield from mastery

    def _write_hint(self, live: LiveSession, key: Any, step: Any, level: int) -> Any:
        tutoring = self.settings.tutoring
        return generate_hint(self.ask_model(live), live.question, key, step, level,
                             previous=live.hints.get(step.index, []), student_work=live.work,
                             attempts=live.attempts, solved=live.solved, runner=LazyRunner(self.kernels, live.id),
                             regenerations=tutoring.hint_regenerations, max_tokens=tutoring.hint_max_tokens,
                             timeout=tutoring.guard_timeout_s)

    def _observe(self, live: LiveSession, *, correct: bool, cause: str) -> list[MasteryUpdated]:
        out = []
        for skill in live.skills:
            current = self.store.get_mastery(live.user_id, skill)
            p = fitted_params(self.store, live.class_id, skill, self.params)   # the class's fit, else the defaults
            change = observe(skill, current.p_known if current else None, correct, p)
            self.store.update_mastery(live.user_id, skill, change.after, correct=correct, cause=cause,
                                      params=(p.p_init, p.p_learn, p.p_guess, p.p_slip), session_id=live.id)
            out.append(self.emit(live, MasteryUpdated(skill, round(change.after, 4), change.mastered)))
        return out

    # --- submissions -------------------------------------------------------------------------------------
    def submit(self, user_id: int, session_id: int, text: str, kind: str = "answer") -> Iterator[Event]:
        if kind not in ("answer", "step", "work"):
            raise BadInput('a submission is an "answer", a "step" or "work" (a whole worked solution)')
        text = require_text(text, "answer" if kind == "answer" else "step", self.settings.tutoring.max_message_chars)
        live = self._get(user_id, session_id)
        if live.mode != "tutor":
            raise BadInput("answers and steps are checked in tutoring mode; this session is in solve mode")
        if kind in ("step", "work"):
            lines = split_lines(text)   # as the step checker splits them (LaTeX \\ breaks too)
            limit = self.settings.tutoring.max_submission_lines
            if len(lines) > limit:
                raise InputTooLong(f"at most {limit} lines can be checked at once")
        return self._stream(live, self._submit_body(live, text, kind))

    def _submit_body(self, live: LiveSession, text: str, kind: str) -> Iterator[Event]:
        timeout = self.settings.tutoring.guard_timeout_s
        if kind == "answer":
            check = check_answer(live, text, timeout)
        elif kind == "work":   # the first line that departs from every correct path, and a question about it
            check = check_worked(live, text, timeout, self.settings.grading.timeout_s, self.store,
                                 self.settings.tutoring.max_submission_lines)
        else:
            check = check_steps(live, text, timeout, self.settings.tutoring.max_submission_lines,
                                step_timeout=self.settings.grading.timeout_s)
        event = AttemptChecked(attempt_kind=kind, verdict=check.verdict, feedback=check.feedback,
                               first_bad_line=check.first_bad_line, step=live.step, solved=check.solved, input=text,
                               advanced_to=check.advanced_to, reached_end=check.reached_end)
        first = first_attempt(live, event)   # None for a trivial step or an answer after a bottom-out
        self.emit(live, event)
        mastery = self._observe(live, correct=first, cause=kind) if first is not None else []
        if kind == "answer" and check.verdict == "unchecked":
            # on the teacher's review queue: nobody could mark this answer (no reference, no confirmed key)
            self.store.raise_flag(live.id, "answer_unchecked", source="system",
                                  note=f"A final answer could not be marked because the key is not confirmed "
                                       f"({live.key.verification.splitlines()[0] if live.key else 'no key'}); "
                                       f"the student answered: {text[:500]}")
        if check.solved:
            self.kernels.release(live.id)
            self.store.finish_session(live.id, solved=True, final_answer=text)
            live.status = "finished"
        yield event
        yield from mastery

    # --- listings ----------------------------------------------------------------------------------------
    def list_sessions(self, user_id: int) -> list[SessionSummary]:
        return session_summaries(self.store, user_id)

    def open_session(self, user_id: int, session_id: int) -> SessionView:
        live = self._get(user_id, session_id)
        return session_view(self.store, live, self.store.session_for(user_id, session_id))

    def assigned_problems(self, user_id: int) -> list[ProblemView]:
        return problem_views(self.store, user_id)

    # --- running ----------------------------------------------------------------------------------------
    def health(self) -> dict[str, Any]:
        with self._lock:
            live = len(self._live)
            busy = sum(1 for s in self._live.values() if s.lock.locked())
        out: dict[str, Any] = {"live_sessions": live, "busy_sessions": busy,
                               "backend": getattr(self._backend, "name", None) or f"{self.settings.solver.backend} (not loaded)",
                               "store": getattr(self.store, "dialect", "?")}
        out["sandbox"] = self.kernels.health()
        return out

    def close(self) -> None:
        with self._lock:
            for live in self._live.values():
                live.stops.stop()
        self.kernels.close(close_pool="pool" in self._owns)
        if "backend" in self._owns and self._backend is not None:
            self._backend.close()
        if "store" in self._owns:
            self.store.close()
