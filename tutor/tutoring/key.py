"""The private answer key: solved out of the student's sight, its steps read off the executed solution,
its answer confirmed (or not) by routes that mean something.

Hidden model turns, run in fresh kernels the service hands over (the check program in one of its own)
and never shown to the student:
1. solve with tool-integrated reasoning (DeepSeekMath's own prompt);
2. the steps: every computing statement of that executed program, its value read back from the kernel
   (`tutor.tutoring.key_steps`); no format is asked of the model;
3. confirmation (`tutor.tutoring.verification`): a teacher's reference that agrees; else the answer put
   into the problem's equation, a check program that recomputes from the problem's numbers, and an
   independent chain-of-thought solve.
A teacher's reference answer takes precedence over the model's; a disagreement is reported so the
service can raise a flag for the teacher. Only a key with a reference, or a confirmed one, may grade.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from tutor.errors import TutorError
from tutor.events import CodeOutput, Done, ErrorEvent, Event, FinalAnswer, RoundText, TextDelta
from tutor.solver.prompt import build_prompt
from tutor.tutoring import verification
from tutor.tutoring.key_steps import derive_steps, reasoning_before_cells
from tutor.tutoring.verification import AGREES, DISAGREES, Confirmation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyStep:
    index: int            # 1-based
    description: str      # what to do (written to avoid its own result; the hint guard checks anyway)
    result: str           # the intermediate result this step reaches
    computed: bool = False   # result computed by executed code (not just the model's word)
    expression: str = ""     # the code that computed it


@dataclass(frozen=True)
class AnswerKey:
    answer: str | None                # what student answers are graded against
    steps: tuple[KeyStep, ...]
    verified: bool                    # confirmed: the reference agrees, or a route agrees and none disagrees
    verification: str                # how, in words, for the teacher (routes, outcomes, how steps were found)
    source: str                       # model | reference | none
    model_answer: str | None = None
    reference_answer: str | None = None
    disagreement: bool = False        # teacher's reference and the model's answer differ
    solution_text: str = ""           # the model's private worked solution (teachers may read it)
    problems: tuple[str, ...] = field(default_factory=tuple)   # what went wrong while preparing
    confirmations: tuple[Confirmation, ...] = field(default_factory=tuple)
    steps_note: str = ""              # how the steps were found ("one step: ..." when it really is one)
    confirming: bool = False          # solved and stepped, its confirmation still running: never grades

    @property
    def status(self) -> str:
        """Student-safe summary: verified | unverified | unavailable, or preparing while it is confirmed."""
        if not self.answer:
            return "unavailable"
        if self.confirming:
            return "preparing"
        return "verified" if self.verified else "unverified"

    @property
    def gradable(self) -> bool:
        """May a final answer be marked right or wrong against this key? Only with a teacher's reference
        or a confirmed answer; otherwise the teacher checks it."""
        return bool(self.answer) and not self.confirming and (self.source == "reference" or self.verified)

    def step(self, index: int) -> KeyStep:
        return self.steps[max(1, min(index, len(self.steps))) - 1]


@dataclass
class HiddenTurn:
    text: str = ""
    answer: str | None = None
    outputs: list[CodeOutput] = field(default_factory=list)
    error: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0


OnEvent = Callable[[Event], None]
CheckKernel = Callable[[], ContextManager[Any]]   # a fresh kernel for the check program, given back after


def run_hidden(backend: Any, runner: Any, prompt: str, settings: Any, cancel: threading.Event | None,
               on_event: OnEvent | None = None) -> HiddenTurn:
    """One hidden turn through the tool-integrated loop; never raises (failures land in `.error`)."""
    from tutor.solver.loop import run_turn

    turn = HiddenTurn()
    texts: list[str] = []
    try:
        for ev in run_turn(backend, runner, prompt, settings.solver, cancel=cancel,
                           cell_timeout=settings.sandbox.cell_timeout_s):
            if on_event is not None and not isinstance(ev, TextDelta):
                on_event(ev)
            if isinstance(ev, RoundText):
                texts.append(ev.text)
            elif isinstance(ev, CodeOutput):
                turn.outputs.append(ev)
                texts.append(f"```output\n{ev.observation}\n```")
            elif isinstance(ev, FinalAnswer):
                turn.answer = ev.answer
            elif isinstance(ev, ErrorEvent):
                turn.error = f"{ev.code}: {ev.message}"
            elif isinstance(ev, Done):
                turn.tokens_in, turn.tokens_out = ev.tokens_in, ev.tokens_out
                if isinstance(ev.extra.get("text"), str):
                    turn.text = ev.extra["text"]   # the turn as the model saw it, output blocks included
    except Exception as exc:  # noqa: BLE001 - preparing the key must end in a key, confirmed or not
        log.warning("key turn failed", exc_info=True)
        turn.error = f"{type(exc).__name__}: {exc}"
    if not turn.text:
        turn.text = "\n".join(t.strip("\n") for t in texts)
    return turn


def _equivalent(a: str, b: str, timeout: float) -> bool:
    from tutor.checking.grader import grade

    try:
        return bool(grade(a, b, timeout=timeout).equivalent)
    except Exception:  # noqa: BLE001 - an ungradable pair counts as different (and is flagged)
        return False


def _confirm(problem: str, answer: str, solved: HiddenTurn, *, backend: Any, runner: Any, settings: Any,
             cancel: threading.Event | None, on_event: OnEvent | None,
             check_kernel: CheckKernel | None = None) -> list[Confirmation]:
    timeout = settings.tutoring.guard_timeout_s
    checks: list[Confirmation] = []
    sub = verification.substitution(problem, answer, timeout)
    if sub is not None:
        checks.append(sub)
    if not settings.tutoring.key_verify:
        return checks
    # The second route does not depend on the check program, so it runs meanwhile (a batching backend
    # decodes both in the same forward passes); its events are recorded after the check's, turn by turn.
    # No kernel for it: its answer must come from reasoning, not from the same program.
    route: dict[str, Any] = {}
    route_events: list[Event] = []
    second = threading.Thread(target=lambda: route.setdefault("turn", run_hidden(
        backend, None, build_prompt(problem, mode="cot"), settings, cancel, route_events.append)),
        name="key-second-route", daemon=True)
    started = cancel is None or not cancel.is_set()
    if started:
        second.start()
    if runner is not None:
        # the check program runs where the solve's code never ran (it could have redefined print)
        try:
            with check_kernel() if check_kernel is not None else contextlib.nullcontext(runner) as check_runner:
                turn = run_hidden(backend, check_runner,
                                  build_prompt(verification.verify_question(problem, answer), mode="none"),
                                  settings, cancel, on_event)
            checks.append(verification.program_check(problem, answer, turn))
        except TutorError as exc:   # no kernel for the check: that route confirms nothing
            log.warning("no kernel for the key's check program: %s", exc)
    if started:
        second.join()
        if on_event is not None:
            for ev in route_events:
                on_event(ev)
        if "turn" in route and (cancel is None or not cancel.is_set()):
            checks.append(verification.second_route(answer, solved.text, route["turn"],
                                                    lambda a, b: _equivalent(a, b, timeout)))
    return checks


def _steps(problem: str, answer: str, solved: HiddenTurn, runner: Any, settings: Any,
           disagreement: bool) -> tuple[tuple[KeyStep, ...], str]:
    if disagreement:
        return ((KeyStep(1, "Work out the answer to the problem", answer),),
                "one step: the model's solution reaches a different answer from the teacher's reference")
    cells = [o.code for o in solved.outputs]
    if runner is None or not cells:
        why = "no kernel ran the solution" if runner is None else "the solution executed no program"
        return (KeyStep(1, "Work out the answer to the problem", answer),), f"one step: {why}"
    derived = derive_steps(cells, runner, answer, max_steps=settings.tutoring.key_max_steps,
                           timeout=settings.tutoring.guard_timeout_s, reasoning=reasoning_before_cells(solved.text))
    steps = [KeyStep(i + 1, d.description, d.result, computed=True, expression=d.expression)
             for i, d in enumerate(derived.steps)]
    if not steps:
        return (KeyStep(1, "Work out the answer to the problem", answer),), f"one step: {derived.note}"
    if not _equivalent(answer, steps[-1].result, settings.tutoring.guard_timeout_s):
        steps.append(KeyStep(len(steps) + 1, "Put the pieces together and state the final answer", answer))
    return tuple(steps), derived.note


def prepare_key(problem: str, *, backend: Any, runner: Any | None, settings: Any, reference: str | None = None,
                cancel: threading.Event | None = None, on_event: OnEvent | None = None,
                check_kernel: CheckKernel | None = None,
                on_solved: Callable[[AnswerKey], None] | None = None) -> AnswerKey:
    """Solve, derive the steps, confirm. Never raises for a model or kernel failure: the key then says
    what it could not do (unconfirmed, or unavailable when there is no answer at all).
    `on_event` sees every event of the hidden turns (the service records them as private evidence).
    `on_solved` gets the key before its confirmation runs (`confirming`, not gradable): answer and steps
    are already final (confirming changes neither), so the opening and hints need not wait for it."""
    timeout = settings.tutoring.guard_timeout_s
    problems: list[str] = []
    # without a kernel the model still solves (chain of thought), but nothing it says is executed
    solved = run_hidden(backend, runner, build_prompt(problem, mode="tir" if runner is not None else "cot"),
                        settings, cancel, on_event)
    if runner is None:
        problems.append("no kernel: nothing could be confirmed by executed code")
    if solved.error:
        problems.append(f"solve: {solved.error}")
    model_answer = solved.answer
    reference = reference.strip() if reference and reference.strip() else None
    answer = reference or model_answer
    if not answer:
        return AnswerKey(None, (), False, "no answer could be found", "none", solution_text=solved.text,
                         problems=tuple(problems))

    disagreement = bool(reference and model_answer and not _equivalent(reference, model_answer, timeout))
    checks: list[Confirmation] = []
    if reference and model_answer:
        checks.append(Confirmation("reference", DISAGREES if disagreement else AGREES,
                                   f"the model's {'computed ' if runner is not None else ''}answer {model_answer} "
                                   f"{'differs from' if disagreement else 'agrees with'} the teacher's reference"))
    # the steps come from the solve's own kernel, before the check program runs (in a kernel of its own)
    steps, note = _steps(problem, answer, solved, runner, settings, disagreement)
    if not reference:
        if on_solved is not None:
            on_solved(AnswerKey(answer, steps, False, "being confirmed", "model", model_answer=model_answer,
                                solution_text=solved.text, steps_note=note, confirming=True))
        checks += _confirm(problem, answer, solved, backend=backend, runner=runner, settings=settings,
                           check_kernel=check_kernel,
                           cancel=cancel, on_event=on_event)
    # the model agreeing with a reference counts only when its answer came from executed code
    verified = verification.confirmed(checks) and (runner is not None or not reference)
    how = verification.summary(checks)
    if reference and not model_answer:
        how = "the teacher's reference answer is used; the model found no answer"
    return AnswerKey(answer, steps, verified, f"{how}\nsteps: {note}", "reference" if reference else "model",
                     model_answer=model_answer, reference_answer=reference, disagreement=disagreement,
                     solution_text=solved.text, problems=tuple(problems), confirmations=tuple(checks),
                     steps_note=note)
