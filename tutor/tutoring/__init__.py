"""Tutoring mode: the tutor knows the answer, the student works it out, one hint at a time.

Where things live:
- `service`: `TutorService`, the facade app/ and the CLI call (sessions, asks, hints, submissions).
- `state`: a session's state, `apply(state, event)` folded live and when rebuilt from the store.
- `session`: what the tutor says and checks (Socratic replies, answers, lines of work), without
  changing the session; `listing`: what a student's session lists and views show.
- `preparation`: the session's private key made (or reused) in fresh kernels; `key`, `key_program`,
  `key_steps`, `key_values`, `verification`: solving, steps from the executed program, confirmation;
  `key_reference`: the key from a teacher's worked reference solution.
- `worked`: a pasted whole worked solution, checked against the key.
- `hints`: the four-rung ladder; `guard`: `check_hint`, the answer-leak guard every tutoring text
  passes; `numerals`: numbers written in words, as digits for the guard.
- `learner`, `skills`: Bayesian Knowledge Tracing per skill and the skill tags.
- `kernels`: each session's kernel and the fresh ones key work runs in; `stopping`: Stop.
- `handover`: any app replica continues any session (database lock per action, catching up with
  events written elsewhere); `replay`: a kernel rebuilt by re-running the recorded cells, checked.
- `headless` (`mathtutor tutor`), `evaluation` and `leaks`, `quantities` (`mathtutor eval-tutor`).
"""
