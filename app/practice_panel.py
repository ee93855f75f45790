"""The practice part of the student's page: "Next problem" (chosen by tutor.practice, with why) and
the student's progress (skills with mastery, reviews due, problems done). app/student.py places it."""

from __future__ import annotations

import asyncio
import html
from typing import Any, AsyncIterator, Callable

import gradio as gr

from app.context import AppContext
from tutor.practice import catalog


def practice_of(ctx: AppContext) -> Any:
    """The app's PracticeService (a test may put one with a fake clock on ctx before the first use)."""
    found = getattr(ctx, "practice", None)
    if found is None:
        from tutor.practice.service import PracticeService
        found = PracticeService(ctx.settings, ctx.store)
        ctx.practice = found  # type: ignore[attr-defined]
    return found


def progress_markdown(progress: Any) -> str:
    if not progress.skills:
        return "No skills practised yet: solve a problem and your progress shows here."
    done = f"**{progress.solved}** problem{'s' if progress.solved != 1 else ''} solved"
    rows = ["| Skill | Mastery | |", "|---|---|---|"]
    for s in progress.skills:
        if s.mastered:
            note = "mastered" + (f" · review {s.review_due_at:%d %b}" if s.review_due_at else "")
        else:
            note = f"{s.to_master} more to master"
        area = catalog.area_of(s.skill)   # the finer skill under the teacher's area it belongs to
        name = s.label if area == s.skill else f"{s.label} ({catalog.label(area)})"
        rows.append(f"| {html.escape(name)} | {round(100 * s.p_known)}% | {note} |")
    due = ", ".join(html.escape(s) for s in progress.due_labels)
    return "\n".join([done, "", *rows, "", f"**Due for review now:** {due}" if due else "No reviews due."])


class Panel:
    """Builds its components where it is called inside the page's Blocks."""

    def __init__(self, ctx: AppContext):
        self.ctx = ctx

    def next_row(self) -> None:
        with gr.Row():
            self.next_btn = gr.Button("Next problem", variant="primary", elem_id="mt-next", scale=1)
            self.why = gr.Markdown(elem_id="mt-why")

    def progress_box(self) -> None:
        with gr.Accordion("Your progress", open=False, elem_id="mt-progress-box"):
            self.progress = gr.Markdown(elem_id="mt-progress")

    def sidebar(self, user_id: int) -> dict[Any, Any]:
        from tutor.practice.progress import student_progress
        return {self.progress: progress_markdown(student_progress(practice_of(self.ctx), user_id))}

    def wire(self, who: Callable[[gr.Request], Any], run_action: Callable[..., AsyncIterator[dict[Any, Any]]],
             fresh_view: Callable[[], Any], notice: Any, outputs: list[Any], **turn_kw: Any) -> None:
        service, why = self.ctx.service, self.why

        async def on_next(request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            user = who(request)
            choice = await asyncio.to_thread(practice_of(self.ctx).next_problem, user.id)
            if choice is None:
                yield {why: "", notice: "ℹ Nothing to practise right now: you have worked through every problem "
                                        "your class has for you. Type your own question to keep going."}
                return
            said = f"**Why this problem:** {choice.why}"
            async for update in run_action("start", fresh_view(), user.id, None,
                                           lambda: service.start_session(user.id, problem_id=choice.problem_id,
                                                                         mode="tutor"), None, request):
                update[why] = said
                yield update

        self.next_btn.click(on_next, None, outputs + [why], **turn_kw)
