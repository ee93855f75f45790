"""The doctor report (tutor/ops/doctor.py) on the admin page: the same checks as `mathtutor doctor`, run
against this app's own store and kernel pool, so it shows what students are using now."""

from __future__ import annotations

from typing import Any

from app.render import escape

_MARK = {"ok": "ok", "warn": "**WARN**", "fail": "**FAIL**"}


def run_doctor(ctx: Any):
    from tutor.ops.doctor import doctor
    kernels = getattr(ctx.service, "kernels", None)
    pool = ctx.pool or getattr(kernels, "pool", None)
    return doctor(ctx.settings, store=ctx.store, pool=pool, sandbox=False)


def doctor_markdown(report: Any) -> str:
    """The report as a Markdown table; every value escaped (details quote paths and server answers)."""
    lines = [f"**Overall: {_MARK[report.status]}** · the same report as `mathtutor doctor` on the server",
             "", "| part | state | detail | fix |", "|---|---|---|---|"]
    for c in report.checks:
        cells = [escape(c.part), _MARK[c.status], escape(c.detail), escape(c.fix) if c.status != "ok" else ""]
        lines.append("| " + " | ".join(cell.replace("|", "\\|").replace("\n", " ") for cell in cells) + " |")
    return "\n".join(lines)
