"""The model's side of a turn: DeepSeekMath's format, the tool-integrated loop, the final answer.
Knows nothing of tutoring (tutor.tutoring drives it for the private key and solve mode).

- `prompt`: the prompt format character for character, stop strings, the output block fed back;
  `last_python_block` and `wants_code_run` read a round of model text.
- `loop`: `run_turn`: generate, run the last python block in the session's kernel, feed the output back,
  repeat within the round and token bounds, yielding `tutor.events`; a set `cancel` (Stop) ends the
  generation and interrupts the running cell.
- `answers`: `extract_answer`: the last `\\boxed{}`, else the last output block, else the last number.
- `evaluation`: benchmark runs over GSM8K / MATH files (`mathtutor eval`).
- `backends/`: the one backend protocol and its implementations, chosen by a spec string (see its map).
"""
