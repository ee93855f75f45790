"""How events become chat messages: inert text, math kept for KaTeX, code and output in their own
blocks, the same view from a live stream and from a stored transcript."""

from __future__ import annotations

from app.render import ChatView, code_block, prose
from tutor.events import (AttemptChecked, CodeOutput, CodeStarted, Done, ErrorEvent, FinalAnswer, HintGiven,
                          RoundText, SessionStarted, TextDelta)

ROUND0 = "We compute $x<3$ with code.\n```python\nprint('<b>$5</b>')\n```\n"
ROUND1 = "So \\boxed{\\frac{1}{2}} and \\(y\\) and \\[z\\]."


def stream() -> list:
    out = [SessionStarted(7, "solve", "Is <script>alert(1)</script> $1<2$?")]
    out += [TextDelta(ROUND0[i:i + 5], 0) for i in range(0, len(ROUND0), 5)]
    out += [RoundText(ROUND0, 0), CodeStarted("print('<b>$5</b>')", 0),
            CodeOutput("print('<b>$5</b>')", "<b>$5</b>\n", "", None, False, False, 0.01, "<b>$5</b>", 0)]
    out += [TextDelta(ROUND1, 1), RoundText(ROUND1, 1), FinalAnswer("\\frac{1}{2}"), Done(2, 10, 20, 0.5)]
    return out


def test_text_is_escaped_but_math_is_left_for_katex():
    md = prose("a <script>x</script> & $a<b$ \\(c>d\\) $$e<f$$")
    assert "<script>" not in md and "&lt;script&gt;" in md and "&amp;" in md
    assert "$a&lt;b$" in md and "\\(c&gt;d\\)" in md and "$$e&lt;f$$" in md   # KaTeX reads entities as < >


def test_bare_boxed_is_wrapped_in_math_and_boxed_inside_math_is_left_alone():
    assert prose("so \\boxed{\\frac{1}{2}} done") == "so $\\boxed{\\frac{1}{2}}$ done"
    assert prose("so $\\boxed{7}$") == "so $\\boxed{7}$"
    assert prose("nested \\boxed{\\{1, 2\\}}") == "nested $\\boxed{\\{1, 2\\}}$"


def test_code_is_a_pre_block_with_dollars_neutralised():
    block = code_block("print('$5 <b>')")
    assert "<pre" in block and "&#36;5 &lt;b&gt;" in block and "$" not in block.replace("&#36;", "")
    fenced = prose("text\n```python\nx = '$'\n```\nafter $y$")
    assert "<pre class=\"mt-code\">" in fenced and "after $y$" in fenced


def test_a_live_stream_folds_into_question_prose_code_block_and_answer():
    view = ChatView().extend(stream())
    msgs = view.messages()
    assert view.session_id == 7 and view.status == ""
    assert msgs[0]["role"] == "user" and "&lt;script&gt;" in msgs[0]["content"]
    assert msgs[1]["content"] == "We compute $x&lt;3$ with code."                 # the code moved out
    code = msgs[2]
    assert code["metadata"]["title"] == "ran code" and code["metadata"]["status"] == "done"
    assert "print('&lt;b&gt;&#36;5&lt;/b&gt;')" in code["content"] and "mt-output" in code["content"]
    assert "$\\boxed{\\frac{1}{2}}$" in msgs[3]["content"]
    assert len(msgs) == 4


def test_running_code_shows_a_pending_block_and_status():
    view = ChatView()
    for event in stream()[:1 + len(ROUND0) // 5 + 1 + 2]:    # up to CodeStarted
        view.apply(event)
    assert view.status == "Running code…"
    assert view.messages()[-1]["metadata"]["status"] == "pending"


def test_a_stored_transcript_gives_the_same_messages_as_the_live_stream():
    live = ChatView().extend(stream()).messages()
    stored = [e.to_dict() for e in stream() if not isinstance(e, TextDelta)]
    assert ChatView().extend(stored).messages() == live


def test_hints_verdicts_and_errors():
    view = ChatView().extend([
        HintGiven(step=1, level=2, text="Use $a<b$.", steps=3),
        AttemptChecked(attempt_kind="answer", verdict="incorrect", feedback="Not quite.", input="x = 5"),
        AttemptChecked(attempt_kind="answer", verdict="correct", feedback="Correct — well done!", input="7",
                       solved=True),
        ErrorEvent("sandbox_busy", "pool full"),
    ])
    text = "\n".join(m["content"] for m in view.messages())
    assert "rung 2 of 4" in text and "$a&lt;b$" in text
    assert "**My answer:** x = 5" in text and "✗ **Not yet.** Not quite." in text
    assert view.verdict == "✓ Correct — well done!" and view.solved
    assert "calculator is busy" in text and view.errors == ["sandbox_busy"]
    assert view.rung_label == "Hint rung **2 of 4** · step 1 of 3"


def test_prices_are_not_math_and_cannot_pair_with_other_dollars():
    assert prose("She makes $18 a day and $5 more") == "She makes &#36;18 a day and &#36;5 more"
    assert prose("cost $5, so $x = 5$") == "cost &#36;5, so $x = 5$"


def test_every_error_code_tutor_can_emit_has_its_own_sentence():
    import re
    from pathlib import Path

    from app.messages import friendly, known_codes
    root = Path(__file__).resolve().parents[2]
    emitted = set()
    for path in list((root / "tutor").rglob("*.py")) + list((root / "sandbox").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        emitted |= set(re.findall(r'ErrorEvent\("([a-z_]+)"', text)) | set(re.findall(r'code = "([a-z_]+)"', text))
    assert emitted, "no error codes found"
    generic = friendly("no-such-code")
    missing = sorted(c for c in emitted if c not in known_codes() or (c != "error" and friendly(c) == generic
                                                                      and c != "internal_error"))
    assert missing == [], f"error codes without a friendly sentence: {missing}"


def test_markdown_images_in_anyones_text_are_shown_as_text():
    """An image would make every reader's browser (a teacher's too) fetch the URL; the `!` becomes an entity."""
    for text in ("look ![x](http://evil.example/x.png)", "![x][r]\n\n[r]: http://evil.example/x.png",
                 "$![x](http://evil.example/x.png)$", "```\n![x](http://evil.example/x.png)\n```"):
        md = prose(text)
        assert "![" not in md and "&#33;[x]" in md, md
