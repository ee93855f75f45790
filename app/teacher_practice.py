"""The teacher page's practice parts: "who needs help now" on the overview, and a Practice tab (the
class's order, generated variants to preview and approve). app/teacher.py places them; every handler
asks who is calling and the practice service checks that they teach the class."""

from __future__ import annotations

from typing import Any, Callable

import gradio as gr
import pandas as pd

from app.context import AppContext
from app.notices import notice_guard
from app.practice_panel import practice_of


def help_frame(store: Any, class_id: int) -> pd.DataFrame:
    from tutor.practice.progress import needs_help
    rows = [{"student": h.name, "why": "; ".join(h.reasons)} for h in needs_help(store, class_id)]
    return pd.DataFrame(rows or [{"student": "nobody right now", "why": ""}])


def bank_frame(store: Any, class_id: int, *, pending: bool) -> pd.DataFrame:
    rows = []
    for item in store.practice_items(class_id, status="pending" if pending else None):
        problem = store.get_problem(item.problem_id)
        rows.append({"item": item.id, "skill": item.skill, "difficulty": item.difficulty, "origin": item.origin,
                     "status": item.status, "problem": problem.text, "answer": problem.reference_answer,
                     "how it was confirmed": item.evidence})
    return pd.DataFrame(rows, columns=["item", "skill", "difficulty", "origin", "status", "problem", "answer",
                                       "how it was confirmed"])


class PracticeTab:
    """Built inside the page's gr.Tabs; `outputs()`/`view()` join the class outputs."""

    def __init__(self, ctx: AppContext, who: Callable[[gr.Request], Any], class_dd: Any, notice: Any):
        self.ctx, self.who, self.class_dd, self.notice = ctx, who, class_dd, notice
        with gr.Tab("Practice", id="practice", elem_id="tt-tab-practice"):
            self.order = gr.Radio([("Adaptive: by each student's mastery", "adaptive"),
                                   ("Fixed: the bank's order", "fixed")], label="Next problem order",
                                  elem_id="tt-practice-order")
            self.auto = gr.Checkbox(label="Approve confirmed variants automatically (no preview)",
                                    elem_id="tt-practice-auto")
            self.save = gr.Button("Save practice settings", elem_id="tt-practice-save")
            with gr.Accordion("Add your own practice problem", open=False):
                self.text = gr.Textbox(label="Problem", lines=2, elem_id="tt-practice-text")
                with gr.Row():
                    self.answer = gr.Textbox(label="Answer", elem_id="tt-practice-answer")
                    self.new_skill = gr.Textbox(label="Skill (e.g. fractions, algebra)",
                                                elem_id="tt-practice-new-skill")
                    self.difficulty = gr.Slider(1, 5, value=3, step=1, label="Difficulty",
                                                elem_id="tt-practice-difficulty")
                self.add = gr.Button("Add to the bank", elem_id="tt-practice-add")
            with gr.Row():
                self.skill = gr.Dropdown(label="Skill to make variants for", choices=[], elem_id="tt-practice-skill")
                self.count = gr.Number(label="How many", value=3, precision=0, minimum=1, maximum=20,
                                       elem_id="tt-practice-count")
                self.use_model = gr.Checkbox(label="Use the model (else templates of dataset problems)",
                                             elem_id="tt-practice-model")
            self.generate = gr.Button("Generate variants", elem_id="tt-practice-generate")
            self.pending = gr.Dataframe(label="Preview: confirmed variants waiting for approval", interactive=False,
                                        wrap=True, elem_id="tt-practice-pending",
                                        elem_classes=["mt-wrap-table"])
            with gr.Row():
                self.approve_ids = gr.Dropdown(label="Approve", choices=[], multiselect=True,
                                               elem_id="tt-practice-approve-ids")
                self.approve = gr.Button("Approve", variant="primary", elem_id="tt-practice-approve")

    def outputs(self) -> list[Any]:
        return [self.order, self.auto, self.skill, self.pending, self.approve_ids]

    def view(self, class_id: int, skill: str | None = None) -> dict[Any, Any]:
        store = self.ctx.store
        settings = store.practice_settings(class_id)
        pending = bank_frame(store, class_id, pending=True)
        skills = sorted({i.skill for i in store.practice_items(class_id) if i.origin != "generated"})
        return {self.order: settings.order_mode, self.auto: settings.auto_approve,
                self.skill: gr.update(choices=skills,
                                      value=skill if skill in skills else (skills[0] if skills else None)),
                self.pending: pending,
                self.approve_ids: gr.update(choices=[(f"#{r.item}: {r.problem[:60]}", int(r.item))
                                                     for r in pending.itertuples()], value=[])}

    def wire(self, class_id_of: Callable[[Any, Any], int]) -> None:
        practice, store, notice = practice_of(self.ctx), self.ctx.store, self.notice

        guarded = notice_guard(notice)

        @guarded
        def on_practice_save(class_id: Any, order: str, auto: bool, request: gr.Request) -> dict[Any, Any]:
            user = self.who(request)
            cid = class_id_of(user, class_id)
            practice.set_order(user, cid, order or "adaptive")
            practice.set_auto_approve(user, cid, bool(auto))
            return {notice: f"Practice: {order or 'adaptive'} order, variants "
                            f"{'approved automatically' if auto else 'previewed before students see them'}.",
                    **self.view(cid)}

        @guarded
        def on_practice_generate(class_id: Any, skill: str, count: Any, use_model: bool,
                                 request: gr.Request) -> dict[Any, Any]:
            user = self.who(request)
            cid = class_id_of(user, class_id)
            service = self.ctx.service
            items, discarded = practice.generate(
                user, cid, skill or "", int(count or 1),
                backend=service.backend if use_model else None,
                kernel=(lambda: service.kernels.fresh(0, "variant")) if use_model else None)
            said = f"{len(items)} confirmed variant{'s' if len(items) != 1 else ''}"
            if discarded:
                said += f"; {len(discarded)} discarded (never shown): " + "; ".join(sorted(set(discarded))[:3])
            return {notice: said, **self.view(cid, skill)}

        @guarded
        def on_practice_approve(class_id: Any, ids: list[Any], request: gr.Request) -> dict[Any, Any]:
            user = self.who(request)
            cid = class_id_of(user, class_id)
            for item_id in ids or []:
                if store.practice_item(int(item_id)).class_id == cid:
                    practice.approve(user, int(item_id))
            return {notice: f"Approved {len(ids or [])}.", **self.view(cid)}

        @guarded
        def on_practice_add(class_id: Any, text: str, answer: str, skill: str, difficulty: Any,
                            request: gr.Request) -> dict[Any, Any]:
            user = self.who(request)
            cid = class_id_of(user, class_id)
            skill = (skill or "").strip().lower().replace(" ", "_")
            item = practice.add_problem(user, cid, (text or "").strip(), answer=answer or "", skill=skill,
                                        difficulty=int(difficulty or 3))
            return {notice: f"Added problem {item.problem_id} to the bank ({skill}).", self.text: "",
                    self.answer: "", **self.view(cid)}

        quick = dict(api_visibility="private", concurrency_limit=None)
        self.add.click(on_practice_add, [self.class_dd, self.text, self.answer, self.new_skill, self.difficulty],
                       [notice, self.text, self.answer, *self.outputs()], **quick)
        self.save.click(on_practice_save, [self.class_dd, self.order, self.auto], [notice, *self.outputs()], **quick)
        self.generate.click(on_practice_generate, [self.class_dd, self.skill, self.count, self.use_model],
                            [notice, *self.outputs()], api_visibility="private")
        self.approve.click(on_practice_approve, [self.class_dd, self.approve_ids], [notice, *self.outputs()], **quick)
