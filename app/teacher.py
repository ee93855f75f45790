"""The teacher's page at /teacher: their classes only. A class overview (sortable roster, mastery chart,
problems the class struggles with), session review with the full evidence, flags, assigning problems,
per-class settings, and a CSV export at /teacher/export/<class>.csv.

Gradio's auth dependency admits teachers and admins to the page; every handler then asks the store
again who is calling and whether they teach the class the browser names (the class and session ids
in the page are only hints from the browser). Each change is written to the audit log.
"""

from __future__ import annotations

import html
import io
from typing import Any

import gradio as gr
from fastapi import Depends, FastAPI
from fastapi.responses import Response

from app import teacher_data as data
from app.context import AppContext
from app.notices import notice_guard
from app.render import LATEX_DELIMITERS, escape, prose
from app.teacher_actions import TeacherActions
from app.teacher_practice import PracticeTab, help_frame
from app.teacher_review import render_transcript
from app.theme import CSS, THEME
from tutor.errors import NotFound
from tutor.school.classes import export_class

PATH = "/teacher"
ROLES = ("teacher", "admin")
TEACHER_CSS = CSS + """
#tt-header { align-items: center; }
#tt-notice p { margin: 0; }
#tt-facts { border: 1px solid #e3e6ea; border-radius: 8px; padding: .4em .8em; }
"""


def header_html(ctx: AppContext, user: Any, request: gr.Request) -> str:
    token = ctx.csrf_token(request.request) if request.request is not None else ""
    name = html.escape(user.display_name or user.name)
    return (f'<div class="mt-user">Signed in as <b>{name}</b> ({html.escape(user.role)}) '
            f'<form method="post" action="/logout" class="mt-logout">'
            f'<input type="hidden" name="csrf_token" value="{html.escape(token)}">'
            f'<button type="submit" id="tt-signout">Sign out</button></form></div>')


def export_link(class_id: int) -> str:
    # relative to the page (/teacher/), so it keeps working behind a path prefix
    return (f'<a id="tt-export-link" href="export/{int(class_id)}.csv" download>'
            f'Download the class\'s sessions, attempts and hints (CSV)</a>')


def build(ctx: AppContext) -> gr.Blocks:
    store = ctx.store
    actions = TeacherActions(ctx)

    def who(request: gr.Request) -> Any:
        return ctx.user_from_gradio(request, ROLES)

    with gr.Blocks(title="Teacher · Math tutor") as demo:
        with gr.Row(elem_id="tt-header"):
            gr.Markdown("## Teacher")
            header = gr.HTML(elem_id="tt-user")
        notice = gr.Markdown(elem_id="tt-notice")
        with gr.Row():
            class_dd = gr.Dropdown(label="Class", choices=[], value=None, elem_id="tt-class", scale=3)
            refresh_btn = gr.Button("Refresh", elem_id="tt-refresh", scale=1)
        export = gr.HTML(elem_id="tt-export")
        with gr.Tabs(elem_id="tt-tabs") as tabs:
            with gr.Tab("Overview", id="overview", elem_id="tt-tab-overview"):
                help_now = gr.Dataframe(label="Who needs help now (stuck, many hints, falling mastery)",
                                        interactive=False, elem_id="tt-help", wrap=False, max_chars=40, elem_classes=["mt-table"])
                with gr.Row():
                    sort_by = gr.Dropdown(data.ROSTER_COLUMNS, value="student", label="Sort roster by",
                                          elem_id="tt-sort", scale=2)
                    descending = gr.Checkbox(label="Highest first", value=False, elem_id="tt-desc", scale=1)
                roster = gr.Dataframe(label="Roster", interactive=False, elem_id="tt-roster", wrap=False, max_chars=40, elem_classes=["mt-table"])
                chart = gr.BarPlot(x="bar", y="mastery", color="skill", y_lim=[0, 1], title="Mastery per skill",
                                   x_title="student · skill", y_title="P(mastered)", x_label_angle=-20,
                                   tooltip=["student", "skill", "mastery"], elem_id="tt-mastery", height=320)
                struggles = gr.Dataframe(label="Problems where the class struggles (most wrong answers first)",
                                         interactive=False, elem_id="tt-struggles", wrap=False, max_chars=40, elem_classes=["mt-table"])
            with gr.Tab("Sessions", id="sessions", elem_id="tt-tab-sessions"):
                sessions_table = gr.Dataframe(label="Sessions (click a row to open it)", interactive=False,
                                              elem_id="tt-sessions", max_height=260, max_chars=40, elem_classes=["mt-table"])
                session_dd = gr.Dropdown(label="Open a session", choices=[], value=None, elem_id="tt-session")
                facts = gr.Markdown(elem_id="tt-facts", latex_delimiters=LATEX_DELIMITERS)
                transcript = gr.Chatbot(label="Transcript", elem_id="tt-transcript", latex_delimiters=LATEX_DELIMITERS,
                                        height=640, sanitize_html=True, allow_tags=False, buttons=["copy"], autoscroll=False,
                                        group_consecutive_messages=False, feedback_options=None)
                with gr.Row():
                    flag_note = gr.Textbox(label="Flag this session — note for yourself or colleagues", lines=2,
                                           elem_id="tt-flag-note", scale=4)
                    flag_btn = gr.Button("Flag this session", elem_id="tt-flag", scale=1)
            with gr.Tab("Flags", id="flags", elem_id="tt-tab-flags"):
                show_resolved = gr.Checkbox(label="Show resolved flags too", value=False, elem_id="tt-show-resolved")
                flags_table = gr.Dataframe(label="Flags raised by teachers and by the system (click one to open its "
                                                 "session)", interactive=False,
                                           elem_id="tt-flags", wrap=False, max_chars=40, elem_classes=["mt-table"])
                with gr.Row():
                    flag_dd = gr.Dropdown(label="Open flag", choices=[], value=None, elem_id="tt-flag-pick", scale=3)
                    resolution = gr.Textbox(label="Resolution", elem_id="tt-resolution", scale=3)
                    resolve_btn = gr.Button("Resolve", elem_id="tt-resolve", scale=1)
            with gr.Tab("Assign", id="assign", elem_id="tt-tab-assign"):
                assignments = gr.Dataframe(label="Assigned to this class", interactive=False,
                                           elem_id="tt-assignments", wrap=False, max_chars=40, elem_classes=["mt-table"])
                source = gr.Radio([("Type a problem", "typed"), ("Pick from a dataset file", "dataset"),
                                   ("An existing problem set", "set")],
                                  value="typed", label="Problem source", elem_id="tt-source")
                with gr.Group(visible=True) as typed_box:
                    problem_text = gr.Textbox(label="Problem (plain text or LaTeX)", lines=4, elem_id="tt-problem")
                    reference = gr.Textbox(label="Reference answer (optional; checked against the model's key)",
                                           elem_id="tt-reference")
                    skills = gr.Textbox(label="Skills (optional, comma-separated, e.g. algebra)", elem_id="tt-skills")
                with gr.Group(visible=False) as dataset_box:
                    dataset = gr.Dropdown(label="Dataset file (pick one, or type its name)",
                                          choices=[], value=None, allow_custom_value=True, elem_id="tt-dataset")
                    rows = gr.Textbox(label="Rows (1-based), e.g. 1-5, 9", elem_id="tt-rows")
                    use_answers = gr.Checkbox(label="Use the dataset's answers as reference answers", value=True,
                                              elem_id="tt-use-answers")
                    preview_btn = gr.Button("Preview", elem_id="tt-preview")
                    preview = gr.Markdown(elem_id="tt-preview-text", latex_delimiters=LATEX_DELIMITERS)
                with gr.Group(visible=False) as set_box:
                    existing_set = gr.Dropdown(label="Problem set", choices=[], value=None, elem_id="tt-existing-set")
                set_title = gr.Textbox(label="Problem set title (optional: several problems become one set)",
                                       elem_id="tt-set-title")
                assign_btn = gr.Button("Assign to class", variant="primary", elem_id="tt-assign")
            with gr.Tab("Settings", id="settings", elem_id="tt-tab-settings"):
                allow_solve = gr.Checkbox(label="Allow solve mode (students may ask for a full solution)",
                                          elem_id="tt-allow-solve")
                allow_skip = gr.Checkbox(label="Allow hint skipping (students may jump to the worked step)",
                                         elem_id="tt-allow-skip")
                save_btn = gr.Button("Save settings", elem_id="tt-save")
            practice_tab = PracticeTab(ctx, who, class_dd, notice)   # order, variants to preview and approve

        class_outputs = [notice, export, roster, chart, struggles, sessions_table, session_dd, flags_table, flag_dd,
                         assignments, allow_solve, allow_skip, transcript, facts, help_now, *practice_tab.outputs()]

        guarded = notice_guard(notice)

        def class_view(user: Any, class_id: Any, sort: str = "student", desc: bool = False,
                       resolved: bool = False) -> dict[Any, Any]:
            cls = data.require_class(store, user, class_id)
            summary = store.class_summary(cls.id)
            frame = data.roster_frame(summary)
            if sort in frame.columns:
                frame = frame.sort_values(sort, ascending=not desc, na_position="last", kind="stable")
            pairs = data.class_sessions(store, cls.id)
            open_flags = store.flags(class_id=cls.id, open_only=True)
            return {notice: "", export: export_link(cls.id), roster: frame, chart: data.mastery_frame(summary),
                    struggles: data.struggles_frame(store.class_problem_stats(cls.id)),
                    sessions_table: data.sessions_frame(pairs),
                    session_dd: gr.update(choices=[(data.session_label(u, s), s.id) for u, s in pairs], value=None),
                    flags_table: gr.update(value=data.flags_frame(store, cls.id, open_only=not resolved),
                                           label=f"Open flags: {data.flags_summary(open_flags)} (teachers' first; "
                                                 f"click one to open its session)"),
                    flag_dd: gr.update(choices=[(f"#{f.id} · session #{f.session_id} · {data.flag_kind(f)}"
                                                 + (f" (×{k})" if k > 1 else ""), f.id)
                                                for f, k in data.grouped_flags(open_flags)], value=None),
                    assignments: actions.assignments_frame(cls.id),
                    allow_solve: cls.allow_solve_mode, allow_skip: cls.allow_hint_skip,
                    transcript: [], facts: "", help_now: help_frame(store, cls.id), **practice_tab.view(cls.id)}

        @guarded
        def on_load(request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            classes = data.classes_for(store, user)
            first = classes[0].id if len(classes) == 1 else None
            out: dict[Any, Any] = {header: header_html(ctx, user, request),
                                   class_dd: gr.update(choices=[(c.name, c.id) for c in classes], value=first),
                                   dataset: gr.update(choices=actions.datasets()),
                                   existing_set: gr.update(choices=actions.problem_set_choices())}
            if first is not None:
                out.update(class_view(user, first))
            else:
                out[notice] = ("Choose a class." if classes else
                               "You do not teach any class yet. Ask an administrator to add you to one.")
            return out

        @guarded
        def on_class(class_id: Any, sort: str, desc: bool, resolved: bool, request: gr.Request) -> dict[Any, Any]:
            return class_view(who(request), class_id, sort, desc, resolved)

        @guarded
        def on_sort(class_id: Any, sort: str, desc: bool, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            cls = data.require_class(store, user, class_id)
            frame = data.roster_frame(store.class_summary(cls.id))
            if sort in frame.columns:
                frame = frame.sort_values(sort, ascending=not desc, na_position="last", kind="stable")
            return {roster: frame, notice: ""}

        def open_session(user: Any, class_id: Any, session_id: Any) -> dict[Any, Any]:
            record = data.require_session(store, user, class_id, session_id)
            messages, facts_md, _ = render_transcript(store.transcript(record.id))
            return {transcript: messages, facts: facts_md, notice: "",
                    session_dd: gr.update(value=record.id)}

        @guarded
        def on_session(class_id: Any, session_id: Any, request: gr.Request) -> dict[Any, Any]:
            if session_id in (None, ""):
                return {notice: ""}
            return open_session(who(request), class_id, session_id)

        @guarded
        def on_session_row(class_id: Any, evt: gr.SelectData, request: gr.Request) -> dict[Any, Any]:
            row = getattr(evt, "row_value", None) or []
            if not row:
                return {notice: ""}
            return open_session(who(request), class_id, row[0])

        @guarded
        def on_flag_row(class_id: Any, evt: gr.SelectData, request: gr.Request) -> dict[Any, Any]:
            """A click on a flag opens its session (FLAG_COLUMNS: flag, session, ...)."""
            row = getattr(evt, "row_value", None) or []
            if len(row) < 2:
                return {notice: ""}
            out = open_session(who(request), class_id, row[1])
            out[tabs] = gr.Tabs(selected="sessions")
            return out

        @guarded
        def on_flag(class_id: Any, session_id: Any, note: str, resolved: bool, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            record = data.require_session(store, user, class_id, session_id)
            flag = actions.flag(user, class_id, record, note)
            out = class_view(user, class_id, resolved=resolved)
            out.update(open_session(user, class_id, record.id))
            out.update({flag_note: "", notice: f"Flag #{flag.id} raised on session #{record.id}."})
            return out

        @guarded
        def on_resolve(class_id: Any, flag_id: Any, text: str, resolved: bool, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            flag = actions.resolve(user, class_id, flag_id, text)
            out = class_view(user, class_id, resolved=resolved)
            out.update({resolution: "", notice: f"Flag #{flag.id} resolved."})
            return out

        @guarded
        def on_show_resolved(class_id: Any, resolved: bool, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            cls = data.require_class(store, user, class_id)
            return {flags_table: data.flags_frame(store, cls.id, open_only=not resolved), notice: ""}

        def on_source(choice: str) -> dict[Any, Any]:
            return {typed_box: gr.update(visible=choice == "typed"), dataset_box: gr.update(visible=choice == "dataset"),
                    set_box: gr.update(visible=choice == "set")}

        @guarded
        def on_preview(class_id: Any, path: str, spec: str, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            data.require_class(store, user, class_id)
            problems = actions.dataset_problems(path, spec)
            shown = [f"**Row {p.row}.** {prose(p.text)}" + (f"  \n*answer:* ${escape(p.answer)}$" if p.answer else "")
                     for p in problems[:20]]
            more = f"\n\n… and {len(problems) - 20} more" if len(problems) > 20 else ""
            return {preview: "\n\n".join(shown) + more, notice: ""}

        @guarded
        def on_assign(class_id: Any, src: str, text: str, ref: str, skill_text: str, path: str, spec: str,
                      use_ans: bool, title: str, set_id: Any, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            if src == "set":
                result = actions.assign_set(user, class_id, set_id)
            elif src == "dataset":
                result = actions.assign_dataset(user, class_id, path, spec, use_ans, title)
            else:
                result = actions.assign_typed(user, class_id, text, ref, skill_text, title)
            return {notice: f"Done: {escape(result)}", assignments: actions.assignments_frame(int(class_id)),
                    problem_text: "", reference: "", preview: "",
                    existing_set: gr.update(choices=actions.problem_set_choices())}

        @guarded
        def on_save(class_id: Any, solve: bool, skip: bool, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            cls = actions.save_settings(user, class_id, bool(solve), bool(skip))
            return {notice: f"Saved: solve mode {'allowed' if cls.allow_solve_mode else 'not allowed'}, "
                            f"hint skipping {'allowed' if cls.allow_hint_skip else 'not allowed'}.",
                    allow_solve: cls.allow_solve_mode, allow_skip: cls.allow_hint_skip}

        practice_tab.wire(lambda user, class_id: data.require_class(store, user, class_id).id)
        quick = dict(api_visibility="private", concurrency_limit=None)
        demo.load(on_load, None, class_outputs + [header, class_dd, dataset, existing_set], **quick)
        class_dd.input(on_class, [class_dd, sort_by, descending, show_resolved], class_outputs, **quick)
        refresh_btn.click(on_class, [class_dd, sort_by, descending, show_resolved], class_outputs, **quick)
        sort_by.input(on_sort, [class_dd, sort_by, descending], [roster, notice], **quick)
        descending.input(on_sort, [class_dd, sort_by, descending], [roster, notice], **quick)
        session_dd.input(on_session, [class_dd, session_dd], [transcript, facts, notice, session_dd], **quick)
        sessions_table.select(on_session_row, [class_dd], [transcript, facts, notice, session_dd], **quick)
        flags_table.select(on_flag_row, [class_dd], [transcript, facts, notice, session_dd, tabs], **quick)
        flag_btn.click(on_flag, [class_dd, session_dd, flag_note, show_resolved], class_outputs + [flag_note], **quick)
        resolve_btn.click(on_resolve, [class_dd, flag_dd, resolution, show_resolved], class_outputs + [resolution],
                          **quick)
        show_resolved.input(on_show_resolved, [class_dd, show_resolved], [flags_table, notice], **quick)
        source.input(on_source, [source], [typed_box, dataset_box, set_box], **quick)
        preview_btn.click(on_preview, [class_dd, dataset, rows], [preview, notice], **quick)
        assign_btn.click(on_assign, [class_dd, source, problem_text, reference, skills, dataset, rows, use_answers,
                                     set_title, existing_set],
                         [notice, assignments, problem_text, reference, preview, existing_set], **quick)
        save_btn.click(on_save, [class_dd, allow_solve, allow_skip], [notice, allow_solve, allow_skip], **quick)
    demo.queue(default_concurrency_limit=8, api_open=False)
    return demo


def mount(app: FastAPI, ctx: AppContext) -> None:
    # The export route is registered before the Gradio mount so it wins over the mount's catch-all.
    @app.get("/teacher/export/{class_id:int}.csv", include_in_schema=False)
    def export_csv(class_id: int, user: Any = Depends(ctx.require(*ROLES))) -> Response:
        try:
            cls = data.require_class(ctx.store, user, class_id)
        except NotFound:
            return Response("no such class\n", status_code=404, media_type="text/plain")
        out = io.StringIO()
        export_class(ctx.store, user, cls.id, "csv", out)
        name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in cls.name) or f"class-{cls.id}"
        return Response(out.getvalue(), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}-export.csv"',
                                 "Cache-Control": "no-store"})

    demo = build(ctx)
    ctx.protect_page(PATH, ROLES)
    gr.mount_gradio_app(app, demo, path=PATH, auth_dependency=ctx.gradio_auth_dependency(ROLES),
                        footer_links=[], run_history=False, theme=THEME, css=TEACHER_CSS, ssr_mode=False,
                        show_error=False, mcp_server=False)
