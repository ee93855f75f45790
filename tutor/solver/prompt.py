"""DeepSeekMath's prompt format, character for character, and the tool-round text it was trained on.

The format follows DeepSeekMath-Instruct's chat template and its evaluation code
(`evaluation/infer/run_tool_integrated_eval.py`): BOS + `User: {question}\\n{suffix}\\n\\nAssistant:`,
no system prompt, earlier turns closed by the EOS token, code output fed back inside ```output.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

BOS = "<｜begin▁of▁sentence｜>"
EOS = "<｜end▁of▁sentence｜>"
OUTPUT_STOP = "```output"
STOP_STRINGS: tuple[str, ...] = (EOS, OUTPUT_STOP)

TIR_SUFFIX = ("Please integrate natural language reasoning with programs to solve the problem above, "
              "and put your final answer within \\boxed{}.")
COT_SUFFIX = "Please reason step by step, and put your final answer within \\boxed{}."
SUFFIXES = {"tir": TIR_SUFFIX, "cot": COT_SUFFIX, "none": ""}

# Observations longer than this are cut to their first and last half around "..." (as in training).
OBSERVATION_CHARS = 100

_PYTHON_BLOCK = re.compile(r"```python\n?(.*?)```", re.S)


class PromptError(ValueError):
    """The question or history cannot be turned into a prompt."""


def user_content(question: str, mode: str = "tir") -> str:
    """The user message as the model saw it in training: the question, newline, the mode's suffix."""
    if mode not in SUFFIXES:
        raise PromptError(f"unknown mode {mode!r}: expected one of {', '.join(SUFFIXES)}")
    question = question.strip()
    return f"{question}\n{SUFFIXES[mode]}" if SUFFIXES[mode] else question


def _messages(history: Iterable[Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in history:
        if isinstance(item, Mapping):
            role, content = item.get("role"), item.get("content")
        elif isinstance(item, Sequence) and not isinstance(item, str) and len(item) == 2:
            role, content = item
        else:
            raise PromptError(f"history items must be {{'role', 'content'}} mappings, got {item!r}")
        if role not in ("user", "assistant"):
            raise PromptError(f"unsupported role {role!r} (DeepSeekMath has no system prompt)")
        if not isinstance(content, str):
            raise PromptError(f"message content must be text, got {type(content).__name__}")
        out.append((role, content))
    return out


def build_prompt(question_or_history: str | Sequence[Any], mode: str = "tir") -> str:
    """The full prompt string, ending in `Assistant:` so the model writes the next reply.

    A string is one question. A history is a list of {"role": "user"|"assistant", "content": str}
    ending with a user message; the mode's suffix goes on that last user message only, earlier
    messages are rendered as given, and every assistant reply is closed by EOS (as the chat
    template of DeepSeekMath-Instruct does).
    """
    if isinstance(question_or_history, str):
        if not question_or_history.strip():
            raise PromptError("the question is empty")
        return f"{BOS}User: {user_content(question_or_history, mode)}\n\nAssistant:"
    messages = _messages(question_or_history)
    if not messages or messages[-1][0] != "user":
        raise PromptError("the history must end with a user message")
    if not messages[-1][1].strip():
        raise PromptError("the question is empty")
    parts = [BOS]
    last = len(messages) - 1
    for i, (role, content) in enumerate(messages):
        if role == "user":
            text = user_content(content, mode) if i == last else content.strip()
            parts.append(f"User: {text}\n\n")
        else:
            parts.append(f"Assistant: {content.strip()}{EOS}")
    parts.append("Assistant:")
    return "".join(parts)


def wants_code_run(text: str) -> bool:
    """DeepSeekMath's rule: a round asks for execution when its trimmed text ends with ```."""
    return text.rstrip().endswith("```") and "```python" in text


def last_python_block(text: str) -> str | None:
    """The code of the last complete ```python block, or None."""
    blocks = [b.strip() for b in _PYTHON_BLOCK.findall(text)]
    blocks = [b for b in blocks if b]
    return blocks[-1] if blocks else None


def _cut(text: str, limit: int = OBSERVATION_CHARS) -> str:
    if len(text) > limit:
        half = limit // 2
        return text[:half] + "..." + text[-half:]
    return text


def format_observation(stdout: str, error: Any = None, timed_out: bool = False) -> str:
    """What goes inside ```output: stdout as trained (cut around "..."), else the error in one line.

    As in DeepSeekMath's executor, a cell that raised shows only `Runtime errors: Type: message`
    (its stdout is dropped) and a cell that ran out of time shows `Runtime errors: Timeout Error`.
    """
    if timed_out:
        return "Runtime errors: Timeout Error"
    if error is not None:
        etype = getattr(error, "type", None) or (error.get("type") if isinstance(error, Mapping) else "")
        message = getattr(error, "message", None)
        if message is None and isinstance(error, Mapping):
            message = error.get("message", "")
        line = f"{etype}: {message}" if message else str(etype)
        line = line.strip().splitlines()[-1] if line.strip() else "Error"
        return f"Runtime errors: {_cut(line)}"
    return _cut(stdout.strip())


def feed_back(text: str, observation: str) -> str:
    """The model text of a round plus its output block, exactly as appended to the prompt."""
    return text.rstrip() + "\n```output\n" + observation.strip() + "\n```\n"
