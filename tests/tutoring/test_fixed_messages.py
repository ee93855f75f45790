"""The tutor's fixed messages (the examples it gives when a line or an answer cannot be read) never state
a value the student is still to find: an example like "2x + 3 = 7" said 7 on every problem whose answer
is 7, and while the key is being written no guard knows the answer to check such a message against."""

from __future__ import annotations

import pytest

from tutor.tutoring.guard import mentions
from tutor.tutoring.session import check_answer, check_steps
from tutor.tutoring.state import LiveSession

PROBLEM = "Tom has some apples and buys more. How many apples does he have now?"
HIDDEN = ["7", "2", "3", "4", "10", "3/4", "1", "0"]


def fixed_messages() -> list[str]:
    live = LiveSession(id=1, user_id=1, mode="tutor", question=PROBLEM)   # no key yet: nothing is hidden
    messages = [check_steps(live, "x ==== @@ ]", 5.0, 5).feedback, check_answer(live, "= ?", 5.0).feedback]
    assert all("couldn't read" in m for m in messages)
    return messages


@pytest.mark.parametrize("hidden", HIDDEN)
def test_fixed_examples_do_not_state_a_hidden_value(hidden):
    for message in fixed_messages():
        assert not mentions(message, hidden, 5.0), message


def test_fixed_examples_carry_no_number():
    for message in fixed_messages():
        assert "e.g." in message or "like" in message   # the example is still given
        assert not any(ch.isdigit() for ch in message), message
