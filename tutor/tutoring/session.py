"""The tutoring session's logic: where the student is on the key, Socratic replies, checking answers and
steps with feedback that never gives the answer away. Nothing here changes the session: the service
turns what these return into events, records them and applies them (`tutor.tutoring.state.apply`).

Every text this module returns to a student in tutoring mode has passed the leak guard against the
key's final answer and the results of the current and later steps, unless the student has already
solved the problem or seen the bottom-out of the last step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tutor.errors import BadInput, InputTooLong
from tutor.tutoring.guard import check_hint, mentions
from tutor.tutoring.hints import BOTTOM_OUT, Ask, hidden_values, socratic_prompt
from tutor.tutoring.state import LiveSession

# What a student types to get the answer handed over, or to talk the tutor out of its rules.
_ANSWER_SEEKING = re.compile(
    r"(give|tell|show|send|just|what(?:'s| is)|need)\s+(?:me\s+)?(?:the\s+)?(?:final\s+|whole\s+|full\s+)?"
    r"(answer|solution|result)"
    r"|ignore\s+(?:all\s+|your\s+|the\s+|any\s+|previous\s+|prior\s+)*(instructions|rules|prompt)"
    r"|\bi(?:'m|\s+am)\s+(?:the\s+|your\s+|a\s+)?teacher"
    r"|solve\s+it\s+for\s+me|do\s+it\s+for\s+me|(?:system|developer)\s+prompt|jailbreak",
    re.I)


def asks_for_answer(message: str) -> bool:
    return bool(_ANSWER_SEEKING.search(message))


def hidden_now(live: LiveSession) -> tuple[str | None, dict[int, str]]:
    """What no message to the student may contain right now: (final answer, {step: result})."""
    step = live.current
    if live.answer_open or live.key is None or step is None:
        return None, {}
    return hidden_values(live.key, step, BOTTOM_OUT - 1)


def safe(text: str, live: LiveSession, timeout: float) -> bool:
    answer, results = hidden_now(live)
    return not (answer or results) or not check_hint(text, answer, results, timeout=timeout, problem=live.question).leak


def say(live: LiveSession, text: str, plain: str, timeout: float) -> str:
    """`text` if it is safe to show now, else `plain` (a wording without numbers). Only as good as what
    is known now: before the key is written nothing is hidden, so fixed examples carry no numbers at all."""
    return text if safe(text, live, timeout) else plain


# How maths may be typed, shown when a line or an answer cannot be read. Letters only: a number in a fixed
# example ("2x + 3 = 7") states that value on every problem whose answer or step result it is.
FORMAT_EXAMPLE = "a(b + c) = ab + ac"
ANSWER_EXAMPLE = "a/b or \\sqrt{n}"


# --- what a student sends ---------------------------------------------------------------------------

def require_text(text: Any, what: str, limit: int) -> str:
    """The text, stripped of NULs and outer space; BadInput when it is not text or empty, InputTooLong over `limit`."""
    if not isinstance(text, str):
        raise BadInput(f"the {what} must be text")
    text = text.replace("\x00", "").strip()
    if not text:
        raise BadInput(f"the {what} is empty")
    if len(text) > limit:
        raise InputTooLong(f"the {what} is {len(text)} characters long; the limit is {limit}")
    return text


# --- messages --------------------------------------------------------------------------------------

def opening_message(live: LiveSession) -> str:
    key = live.key
    if key is None or key.status == "unavailable":
        return ("I couldn't work out a checked solution for this problem, so I can't grade your final answer, "
                "but I can still check each step you write and talk it through with you. What do you notice first?")
    # a key still being confirmed says so in the status line, and in words once the outcome is known
    caution = "" if key.status == "verified" or key.confirming else (
        " (My own solution could not be double-checked by a program, so your teacher will review it.)")
    plural = "step" if len(key.steps) == 1 else "steps"
    counted = f" in {len(key.steps)} {plural}"
    if not safe(counted, live, 5.0):   # a step count that happens to equal a hidden value stays unsaid
        counted = ""
    return (f"Let's work on this together. I've worked it out privately{counted}.{caution} "
            "Start by telling me what the problem asks you to find. You can write a step to have it checked, "
            "ask for a hint, or submit your answer whenever you're ready.")


REFUSAL = ("I can't hand you the answer — working it out is how it sticks — but I'll help you get there. "
           "Ask for a hint, or tell me what you've tried so far.")


@dataclass(frozen=True)
class Reply:
    text: str
    guard: str              # passed | regenerated | fallback | refused
    passed_first: bool
    reasons: tuple[str, ...] = ()


def socratic_reply(live: LiveSession, message: str, ask: Ask, *, regenerations: int, max_tokens: int,
                   timeout: float) -> Reply:
    """A short guiding reply. Requests for the answer get a refusal without consulting the model."""
    if not live.answer_open and asks_for_answer(message):
        return Reply(REFUSAL, "refused", True)
    reasons: list[str] = []
    for attempt in range(1 + max(0, regenerations)):
        try:
            # the message itself is already the last entry of the history: it is quoted separately
            earlier = live.history[:-1] if live.history[-1:] == [("Student", message)] else live.history
            text = ask(socratic_prompt(live.question, live.key, live.current, earlier, message,
                                       stricter=attempt > 0, solved=live.answer_open), max_tokens).strip()
        except Exception as exc:  # noqa: BLE001 - the model failing gets a safe reply, not a crash
            reasons.append(f"model failed: {type(exc).__name__}")
            break
        if not text:
            reasons.append("empty")
            continue
        answer, results = hidden_now(live)
        verdict = check_hint(text, answer, results, timeout=timeout, problem=live.question) \
            if answer or results else None
        if verdict is None or not verdict.leak:
            return Reply(text, "passed" if attempt == 0 else "regenerated", attempt == 0, tuple(reasons))
        reasons.append(verdict.reason)
    if live.solved:
        return Reply("Good question. You've solved this one: look back over your steps and say which one you'd "
                     "like to go over, and why it works.", "fallback", False, tuple(reasons))
    return Reply("Good question. What do you already know from the problem that could help with the step you're "
                 "on? Try writing it down as an equation or expression, and I'll check it.",
                 "fallback", False, tuple(reasons))


# --- checking the student's work ---------------------------------------------------------------------

@dataclass(frozen=True)
class Check:
    verdict: str                 # answer: correct | incorrect | unreadable | unchecked; step: valid | invalid | unreadable
    feedback: str
    first_bad_line: int | None = None
    solved: bool = False
    advanced_to: int | None = None       # the step the work moved on to (it reached this step's result)
    reached_end: bool = False            # the work reached the final result


def _student_answer(text: str) -> str:
    from tutor.solver.answers import extract_answer

    t = text.strip()
    if "\\boxed" in t or "\\fbox" in t:
        got = extract_answer(t)
        if got is not None:
            return got.answer
    t = t.strip("$ .")
    # "x = 3" and "the answer is 3": keep the right-hand side of a single equation
    t = re.sub(r"^(?:the\s+)?(?:final\s+)?answer\s*(?:is|:)\s*", "", t, flags=re.I)
    if t.count("=") == 1 and re.fullmatch(r"\s*[A-Za-z]\w*\s*", t.split("=")[0]):
        t = t.split("=")[1].strip()
    return t


def _graded(reference: str, answer: str, timeout: float) -> bool:
    from tutor.checking.grader import grade

    try:
        return bool(grade(reference, answer, timeout=timeout).equivalent)
    except Exception:  # noqa: BLE001 - an answer the grader cannot read is not correct
        return False


def check_answer(live: LiveSession, text: str, timeout: float) -> Check:
    answer = _student_answer(text)
    if not answer or not re.search(r"[\w\d]", answer):
        return Check("unreadable", "I couldn't read an answer there. Type it as a number or expression, "
                                   f"e.g. {ANSWER_EXAMPLE}.")
    key = live.key
    if key is None or not key.answer:
        return Check("unchecked", "I have no checked solution to compare with, so I can't grade this answer; your "
                                  "teacher will see it. You can still have each of your steps checked.")
    if not key.gradable:
        # the model's own answer, unconfirmed, may be wrong: marking against it could call a right answer
        # wrong (or a wrong one right), so neither is said and the teacher checks it instead
        return Check("unchecked", "I couldn't confirm my own solution to this problem, so I won't mark your answer "
                                  "right or wrong: your teacher will check it. You can still have each of your "
                                  "steps checked.")
    if _graded(key.answer, answer, timeout):
        return Check("correct", "Correct — well done! That's the answer.", solved=True)
    feedback = "Not quite — that isn't the answer yet."
    for s in key.steps[:-1]:
        if s.index >= live.step and s.result and _graded(s.result, answer, timeout):
            feedback += " That value is a good intermediate result, though: keep going from there."
            break
    else:
        feedback += " Check your work, or ask for a hint." if live.solved else \
            f" Look again at step {live.step} of {live.steps_total}, or ask for a hint."
    if not safe(feedback, live, timeout):  # the step number itself could equal a hidden value
        feedback = "Not quite — that isn't the answer yet. Check your work, or ask for a hint."
    return Check("incorrect", feedback)


def _sentence(text: str) -> str:
    """A checker's reason ("this calculation is not right: ...") as a sentence of its own."""
    text = text.strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def check_steps(live: LiveSession, text: str, timeout: float, max_lines: int, *,
                step_timeout: float | None = None) -> Check:
    """Check the lines of `text` the way `mathtutor check-step` does (`tutor.checking.steps.check_lines`:
    LaTeX line breaks, `= 14` continuing a line), the first against the student's accepted work, else
    the problem. `step_timeout` is per line (the grading timeout); `timeout` is the leak guard's."""
    from tutor.checking.steps import carried, check_lines, split_lines

    lines = split_lines(text)
    if not lines:
        raise BadInput("there is no step to check")
    if len(lines) > max_lines:
        raise BadInput(f"at most {max_lines} lines can be checked at once")
    verdicts, first_bad = check_lines(lines, live.question, step_timeout, previous=carried(live.work),
                                      stop_at_first_bad=True)
    if first_bad is not None:
        i, verdict = first_bad + 1, verdicts[first_bad]
        where = f"Line {i}" if len(lines) > 1 else "This line"
        reason = (verdict.reason or "").strip()
        if reason and not safe(reason, live, timeout):
            reason = ""
        if verdict.verdict == "unreadable":
            msg = f"{where}: I couldn't read it as maths." + (f" ({reason})" if reason else "")
            # no number in the example: while the key is still being written nothing can check it
            # against the answer, and "2x + 3 = 7" said 7 on every problem whose answer is 7
            msg += f" Try plain text like {FORMAT_EXAMPLE} or LaTeX."
            return Check("unreadable", msg, first_bad_line=i if len(lines) > 1 else None)
        msg = f"{where} does not follow from the line before." + (f" {_sentence(reason)}" if reason else "")
        return Check("invalid", msg, first_bad_line=i)
    accepted = lines
    # did the work reach the result of the current (or a later) step?
    reached = None
    if live.key is not None:
        for s in live.key.steps:
            if s.index >= live.step and s.result and any(mentions(ln, s.result, timeout) for ln in accepted):
                reached = s.index
    msg = "Each line follows from the one before." if len(lines) > 1 else "That step follows from what came before."
    advanced, end = None, False
    if reached is not None and live.key is not None:
        if reached >= live.steps_total:
            end = not live.solved
            msg += " That looks like the end of the problem: submit it as your answer." if end else ""
        else:
            advanced = reached + 1
            numbered = f"{msg} That completes step {reached}; now on to step {advanced}."
            msg = numbered if safe(numbered, live, timeout) else msg + " That completes this step; on to the next one."
    return Check("valid", msg, advanced_to=advanced, reached_end=end)
