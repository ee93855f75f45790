"""A scripted model for tutoring tests: one linear equation, played like DeepSeekMath would.

The ScriptedBackend answers by looking at the prompt (which hidden turn, which step and rung), so a
test can make any one reply leak, lie or fail and watch what the tutor does with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from tests.fixtures.tutor_prompts import classify
from tutor.solver.backends import ScriptedBackend
from tutor.solver.backends.replay import split_prompt, split_rounds
from tutor.solver.prompt import OUTPUT_STOP
from tutor.settings import load_settings

PROBLEM = "Solve for x: 2x + 3 = 17."
ANSWER = "7"
STEP1_RESULT = "14"

# The way a 7B model solves it: a short plan, a program, its output, the boxed answer (no step format).
SOLVE = ("First take 3 away from both sides, then divide by the coefficient of x.\n```python\n"
         "rhs = 17 - 3  # what 2x equals once 3 is taken from both sides\nx = rhs / 2\nprint(x)\n```\n"
         "```output\n7.0\n```\nThe solution is $x = \\boxed{7}$.")
VERIFY_OK = ("```python\nx_val = 7\nprint(2*x_val + 3 == 17)\n```\n```output\nTrue\n```\nThe answer checks out.")
VERIFY_BAD = ("```python\nx_val = 7\nprint(2*x_val + 3 == 18)\n```\n```output\nFalse\n```\nIt does not check out.")

SAFE_HINTS = {
    (1, 1): "What operation is being done to x on the left-hand side, and what would undo it?",
    (1, 2): "Use inverse operations: undo the addition first, doing the same thing to both sides.",
    (1, 3): "Take the constant term away from both sides so that only the x term is left on the left.",
    (1, 4): "Subtracting 3 from both sides gives $2x = 14$.",
    (2, 1): "What number is multiplying x now?",
    (2, 2): "Divide both sides by the coefficient of x.",
    (2, 3): "Divide both sides of your last equation by that coefficient and simplify.",
    (2, 4): "Dividing both sides by 2 gives $x = 7$.",
}



@dataclass
class World:
    """Knobs a test turns; `backend` reads them on every prompt."""
    hints: dict[tuple[int, int], str] = field(default_factory=lambda: dict(SAFE_HINTS))
    leaky_first: dict[tuple[int, int], str] = field(default_factory=dict)   # first try only; stricter retry is safe
    always_leaky: dict[tuple[int, int], str] = field(default_factory=dict)
    socratic: list[str] = field(default_factory=list)     # replies in order, then SOCRATIC_DEFAULT
    verify: str = VERIFY_OK
    solve: str = SOLVE
    calls: list[str] = field(default_factory=list)

    def reply(self, prompt: str) -> str:
        """One generation: for a tool-integrated turn, the round after as many outputs as the prompt holds."""
        text = self._whole(prompt)
        rounds = split_rounds(text)
        k = split_prompt(prompt)[1].count(OUTPUT_STOP)
        if k >= len(rounds):
            return ""
        return rounds[k] + (OUTPUT_STOP if k < len(rounds) - 1 else "")

    def _whole(self, prompt: str) -> str:
        purpose = classify(prompt)
        if purpose.kind == "hint":
            key = (purpose.step, purpose.level)
            self.calls.append(f"hint {purpose.step}.{purpose.level}{' strict' if purpose.stricter else ''}")
            if key in self.always_leaky:
                return self.always_leaky[key]
            if key in self.leaky_first and not purpose.stricter:
                return self.leaky_first[key]
            return self.hints[key]
        self.calls.append(purpose.kind)
        if purpose.kind == "socratic":
            return self.socratic.pop(0) if self.socratic else SOCRATIC_DEFAULT
        replies = {"verify": self.verify, "tag": "algebra", "solve": self.solve}
        return replies.get(purpose.kind, "Let's think about it.")

    def backend(self) -> ScriptedBackend:
        return ScriptedBackend(default=self.reply)


SOCRATIC_DEFAULT = "Good question! What happens to an equation when you do the same thing to both sides?"


def tutor_settings(tmp_path, **overrides):
    base = dict(data_dir=tmp_path, backend="scripted", guard_timeout_s=10.0)
    base.update(overrides)
    return load_settings(**base)


def collect(stream) -> list:
    return list(stream)


def of_type(events, cls) -> list:
    return [e for e in events if isinstance(e, cls)]


def make_student(store, *, allow_solve: bool = False, allow_skip: bool = False, name: str = "ada"):
    user = store.create_user(name, "student", password="correct horse battery")
    cls = store.create_class(f"class-{name}", allow_solve_mode=allow_solve, allow_hint_skip=allow_skip)
    store.enroll(cls.id, user.id)
    return user


Leak = Callable[[str], bool]
