"""New practice problems whose answers are computed and confirmed twice before any student sees them.

With the model: it writes a variant (new numbers or context), a program that computes the answer, and
the answer it states. The program runs in a fresh sandbox kernel; the stated answer must agree with
the program's output, and an independent tool-integrated solve of the new text (the same hidden turn
that answer keys use) must reach it too. Without the model: parametrised templates of the dataset
problem (tutor.practice.templates). A variant that any route disagrees with, or that a route cannot
check, is discarded: only confirmed variants are returned.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager

from tutor.solver.answers import last_boxed
from tutor.solver.prompt import STOP_STRINGS, build_prompt
from tutor.tutoring.key import run_hidden

VARIANT_MARK = "Write a new practice problem"
_PROGRAM = re.compile(r"```python\n(.*?)```", re.S)


@dataclass(frozen=True)
class Variant:
    text: str
    answer: str
    evidence: str        # both routes, in words, for the teacher's preview
    route: str           # model | template


@dataclass
class Generation:
    variants: list[Variant] = field(default_factory=list)
    discarded: list[str] = field(default_factory=list)    # why each unconfirmed one was dropped


def variant_question(problem: str) -> str:
    return (f"{VARIANT_MARK} like the one below: same kind of mathematics, new numbers or a new story.\n"
            f"Problem: {problem}\n\nReply with the new problem after 'Problem:', then a Python program in a "
            "```python block that prints only its answer, then the answer in \\boxed{}.")


@dataclass(frozen=True)
class Draft:
    text: str
    program: str
    stated: str | None


def parse_draft(reply: str) -> Draft | None:
    """The model's variant: its problem text, the program, and the answer it states."""
    found = _PROGRAM.search(reply)
    if found is None:
        return None
    head = reply[:found.start()]
    at = head.lower().rfind("problem:")
    text = (head[at + len("problem:"):] if at >= 0 else head).strip()
    if not text:
        return None
    return Draft(text, found.group(1), last_boxed(reply[found.end():]) or last_boxed(reply))


def _equivalent(a: str, b: str, timeout: float) -> bool:
    from tutor.checking.grader import grade

    try:
        return bool(grade(a, b, timeout=timeout).equivalent)
    except Exception:  # noqa: BLE001 - an ungradable pair is no confirmation
        return False


def _printed(result: Any) -> str | None:
    if result is None or not getattr(result, "ok", False):
        return None
    lines = [ln.strip() for ln in (result.stdout or "").splitlines() if ln.strip()]
    if lines:
        return lines[-1]
    return (result.results or [None])[-1]


def confirm_draft(draft: Draft, *, backend: Any, kernel: Callable[[], ContextManager[Any]],
                  settings: Any) -> tuple[Variant | None, str]:
    """(the confirmed variant, or None and why not)."""
    timeout = settings.tutoring.guard_timeout_s
    if not draft.stated:
        return None, "the model stated no answer"
    with kernel() as runner:
        computed = _printed(runner.run(draft.program, timeout=settings.sandbox.cell_timeout_s))
    if computed is None:
        return None, "the variant's program printed no answer (or failed)"
    if not _equivalent(draft.stated, computed, timeout):
        return None, f"the program computes {computed} but the variant states {draft.stated}"
    with kernel() as runner:
        solved = run_hidden(backend, runner, build_prompt(draft.text, mode="tir"), settings, None)
    if not solved.answer:
        return None, f"an independent solve found no answer ({solved.error or 'no final answer'})"
    if not _equivalent(solved.answer, computed, timeout):
        return None, f"an independent solve reaches {solved.answer}, not the program's {computed}"
    evidence = (f"program output {computed} matches the stated answer; an independent tool-integrated solve "
                f"reaches {solved.answer}")
    return Variant(draft.text, computed, evidence, "model"), ""


def from_model(problem: str, count: int, *, backend: Any, kernel: Callable[[], ContextManager[Any]],
               settings: Any, out: Generation | None = None) -> Generation:
    out = out or Generation()
    for _ in range(count):
        try:
            reply = backend.complete(build_prompt(variant_question(problem), mode="none"), stop=STOP_STRINGS,
                                     max_tokens=settings.tutoring.hint_max_tokens * 4).text()
        except Exception as exc:  # noqa: BLE001 - a failed request is one discarded variant, said why
            out.discarded.append(f"the model did not answer ({type(exc).__name__}: {exc})")
            continue
        draft = parse_draft(reply)
        if draft is None:
            out.discarded.append("the model's reply had no problem and program")
            continue
        variant, why = confirm_draft(draft, backend=backend, kernel=kernel, settings=settings)
        if variant is None:
            out.discarded.append(why)
        elif all(v.text != variant.text for v in out.variants):
            out.variants.append(variant)
    return out


def from_template(question: str, solution: str, reference: str, count: int, *, seed: int = 0,
                  out: Generation | None = None) -> Generation:
    from tutor.practice.templates import Template

    out = out or Generation()
    try:
        template = Template(question, solution, reference)
    except (ValueError, TypeError, ZeroDivisionError) as exc:
        out.discarded.append(f"no template: {exc}")
        return out
    rng = random.Random(seed)
    for _ in range(count):
        made = template.variant(rng)
        if made is None:
            out.discarded.append("no new numbers gave two agreeing, whole answers")
        elif all(v.text != made.text for v in out.variants):
            out.variants.append(Variant(made.text, made.answer, made.evidence, "template"))
    return out


