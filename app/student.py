"""The student's page at /tutor: start a problem, chat with streamed, rendered math, run-code blocks,
the hint ladder, checked steps and answers, and earlier sessions to resume.

Every handler asks `ctx.user_from_gradio(request)` who is calling (the browser's session id in a
gr.State or a Radio value is only a hint: ownership is checked again before anything is read or
written). Long actions go through `ctx.turns` (rate limits, the place in line, cancel on Stop);
Gradio's own queue never holds them back, since an event it held would be out of Stop's reach. The
text a student typed stays in its box until the service has accepted it.
"""

from __future__ import annotations

import asyncio
import html
import time
from typing import Any, AsyncIterator, Callable, Iterator

import gradio as gr

from app.context import AppContext
from app.messages import friendly
from app.practice_panel import Panel
from app import history as history_list
from app.preview import lines_preview, text_preview
from app.render import LATEX_DELIMITERS, ChatView
from app.theme import CSS, THEME
from tutor.errors import TutorError

PATH = "/tutor"
ROLES = ("student", "teacher", "admin")
_STREAM_EVERY_S = 0.06  # at most ~16 chat updates a second while text streams


def _problem_label(p: Any) -> str:
    text = (getattr(p, "title", "") or getattr(p, "text", "")).strip().replace("\n", " ")
    return text if len(text) <= 70 else text[:67] + "…"


def build(ctx: AppContext) -> gr.Blocks:
    service = ctx.service
    settings = ctx.settings

    def who(request: gr.Request) -> Any:
        return ctx.user_from_gradio(request, ROLES)

    practice = Panel(ctx)   # Next problem (and why), the student's progress
    with gr.Blocks(title="Math tutor") as demo:
        view_state = gr.State(None)  # the ChatView this page shows (rebuilt from the store on resume)
        with gr.Row(elem_id="mt-header"):
            gr.Markdown("## Math tutor")
            header = gr.HTML(elem_id="mt-user")
        # The conversation comes first in the page (and so first on a phone, and for a screen reader);
        # on a wide screen the sidebar sits to its right.
        with gr.Row(elem_id="mt-body"):
            with gr.Column(scale=3, elem_id="mt-main"):
                status = gr.Markdown(elem_id="mt-status")
                notice = gr.Markdown(elem_id="mt-notice")
                practice.next_row()
                chat = gr.Chatbot(elem_id="mt-chat", latex_delimiters=LATEX_DELIMITERS, height=560,
                                  buttons=["copy"], allow_tags=False, sanitize_html=True,
                                  group_consecutive_messages=False, label="Conversation with the tutor")
                with gr.Row(equal_height=True):
                    msg = gr.Textbox(label="Ask the tutor", lines=2, scale=5, elem_id="mt-msg",
                                     placeholder="Ask a question about this problem, or type a new problem",
                                     info=f"Up to {settings.tutoring.max_message_chars:,} characters; maths as plain text or LaTeX.")
                    with gr.Column(scale=1, min_width=110):
                        send_btn = gr.Button("Send", variant="primary", elem_id="mt-send")
                        stop_btn = gr.Button("Stop", variant="stop", elem_id="mt-stop")
                msg_preview = gr.Markdown(elem_id="mt-msg-preview", latex_delimiters=LATEX_DELIMITERS)
                # hints and checking belong to tutoring; a solve session shows the whole solution instead
                with gr.Column(elem_id="mt-tools") as tools:
                    with gr.Row():
                        hint_btn = gr.Button("Next hint", elem_id="mt-hint", scale=1)
                        # only where the class lets students jump to the worked step (allow_hint_skip)
                        skip_btn = gr.Button("Show the worked step", elem_id="mt-skip", scale=1, visible=False)
                        rung = gr.Markdown("No hints used yet.", elem_id="mt-rung")
                    with gr.Row(equal_height=True):
                        attempt = gr.Textbox(label="Your step or final answer", lines=2, scale=4,
                                             elem_id="mt-attempt", placeholder="e.g. x = 3   (one step per line)",
                                             info=f"Up to {settings.tutoring.max_submission_lines} lines; "
                                                  f"each line is read as maths.")
                        with gr.Column(scale=2, min_width=200):
                            kind = gr.Radio([("Final answer", "answer"), ("Step(s)", "step"),
                                             ("My worked solution", "work")], value="answer",
                                            label="This is", elem_id="mt-kind")
                            check_btn = gr.Button("Check", variant="secondary", elem_id="mt-check")
                    preview = gr.Markdown(elem_id="mt-preview", latex_delimiters=LATEX_DELIMITERS)
                    verdict = gr.Markdown(elem_id="mt-verdict", latex_delimiters=LATEX_DELIMITERS)
                solve_note = gr.Markdown("This is a solve session: the tutor shows a whole worked solution. "
                                         "Ask about any part of it above, or start a new problem to be tutored "
                                         "with hints.", elem_id="mt-solve-note", visible=False,
                                         elem_classes=["mt-muted"])
            with gr.Column(scale=1, min_width=280, elem_id="mt-side"):
                gr.Markdown("### New problem")
                question = gr.Textbox(label="Your question", lines=3, elem_id="mt-question",
                                      placeholder="Type a problem: plain text or LaTeX, e.g. Solve $x^2-5x+6=0$",
                                      info=f"Up to {settings.tutoring.max_question_chars:,} characters.")
                question_preview = gr.Markdown(elem_id="mt-qpreview", latex_delimiters=LATEX_DELIMITERS)
                assigned = gr.Dropdown(label="…or a problem your teacher assigned", choices=[], value=None,
                                       elem_id="mt-assigned", allow_custom_value=False)
                mode = gr.Radio([("Tutor me (hints)", "tutor")], value="tutor", label="Mode", elem_id="mt-mode")
                start_btn = gr.Button("Start", variant="primary", elem_id="mt-start")
                new_btn = gr.Button("New problem", elem_id="mt-new")
                gr.Markdown("### Your sessions")
                history_q = gr.Textbox(label="Search your sessions", elem_id="mt-history-search", lines=1,
                                       placeholder="a word of the problem, a date (3 Dec), solved…")
                history_note = gr.Markdown(elem_id="mt-history-note", elem_classes=["mt-muted"])
                history = gr.Radio(choices=[], label="Open an earlier session", elem_id="mt-history")
                practice.progress_box()

        def screen(view: ChatView) -> dict[Any, Any]:
            """Everything that follows from the view."""
            solving = view.mode == "solve" and view.session_id is not None
            return {chat: view.messages(), status: f"● {view.status}" if view.status else "",
                    rung: view.rung_label, verdict: view.verdict, view_state: view,
                    tools: gr.update(visible=not solving), solve_note: gr.update(visible=solving)}

        def sidebar(user_id: int, query: str | None = None) -> dict[Any, Any]:
            """The history list; without a query (after an action) the search box is emptied too. While
            the student types, the box is left alone: writing it back would race their typing."""
            choices, note = history_list.matching(service.list_sessions(user_id), query or "")
            box = {} if query is not None else {history_q: ""}
            return {history: gr.update(choices=choices, value=None), history_note: note, **box,
                    **practice.sidebar(user_id)}

        def on_load(request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            token = ctx.csrf_token(request.request) if request.request is not None else ""
            name = html.escape(getattr(user, "display_name", "") or user.name)
            header_html = (f'<div class="mt-user">Signed in as <b>{name}</b> '
                           f'<form method="post" action="/logout" class="mt-logout">'
                           f'<input type="hidden" name="csrf_token" value="{html.escape(token)}">'
                           f'<button type="submit" id="mt-signout">Sign out</button></form></div>')
            modes = service.modes_allowed(user.id)
            choices = [("Tutor me (hints)", "tutor")] + ([("Solve it for me", "solve")] if "solve" in modes else [])
            problems = service.assigned_problems(user.id)
            can_skip = user.role in ("teacher", "admin") or ctx.store.class_policy(user.id).allow_hint_skip
            out = {header: header_html, skip_btn: gr.update(visible=can_skip), mode: gr.update(choices=choices, value="tutor", visible=len(choices) > 1),
                   assigned: gr.update(choices=[(_problem_label(p), p.id) for p in problems], value=None,
                                       visible=bool(problems))}
            out.update(sidebar(user.id))
            out.update(screen(ChatView()))
            return out

        async def run_action(action: str, view: ChatView, user_id: int, session_id: int | None,
                             start: Callable[[], Iterator[Any]], box: Any,
                             request: gr.Request | None = None) -> AsyncIterator[dict[Any, Any]]:
            """Stream one action into the view; clear `box` only once the service accepted the input.
            `request` (the page) lets this page's Stop reach a new session before its id is shown."""
            last = 0.0
            accepted = False
            # asked before anything is shown, so a Stop from the moment "Thinking…" appears reaches it
            events = ctx.turns.run(action, user_id, session_id, start, origin=page_of(request))
            view.status = "Thinking…"
            yield {notice: "", **screen(view)}
            async for event in events:
                view.apply(event)
                if event.kind == "error":
                    yield {notice: f"⚠ {friendly(event.code, event.message)}", **screen(view)}
                    continue
                update = screen(view)
                if event.kind == "done" and getattr(event, "stopped", "") == "cancelled":
                    update[notice] = ""   # "Stopping…" is over: the chat says Stopped
                force = event.kind != "text"
                if not accepted and box is not None:
                    accepted = force = True
                    update[box] = ""
                    if box in previews:
                        update[previews[box]] = ""
                now = time.monotonic()
                if force or now - last >= _STREAM_EVERY_S:
                    last = now
                    yield update
            view.flush()
            view.status = ""
            final = screen(view)
            if accepted and box in previews:
                final[previews[box]] = ""   # again at the end: a preview of the last keystroke may land late
            final.update(await asyncio.to_thread(sidebar, user_id))
            yield final

        async def on_start(text: str, problem_id: Any, chosen_mode: str, view: ChatView | None,
                           request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            user = who(request)
            text = (text or "").strip()
            if not text and problem_id in (None, ""):
                yield {notice: f"⚠ {friendly('no_session')}"}
                return
            if len(text) > settings.tutoring.max_question_chars:
                yield {notice: f"⚠ {too_long(text, settings.tutoring.max_question_chars)}"}
                return
            fresh = ChatView(mode=chosen_mode or "tutor")
            pid = int(problem_id) if problem_id not in (None, "") and not text else None
            async for update in run_action(
                    "start", fresh, user.id, None,
                    lambda: service.start_session(user.id, question=text or None, problem_id=pid,
                                                  mode=chosen_mode or "tutor"),
                    question, request):
                yield update

        async def on_send(text: str, view: ChatView | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            user = who(request)
            text = (text or "").strip()
            if not text:
                yield {notice: f"⚠ {friendly('empty')}"}
                return
            if view is None or view.session_id is None:
                # No problem yet: the first message starts one, as if typed in the question box.
                if len(text) > settings.tutoring.max_question_chars:
                    yield {notice: f"⚠ {too_long(text, settings.tutoring.max_question_chars)}"}
                    return
                fresh = ChatView()
                async for update in run_action("start", fresh, user.id, None,
                                               lambda: service.start_session(user.id, question=text),
                                               msg, request):
                    yield update
                return
            if len(text) > settings.tutoring.max_message_chars:
                yield {notice: f"⚠ {too_long(text, settings.tutoring.max_message_chars)}"}
                return
            sid = view.session_id
            view.user(text)
            async for update in run_action("ask", view, user.id, sid,
                                           lambda: service.ask(user.id, sid, text), msg):
                yield update

        async def hint(view: ChatView | None, request: gr.Request, bottom_out: bool) -> AsyncIterator[dict[Any, Any]]:
            user = who(request)
            if view is None or view.session_id is None:
                yield {notice: f"⚠ {friendly('no_session')}"}
                return
            sid = view.session_id
            async for update in run_action("hint", view, user.id, sid,
                                           lambda: service.next_hint(user.id, sid, bottom_out=bottom_out), None):
                yield update

        async def on_hint(view: ChatView | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            async for update in hint(view, request, False):
                yield update

        async def on_skip(view: ChatView | None, request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            async for update in hint(view, request, True):
                yield update

        async def on_check(text: str, attempt_kind: str, view: ChatView | None,
                           request: gr.Request) -> AsyncIterator[dict[Any, Any]]:
            user = who(request)
            text = (text or "").strip()
            if view is None or view.session_id is None:
                yield {notice: f"⚠ {friendly('no_session')}"}
                return
            if not text:
                yield {notice: f"⚠ {friendly('empty')}"}
                return
            if len(text) > settings.tutoring.max_message_chars:
                yield {notice: f"⚠ {too_long(text, settings.tutoring.max_message_chars)}"}
                return
            sid = view.session_id
            kind_ = attempt_kind if attempt_kind in ("answer", "step", "work") else "answer"
            async for update in run_action("submit", view, user.id, sid,
                                           lambda: service.submit(user.id, sid, text, kind=kind_), attempt):
                yield update

        def on_open(session_id: Any, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            if session_id in (None, ""):
                return {}
            try:
                sid = int(session_id)
                ctx.own_session(user.id, sid)
                opened = service.open_session(user.id, sid)
            except (TutorError, ValueError) as exc:
                code = exc.code if isinstance(exc, TutorError) else "not_found"
                return {notice: f"⚠ {friendly(code)}"}
            view = view_from_session(opened, sid)
            out = screen(view)
            out[mode] = gr.update(value=view.mode)
            out[notice] = f"ℹ {friendly('interrupted')}" if view.interrupted else ""
            return out

        def on_new(request: gr.Request) -> dict[Any, Any]:
            who(request)
            return {**screen(ChatView()), notice: "", question: "", question_preview: "",
                    history: gr.update(value=None)}

        def on_stop(view: ChatView | None, request: gr.Request) -> dict[Any, Any]:
            user = who(request)
            sid = view.session_id if view is not None else None
            if sid is not None:
                ctx.own_session(user.id, sid)
            # this page's new problem too: its session may not have said its id to the page yet
            stopping = ctx.turns.stop(user.id, sid, origin=page_of(request))
            # "Stopped" itself comes in the chat with the action's end, so the page says it only when it did
            return {notice: f"■ {friendly('stopping')}" if stopping else f"ℹ {friendly('nothing_to_stop')}"}

        def on_search(query: str, request: gr.Request) -> dict[Any, Any]:
            return sidebar(who(request).id, query or "")

        def on_preview(text: str, request: gr.Request) -> str:
            who(request)
            return lines_preview(text, settings.tutoring.max_submission_lines)

        def on_text_preview(text: str, request: gr.Request) -> str:
            who(request)
            return text_preview(text)

        previews = {question: question_preview, msg: msg_preview, attempt: preview}
        every = [chat, status, rung, verdict, view_state, notice, history, history_note, history_q, tools,
                 solve_note, practice.progress]
        demo.load(on_load, None, every + [header, mode, assigned, skip_btn], api_visibility="private",
                  concurrency_limit=None)
        # no Gradio limit: an action Gradio held in its queue would be out of Stop's reach; the model
        # slots (web_max_concurrent_turns) and cell slots bound the work, and app.turns says the place in line
        turn_kw = dict(concurrency_limit=None, api_visibility="private")
        quiet = dict(concurrency_limit=None, api_visibility="private", show_progress="hidden",
                     trigger_mode="always_last")
        # a preview of the last keystroke still on its way when the text is sent is cancelled by the send,
        # so it cannot land after the box was emptied and show text that is no longer there
        attempt_preview = attempt.input(on_preview, [attempt], [preview], **quiet)
        question_preview_evt = question.input(on_text_preview, [question], [question_preview], **quiet)
        msg_preview_evt = msg.input(on_text_preview, [msg], [msg_preview], **quiet)
        start_btn.click(on_start, [question, assigned, mode, view_state], every + [question, question_preview],
                        cancels=[question_preview_evt], **turn_kw)
        send_btn.click(on_send, [msg, view_state], every + [msg, msg_preview], cancels=[msg_preview_evt], **turn_kw)
        msg.submit(on_send, [msg, view_state], every + [msg, msg_preview], cancels=[msg_preview_evt], **turn_kw)
        hint_btn.click(on_hint, [view_state], every, **turn_kw)
        skip_btn.click(on_skip, [view_state], every, **turn_kw)
        check_btn.click(on_check, [attempt, kind, view_state], every + [attempt, preview], cancels=[attempt_preview],
                        **turn_kw)
        # Stop asks the service to cancel; the running action then ends normally with its "cancelled" Done,
        # so the page keeps everything shown so far (Gradio's own `cancels=` would blank the outputs).
        stop_btn.click(on_stop, [view_state], [notice], concurrency_limit=None, api_visibility="private")
        history.input(on_open, [history], every + [mode], concurrency_limit=None, api_visibility="private")
        history_q.input(on_search, [history_q], [history, history_note, practice.progress], **quiet)
        new_btn.click(on_new, None, every + [question, question_preview], concurrency_limit=None, api_visibility="private")
        practice.wire(who, run_action, ChatView, notice, every, **turn_kw)
    # Gradio's own queue neither limits nor drops actions: the model and cell slots bound the work, and a
    # full server keeps the action and shows its place in line (app.turns)
    demo.queue(default_concurrency_limit=None, max_size=None, api_open=False)
    return demo


def page_of(request: gr.Request | None) -> str | None:
    """The page a request came from (one Gradio session per loaded page), or None when unknown."""
    page = getattr(request, "session_hash", None) if request is not None else None
    return f"page:{page}" if page else None


def too_long(text: str, limit: int) -> str:
    return friendly("too_long", f"the limit is {limit:,} characters; this has {len(text):,}")


def view_from_session(opened: Any, session_id: int) -> ChatView:
    """Rebuild the page's view from the service's student-safe SessionView."""
    view = ChatView(session_id=session_id, mode=getattr(opened, "mode", "tutor"))
    events = getattr(opened, "events", None) or getattr(opened, "transcript", None) or []
    view.extend(events)
    view.session_id = session_id
    view.interrupted = bool(getattr(opened, "interrupted", False))
    level = getattr(opened, "hint_level", None)
    if level:
        view.hint_level = level
        view.hint_step = getattr(opened, "current_step", view.hint_step) or view.hint_step
    view.status = ""
    return view


def mount(app: Any, ctx: AppContext) -> None:
    demo = build(ctx)
    ctx.protect_page(PATH, ROLES)
    gr.mount_gradio_app(app, demo, path=PATH, auth_dependency=ctx.gradio_auth_dependency(ROLES),
                        footer_links=[], run_history=False, theme=THEME, css=CSS, ssr_mode=False,
                        show_error=False, mcp_server=False, max_file_size="1mb")  # the page takes no files
