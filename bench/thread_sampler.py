"""Where a server's action threads spend their time: stacks sampled every 10 ms (for the load bench's
--profile; no profiler package needed)."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Sampler:
    """--profile: where the server's action threads spend their time (sampled stacks: the deepest frame of
    this project's code, and the leaf function it is in)."""

    def __init__(self, every_s: float = 0.01):
        self.counts: Counter = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(every_s,), daemon=True)

    def _run(self, every_s: float) -> None:
        names = {}
        while not self._stop.wait(every_s):
            names = {t.ident: t.name for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                if not names.get(ident, "").startswith("turn-"):
                    continue
                leaf = f"{Path(frame.f_code.co_filename).name}:{frame.f_code.co_name}"
                ours: list[str] = []   # the deepest frames of this project's code, in distinct modules
                f = frame
                while f is not None and len(ours) < 3:
                    fn = f.f_code.co_filename
                    if str(ROOT) in fn and "/.venv/" not in fn and not any(o.startswith(Path(fn).name) for o in ours):
                        ours.append(f"{Path(fn).name}:{f.f_code.co_name}:{f.f_lineno}")
                    f = f.f_back
                ours = " < ".join(ours)
                self.counts[(ours, leaf)] += 1

    def __enter__(self) -> "Sampler":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def report(self, top: int = 20) -> list[str]:
        total = sum(self.counts.values()) or 1
        return [f"{n / total:6.1%}  {ours}  <- {leaf}" for (ours, leaf), n in self.counts.most_common(top)]
