"""Running the instrumented program in the session's kernel to read back each candidate's value.

A fresh namespace, so the session's own variables are untouched; printed output is swallowed; one
JSON line behind a marker carries the values (numbers as written by Python or SymPy's LaTeX).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from tutor.tutoring.key_program import MARKER, Program

log = logging.getLogger(__name__)

_KERNEL_CODE = """\
def _tk_main(_cells, _marker):
    import contextlib as _cl, io as _io, json as _json
    _vals, _runs = {{}}, {{}}
    def _tk_rec(_i, _v):
        _vals[_i] = _v
        _runs[_i] = _runs.get(_i, 0) + 1
        return _v
    def _fmt(_v):
        if isinstance(_v, bool) or _v is None or isinstance(_v, str):
            return None
        if isinstance(_v, (list, tuple, set, frozenset)) or type(_v).__name__ == 'FiniteSet':
            _items = list(_v)
            if not _items or len(_items) > 6:
                return None
            _parts = [_fmt(_x) for _x in _items]
            return None if None in _parts else (_parts[0] if len(_parts) == 1 else ', '.join(_parts))
        if isinstance(_v, dict):
            if not _v or len(_v) > 6:
                return None
            return ', '.join(f'{{_k}} = {{_fmt(_x)}}' for _k, _x in _v.items())
        if isinstance(_v, float):
            _v = float(f'{{_v:.12g}}')   # 180 * 0.7 is 126, not 125.99999999999999
            return str(int(_v)) if _v.is_integer() else repr(_v)
        if isinstance(_v, int):
            return str(_v)
        if type(_v).__module__.split('.')[0] in ('sympy', 'fractions', 'decimal', 'numpy'):
            import sympy as _sp
            _e = _sp.sympify(_v)
            if isinstance(_e, _sp.Symbol) or getattr(_e, 'is_Boolean', False) and not isinstance(_e, _sp.Equality):
                return None
            if isinstance(_e, _sp.Equality):
                return _sp.latex(_e.lhs) + ' = ' + _sp.latex(_e.rhs)
            if isinstance(_e, _sp.Float):
                _e = _sp.nsimplify(_e) if float(_e).is_integer() else _e
            return _sp.latex(_e)
        return None
    def _num(_v):
        try:
            return float(_v)
        except Exception:
            return None
    _ns = {{'__name__': '__main__', '_tk_rec': _tk_rec}}
    _failed = []
    with _cl.redirect_stdout(_io.StringIO()), _cl.redirect_stderr(_io.StringIO()):
        for _n, _src in enumerate(_cells):
            try:
                exec(compile(_src, f'<cell {{_n}}>', 'exec'), _ns)
            except (Exception, SystemExit):
                _failed.append(_n)
    _out = {{}}
    for _i, _v in _vals.items():
        try:
            _s = _fmt(_v)
        except Exception:
            _s = None
        if _s is not None and len(_s) <= 300:
            _out[str(_i)] = [_s, _runs[_i], _num(_v)]
    print(_marker + _json.dumps({{'values': _out, 'failed': _failed}}))
_tk_main({cells!r}, {marker!r})
del _tk_main
"""


def record_values(program: Program, runner: Any, timeout: float = 30.0) -> list[int]:
    """Run the instrumented program in the kernel (a fresh namespace, so the session's own variables are
    untouched) and fill in each candidate's value. Returns the cells that failed."""
    if not program.sources or runner is None:
        return []
    data = None
    for attempt in range(2):   # a kernel that died under us is replaced by the pool: one more try
        try:
            res = runner.run(_KERNEL_CODE.format(cells=program.sources, marker=MARKER), timeout=timeout)
        except Exception:  # noqa: BLE001 - without values the key keeps fewer, uncomputed steps
            log.warning("recording the key's values failed (try %d)", attempt + 1, exc_info=True)
            continue
        line = next((ln for ln in reversed((res.stdout or "").splitlines()) if ln.startswith(MARKER)), None)
        if line is not None:
            try:
                data = json.loads(line[len(MARKER):])
            except ValueError:
                data = None
        break
    if not isinstance(data, dict):
        return list(range(len(program.sources)))
    values = data.get("values") or {}
    for c in program.candidates:
        got = values.get(str(c.id))
        if isinstance(got, list) and len(got) == 3 and isinstance(got[0], str):
            c.value, c.runs = got[0], int(got[1])
            c.number = got[2] if isinstance(got[2], (int, float)) else None
    return [int(n) for n in data.get("failed") or []]
