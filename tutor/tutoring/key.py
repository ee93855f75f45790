"""The private solution key: solved out of the student's sight, confirmed by executed code, in steps.

Three model turns, all run in the session's own kernel and never shown to the student:
1. solve with tool-integrated reasoning (DeepSeekMath's own prompt);
2. verify: a second program that substitutes the answer back or recomputes it another way and prints
   True/False (the key is "verified" only when that program ran and printed True);
3. break the solution into ordered steps, each with a SymPy expression for its intermediate result,
   which the kernel evaluates (so the result comes from executed code, not from the model's text).
A teacher's reference answer takes precedence over the model's; a disagreement is reported so the
service can raise a flag for the teacher.
"""

from __future__ import annotations

import ast
import logging
import re
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable

from tutor.events import CodeOutput, Done, ErrorEvent, Event, FinalAnswer, RoundText, TextDelta
from tutor.solver.prompt import build_prompt

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class KeyStep:
    index: int            # 1-based
    description: str      # what to do (written to avoid its own result; the hint guard checks anyway)
    result: str           # the intermediate result this step reaches
    computed: bool = False   # result evaluated in the kernel (not just the model's word)
    expression: str = ""     # the SymPy expression that computed it


@dataclass(frozen=True)
class SolutionKey:
    answer: str | None                # what student answers are graded against
    steps: tuple[KeyStep, ...]
    verified: bool                    # confirmed by executed code (or the model agreed with the reference)
    verification: str                 # how, in words, for the teacher
    source: str                       # model | reference | none
    model_answer: str | None = None
    reference_answer: str | None = None
    disagreement: bool = False        # teacher's reference and the model's answer differ
    solution_text: str = ""           # the model's private worked solution (teachers may read it)
    problems: tuple[str, ...] = field(default_factory=tuple)   # what went wrong while preparing

    @property
    def status(self) -> str:
        """Student-safe summary: verified | unverified | unavailable."""
        if not self.answer:
            return "unavailable"
        return "verified" if self.verified else "unverified"

    def step(self, index: int) -> KeyStep:
        return self.steps[max(1, min(index, len(self.steps))) - 1]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SolutionKey":
        steps = tuple(KeyStep(**s) for s in data.get("steps", ()))
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "steps"}
        fields["problems"] = tuple(fields.get("problems", ()))
        return cls(steps=steps, **fields)


@dataclass
class _Turn:
    text: str = ""
    answer: str | None = None
    outputs: list[CodeOutput] = field(default_factory=list)
    error: str | None = None


OnEvent = Callable[[Event], None]


def _run(backend: Any, runner: Any, prompt: str, settings: Any, cancel: threading.Event | None,
         on_event: OnEvent | None = None) -> _Turn:
    from tutor.solver.loop import run_turn

    turn = _Turn()
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
            elif isinstance(ev, Done) and isinstance(ev.extra.get("text"), str):
                turn.text = ev.extra["text"]   # the turn as the model saw it, output blocks included
    except Exception as exc:  # noqa: BLE001 - preparing the key must end in a key, verified or not
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


# --- verification -----------------------------------------------------------------------------------

def verify_question(problem: str, answer: str) -> str:
    return (f"Problem: {problem.strip()}\n\nProposed final answer: {answer}\n\n"
            "Write a Python program (you may use SymPy) that checks whether the proposed answer is correct "
            "WITHOUT repeating the same solution: substitute the answer back into the conditions of the "
            "problem, or compute the answer by a different method and compare. The program must end by "
            "printing True if the proposed answer is correct and False if it is not.")


def _verdict_of(outputs: Iterable[CodeOutput]) -> bool | None:
    """True/False from the last program that ran cleanly and printed a verdict; None if none did."""
    for out in reversed(list(outputs)):
        if out.error or out.timed_out:
            continue
        words = re.findall(r"\b(True|False)\b", out.stdout)
        if words:
            return words[-1] == "True"
    return None


def verify_answer(problem: str, answer: str, *, backend: Any, runner: Any, settings: Any,
                  cancel: threading.Event | None = None, on_event: OnEvent | None = None) -> tuple[bool | None, str]:
    turn = _run(backend, runner, build_prompt(verify_question(problem, answer), mode="none"), settings, cancel,
                on_event)
    verdict = _verdict_of(turn.outputs)
    if verdict is True:
        return True, "confirmed by a second program (substitution back / another route)"
    if verdict is False:
        return False, "a second program found the answer wrong"
    return None, "no program confirmed the answer" + (f" ({turn.error})" if turn.error else "")


# --- steps ------------------------------------------------------------------------------------------

def steps_question(problem: str, solution: str, answer: str, max_steps: int) -> str:
    return (f"Problem: {problem.strip()}\n\nA worked solution:\n{solution.strip()}\n\nFinal answer: {answer}\n\n"
            f"Break this solution into at most {max_steps} short steps that a student would carry out in order. "
            "Write each step on its own line in exactly this form:\n"
            "Step 1: <what to do, without giving its result> => <the result of the step as one SymPy expression>\n"
            "The result of the last step must be the final answer.")


_STEP_LINE = re.compile(r"^\s*\**\s*Step\s*(\d+)\s*\**\s*[:.)]\s*\**\s*(.+?)\s*=>\s*(.+?)\s*$", re.I | re.M)

_EVAL_CODE = """\
import sympy as _sp
_ns = {{k: v for k, v in vars(_sp).items() if not k.startswith('_')}}
_ns.update({{k: v for k, v in globals().items() if not k.startswith('_')}})
for _n in 'x y z a b c k m n t r s'.split():
    _ns.setdefault(_n, _sp.Symbol(_n))
def _fmt(_v):
    if isinstance(_v, (list, tuple, set, _sp.FiniteSet)):
        _items = list(_v)
        return _fmt(_items[0]) if len(_items) == 1 else ', '.join(_fmt(i) for i in _items)
    if isinstance(_v, dict):
        return ', '.join(f'{{_fmt(k)}} = {{_fmt(v)}}' for k, v in _v.items())
    if isinstance(_v, bool) or _v is None:
        raise ValueError('not a result')
    if isinstance(_v, float) and _v.is_integer():
        return str(int(_v))
    if isinstance(_v, _sp.Equality):
        return _fmt(_v.lhs) + ' = ' + _fmt(_v.rhs)
    if isinstance(_v, (int, str)):
        return str(_v)
    # LaTeX: what the grader reads best and what a bottom-out hint shows between $...$
    return _sp.latex(_sp.nsimplify(_v) if isinstance(_v, float) else _sp.sympify(_v))
_res = []
for _e in {exprs!r}:
    try:
        _res.append(_fmt(eval(_e, _ns)))
    except Exception:
        _res.append(None)
print(repr(_res))
"""


def parse_steps(text: str, max_steps: int) -> list[tuple[str, str]]:
    """(description, result expression) per `Step k: ... => ...` line, in the order written."""
    out = [(m.group(2).strip(), m.group(3).strip().rstrip(".").strip("$` ")) for m in _STEP_LINE.finditer(text)]
    return [(d, r) for d, r in out if d and r][:max_steps]


def evaluate_results(exprs: list[str], runner: Any | None) -> list[str | None]:
    """Each expression evaluated in the kernel (which still holds the solution's variables)."""
    if runner is None or not exprs:
        return [None] * len(exprs)
    values = None
    for attempt in range(2):   # a kernel that died under us is replaced by the pool: one more try
        try:
            res = runner.run(_EVAL_CODE.format(exprs=exprs), timeout=20)
            values = ast.literal_eval(res.stdout.strip().splitlines()[-1]) if res.error is None and res.stdout.strip() else None
            break
        except Exception:  # noqa: BLE001 - fall back to the model's own results, marked not computed
            log.warning("step evaluation failed (try %d)", attempt + 1, exc_info=True)
    if not isinstance(values, list) or len(values) != len(exprs):
        return [None] * len(exprs)
    return [v if isinstance(v, str) and v.strip() else None for v in values]


def build_steps(pairs: list[tuple[str, str]], answer: str, runner: Any | None, timeout: float) -> tuple[KeyStep, ...]:
    values = evaluate_results([r for _, r in pairs], runner)
    steps = [KeyStep(i + 1, desc, value if value is not None else expr, computed=value is not None, expression=expr)
             for i, ((desc, expr), value) in enumerate(zip(pairs, values))]
    if not steps or not _equivalent(answer, steps[-1].result, timeout):
        steps.append(KeyStep(len(steps) + 1, "Put the pieces together and state the final answer", answer,
                             computed=False, expression=""))
    return tuple(steps)


# --- the whole key ----------------------------------------------------------------------------------

def prepare_key(problem: str, *, backend: Any, runner: Any | None, settings: Any, reference: str | None = None,
                cancel: threading.Event | None = None, on_event: OnEvent | None = None) -> SolutionKey:
    """Solve, verify and break into steps. Never raises for a model or kernel failure: the key then
    says what it could not do (unverified, or unavailable when there is no answer at all).
    `on_event` sees every event of the hidden turns (the service records them as private evidence)."""
    timeout = settings.tutoring.guard_timeout_s
    problems: list[str] = []
    # without a kernel the model still solves (chain of thought), but nothing it says is executed
    solved = _run(backend, runner, build_prompt(problem, mode="tir" if runner is not None else "cot"), settings, cancel,
                  on_event)
    if runner is None:
        problems.append("no kernel: nothing could be confirmed by executed code")
    if solved.error:
        problems.append(f"solve: {solved.error}")
    model_answer = solved.answer
    reference = reference.strip() if reference and reference.strip() else None
    answer = reference or model_answer
    if not answer:
        return SolutionKey(None, (), False, "no answer could be found", "none", solution_text=solved.text,
                           problems=tuple(problems))

    disagreement = bool(reference and model_answer and not _equivalent(reference, model_answer, timeout))
    verified, how = False, "not checked"
    if reference and model_answer and not disagreement and runner is not None:
        verified, how = True, "the model's own computed answer agrees with the teacher's reference"
    if not verified and settings.tutoring.key_verify and runner is not None:
        ok, how = verify_answer(problem, answer, backend=backend, runner=runner, settings=settings, cancel=cancel,
                                on_event=on_event)
        verified = ok is True
    if disagreement:
        how = f"the model's answer differs from the teacher's reference; {how}"

    steps: tuple[KeyStep, ...] = ()
    if solved.text:
        q = steps_question(problem, solved.text, answer, settings.tutoring.key_max_steps)
        turn = _run(backend, runner, build_prompt(q, mode="none"), settings, cancel, on_event)
        if turn.error:
            problems.append(f"steps: {turn.error}")
        pairs = parse_steps(turn.text, settings.tutoring.key_max_steps)
        # with a reference that the model disagrees with, its steps lead elsewhere: keep only the final step
        if not disagreement:
            steps = build_steps(pairs, answer, runner, timeout)
    if not steps:
        steps = (KeyStep(1, "Work out the answer to the problem", answer),)
    return SolutionKey(answer, steps, verified, how, "reference" if reference else "model",
                       model_answer=model_answer, reference_answer=reference, disagreement=disagreement,
                       solution_text=solved.text, problems=tuple(problems))
