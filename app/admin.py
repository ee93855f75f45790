"""The admin page at /admin: users, classes (with CSV roster upload), service status and the audit log.

Only admins get past Gradio's auth dependency, and every handler asks the store again (a demoted or
deactivated admin loses the page at their next click). Each change goes to the audit log; the same
operations exist on the command line (`mathtutor user ...`, `mathtutor class ...`, `mathtutor admin ...`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import gradio as gr
from gradio.utils import get_upload_folder
from fastapi import FastAPI

from app.admin_actions import ROLES as USER_ROLES, AdminActions
from app.admin_doctor import doctor_markdown, run_doctor
from app.admin_status import StatusBoard, status_markdown
from app.context import AppContext
from app.notices import notice_guard
from app.render import escape
from app.teacher import header_html
from app.theme import CSS, THEME

PATH = "/admin"
ROLES = ("admin",)
MAX_ROSTER_BYTES = 2 * 1024 * 1024


def build(ctx: AppContext) -> gr.Blocks:
    actions = AdminActions(ctx)
    board = StatusBoard(ctx)

    def who(request: gr.Request) -> Any:
        return ctx.user_from_gradio(request, ROLES)

    with gr.Blocks(title="Admin · Math tutor") as demo:
        with gr.Row():
            gr.Markdown("## Admin")
            header = gr.HTML(elem_id="ad-user")
        notice = gr.Markdown(elem_id="ad-notice")
        with gr.Tabs(elem_id="ad-tabs"):
            with gr.Tab("Users", id="users", elem_id="ad-tab-users"):
                users = gr.Dataframe(label="Users", interactive=False, elem_id="ad-users", max_height=360)
                gr.Markdown("#### New user")
                with gr.Row():
                    new_name = gr.Textbox(label="User name", elem_id="ad-new-name")
                    new_display = gr.Textbox(label="Display name", elem_id="ad-new-display")
                    new_role = gr.Dropdown(list(USER_ROLES), value="student", label="Role", elem_id="ad-new-role")
                    new_password = gr.Textbox(label="Password", type="password", elem_id="ad-new-password")
                create_user_btn = gr.Button("Create user", variant="primary", elem_id="ad-create-user")
                gr.Markdown("#### Change a user")
                with gr.Row():
                    pick_user = gr.Dropdown(label="User", choices=[], value=None, elem_id="ad-pick-user", scale=2)
                    role = gr.Dropdown(list(USER_ROLES), value=None, label="New role", elem_id="ad-role")
                    role_btn = gr.Button("Change role", elem_id="ad-role-btn")
                with gr.Row():
                    reset_pw = gr.Textbox(label="New password", type="password", elem_id="ad-reset-pw", scale=2)
                    reset_btn = gr.Button("Reset password", elem_id="ad-reset-btn")
                    deactivate_btn = gr.Button("Deactivate", variant="stop", elem_id="ad-deactivate")
                    activate_btn = gr.Button("Reactivate", elem_id="ad-activate")
            with gr.Tab("Classes", id="classes", elem_id="ad-tab-classes"):
                classes = gr.Dataframe(label="Classes", interactive=False, elem_id="ad-classes", max_height=300)
                gr.Markdown("#### New class")
                with gr.Row():
                    class_name = gr.Textbox(label="Class name", elem_id="ad-class-name", scale=2)
                    class_teachers = gr.Dropdown(label="Teachers", choices=[], multiselect=True,
                                                 elem_id="ad-class-teachers", scale=2)
                    class_solve = gr.Checkbox(label="Allow solve mode", elem_id="ad-class-solve")
                    class_skip = gr.Checkbox(label="Allow hint skipping", elem_id="ad-class-skip")
                create_class_btn = gr.Button("Create class", variant="primary", elem_id="ad-create-class")
                gr.Markdown("#### Teachers and students of a class")
                pick_class = gr.Dropdown(label="Class", choices=[], value=None, elem_id="ad-pick-class")
                members = gr.Dataframe(label="Members of the class (teachers first)", interactive=False,
                                       elem_id="ad-members", max_height=300, max_chars=40)
                with gr.Row():
                    add_teachers = gr.Dropdown(label="Add teachers", choices=[], multiselect=True,
                                               elem_id="ad-add-teachers", scale=3)
                    add_teachers_btn = gr.Button("Assign teachers", elem_id="ad-assign-teachers")
                with gr.Row():
                    enroll_students = gr.Dropdown(label="Enroll students", choices=[], multiselect=True,
                                                  elem_id="ad-enroll-students", scale=3)
                    enroll_btn = gr.Button("Enroll", elem_id="ad-enroll")
                gr.Markdown("CSV roster: a header row with `username` and optionally `display_name`, `password`. "
                            "Missing accounts are created as students (a random password is shown once when "
                            "the file gives none); a file with any bad row changes nothing.")
                with gr.Row():
                    # a button whose words are its name (Gradio's drop zone says one thing and is named
                    # another, which screen-reader and voice-control users trip over)
                    roster_file = gr.UploadButton("Choose the roster file (.csv)", file_types=[".csv"],
                                                  type="filepath", elem_id="ad-roster-file", scale=2)
                    roster_chosen = gr.Markdown("No file chosen yet.", elem_id="ad-roster-chosen")
                    roster_btn = gr.Button("Enroll from roster", elem_id="ad-roster-btn")
                roster_result = gr.Dataframe(label="Roster result", interactive=False, elem_id="ad-roster-result")
            with gr.Tab("Service status", id="status", elem_id="ad-tab-status"):
                status_btn = gr.Button("Refresh", elem_id="ad-status-refresh")
                status = gr.Markdown(elem_id="ad-status")
            with gr.Tab("Doctor", id="doctor", elem_id="ad-tab-doctor"):
                doctor_btn = gr.Button("Run the checks", elem_id="ad-doctor-run")
                doctor_report = gr.Markdown("The same report as `mathtutor doctor`: each part ok, warn or fail, "
                                            "with its fix.", elem_id="ad-doctor")
            with gr.Tab("Audit log", id="audit", elem_id="ad-tab-audit"):
                with gr.Row():
                    audit_filter = gr.Textbox(label="Only this action (e.g. user.create)", elem_id="ad-audit-filter")
                    audit_btn = gr.Button("Refresh", elem_id="ad-audit-refresh")
                audit = gr.Dataframe(label="Audit log (newest first)", interactive=False, elem_id="ad-audit", wrap=True)

        lists = [users, pick_user, classes, class_teachers, pick_class, add_teachers, enroll_students, audit]

        guarded = notice_guard(notice)

        def refreshed(message: str = "") -> dict[Any, Any]:
            teachers = actions.user_choices("teacher") + actions.user_choices("admin")
            return {notice: message, users: actions.users_frame(),
                    pick_user: gr.update(choices=actions.user_choices()),
                    classes: actions.classes_frame(), class_teachers: gr.update(choices=teachers),
                    pick_class: gr.update(choices=actions.class_choices()), add_teachers: gr.update(choices=teachers),
                    enroll_students: gr.update(choices=actions.user_choices("student")),
                    audit: actions.audit_frame()}

        @guarded
        def on_load(request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            return {header: header_html(ctx, user, request), status: status_markdown(board.report()), **refreshed()}

        @guarded
        def on_create_user(name: str, display: str, new: str, password: str, request: gr.Request) -> dict[Any, Any]:
            user = actions.create_user(who(request), name, display, new, password)
            return {**refreshed(f"Created {escape(user.role)} **{escape(user.name)}**."),
                    new_name: "", new_display: "", new_password: ""}

        @guarded
        def on_role(user_id: Any, new: str, request: gr.Request) -> dict[Any, Any]:
            user = actions.set_role(who(request), user_id, new)
            return refreshed(f"{escape(user.name)} is now a {escape(user.role)}.")

        @guarded
        def on_reset(user_id: Any, password: str, request: gr.Request) -> dict[Any, Any]:
            me = who(request)
            user = actions.reset_password(me, user_id, password)
            # a new password ends every sign-in made with the old one, this browser's too when it is yours
            again = " Every sign-in with the old one has ended: sign in again." if user.id == me.id else (
                " Their sign-ins with the old one have ended.")
            return {**refreshed(f"New password set for {escape(user.name)}.{again}"), reset_pw: ""}

        def on_active(active: bool) -> Callable[..., dict[Any, Any]]:
            @guarded
            def run(user_id: Any, request: gr.Request) -> dict[Any, Any]:
                user = actions.set_active(who(request), user_id, active)
                return refreshed(f"{escape(user.name)} {'can sign in again' if active else 'is deactivated'}.")
            run.__name__ = "on_activate" if active else "on_deactivate"
            return run

        @guarded
        def on_create_class(name: str, teachers: Any, solve: bool, skip: bool, request: gr.Request) -> dict[Any, Any]:
            cls = actions.create_class(who(request), name, teachers, solve, skip)
            return {**refreshed(f"Created class **{escape(cls.name)}**."), class_name: "",
                    class_teachers: gr.update(value=[])}

        def on_chosen(file: Any, request: gr.Request) -> str:
            who(request)
            return f"Chosen: **{escape(Path(file).name)}** (nothing changes until you press Enroll from roster)." \
                if isinstance(file, str) and file else "No file chosen yet."

        @guarded
        def on_members(class_id: Any, request: gr.Request) -> dict[Any, Any]:
            who(request)
            if class_id in (None, ""):
                return {notice: ""}
            return {members: actions.members_frame(class_id), notice: ""}

        @guarded
        def on_add_teachers(class_id: Any, teachers: Any, request: gr.Request) -> dict[Any, Any]:
            cls = actions.add_teachers(who(request), class_id, teachers)
            return {**refreshed(f"Teachers assigned to **{escape(cls.name)}**."), add_teachers: gr.update(value=[]),
                    members: actions.members_frame(cls.id)}

        @guarded
        def on_enroll(class_id: Any, students: Any, request: gr.Request) -> dict[Any, Any]:
            cls, new = actions.enroll(who(request), class_id, students)
            return {**refreshed(f"{new} student(s) newly enrolled in **{escape(cls.name)}**."),
                    enroll_students: gr.update(value=[]), members: actions.members_frame(cls.id)}

        @guarded
        def on_roster(class_id: Any, file: Any, request: gr.Request) -> dict[Any, Any]:
            try:
                cls, results = actions.roster(who(request), class_id, file)
            finally:
                _discard_upload(file)
            created = sum(r.status == "created" for r in results)
            return {**refreshed(f"Roster applied to **{escape(cls.name)}**: {len(results)} students, "
                                f"{created} new account(s)."), roster_result: actions.roster_frame(results),
                    members: actions.members_frame(cls.id)}

        @guarded
        def on_status(request: gr.Request) -> dict[Any, Any]:
            who(request)
            return {status: status_markdown(board.report()), notice: ""}

        @guarded
        def on_doctor(request: gr.Request) -> dict[Any, Any]:
            who(request)
            return {doctor_report: doctor_markdown(run_doctor(ctx)), notice: ""}

        @guarded
        def on_audit(action: str, request: gr.Request) -> dict[Any, Any]:
            who(request)
            return {audit: actions.audit_frame(action), notice: ""}

        quick = dict(api_visibility="private", concurrency_limit=None)
        outs = [notice] + lists
        demo.load(on_load, None, outs + [header, status], **quick)
        create_user_btn.click(on_create_user, [new_name, new_display, new_role, new_password],
                              outs + [new_name, new_display, new_password], **quick)
        role_btn.click(on_role, [pick_user, role], outs, **quick)
        reset_btn.click(on_reset, [pick_user, reset_pw], outs + [reset_pw], **quick)
        deactivate_btn.click(on_active(False), [pick_user], outs, **quick)
        activate_btn.click(on_active(True), [pick_user], outs, **quick)
        create_class_btn.click(on_create_class, [class_name, class_teachers, class_solve, class_skip],
                               outs + [class_name], **quick)
        pick_class.input(on_members, [pick_class], [members, notice], **quick)
        roster_file.upload(on_chosen, [roster_file], [roster_chosen], **quick)
        add_teachers_btn.click(on_add_teachers, [pick_class, add_teachers], outs + [members], **quick)
        enroll_btn.click(on_enroll, [pick_class, enroll_students], outs + [members], **quick)
        roster_btn.click(on_roster, [pick_class, roster_file], outs + [roster_result, members], **quick)
        status_btn.click(on_status, None, [status, notice], **quick)
        audit_btn.click(on_audit, [audit_filter], [audit, notice], **quick)
        doctor_btn.click(on_doctor, None, [doctor_report, notice], api_visibility="private")
    demo.queue(default_concurrency_limit=8, api_open=False)
    return demo


def _discard_upload(file: Any) -> None:
    """A roster may hold passwords: do not leave Gradio's copy of the upload lying in its cache."""
    if not isinstance(file, str) or not file:
        return
    path = Path(file).resolve()
    if Path(get_upload_folder()).resolve() in path.parents:
        path.unlink(missing_ok=True)


def mount(app: FastAPI, ctx: AppContext) -> None:
    demo = build(ctx)
    ctx.protect_page(PATH, ROLES, max_upload_bytes=MAX_ROSTER_BYTES)  # the roster CSV is the only upload
    gr.mount_gradio_app(app, demo, path=PATH, auth_dependency=ctx.gradio_auth_dependency(ROLES),
                        footer_links=[], run_history=False, theme=THEME, css=CSS, ssr_mode=False,
                        show_error=False, mcp_server=False, max_file_size=MAX_ROSTER_BYTES)
