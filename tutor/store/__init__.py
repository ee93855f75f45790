"""The session store: users, classes, problems, tutoring sessions with every event, solution keys,
hints, attempts, mastery, flags and the audit log, on SQLite (default) or PostgreSQL.

Where things live: `store` (`Store`, the one object callers use: the methods listed below), `base` and
`engine` (transactions, retries, engines), `migrate` (Alembic from code), `models` and `practice_models`
(the tables), `records` (the frozen dataclasses returned), `errors`; one module per part of the API:
`users`, `passwords`, `signins`, `classes`, `problems`, `sessions`, `claims` (which replica acts on a
session), `learning`, `flags`, `reports`, `export`, `practice`.

Nothing outside this package builds SQL. Open it and bring the schema to head::

    from tutor.store import Store, open_store
    store = open_store(settings, upgrade=True)          # or Store("sqlite:///path.db"); store.upgrade()
    store.recover_stale()                               # at server start-up (or open_store(..., recover=True))

Every method is one short committed transaction (retried with backoff while SQLite says "database is
locked" or PostgreSQL reports a serialization failure; on SQLite, event appends that arrive together share
one commit, each in its own savepoint), is safe from any thread, and returns frozen
dataclasses from `tutor.store.records` (the password hash never leaves the store). Errors are the
tutor.errors family: NotFound, BadInput, AlreadyExists (409), StoreUnavailable (503), SchemaOutOfDate.

Schema:     upgrade(revision="head"), downgrade(revision="-1"), current_revision(), head_revision(),
            require_current(), schema_diff() -> [] when models and migrations agree, ping(), health(), close()
Users:      create_user(name, role, *, password=None, display_name="", active=True) -> UserRecord
            get_user(id), user_by_name(name) -> UserRecord | None, list_users(*, role=None, active=None)
            set_password(id, pw), set_role(id, role), set_active(id, bool), set_display_name(id, text), touch_user(id)
            verify_password(name, pw) -> UserRecord | None        (no throttling)
            login(name, pw, *, max_failures=5, lockout_s=300) -> LoginResult(ok, reason ok|bad_credentials|locked|inactive,
                  user, locked_until)   (keeps failed_logins / locked_until; resets on success; sets last_seen_at)
Classes:    create_class(name, *, teachers=(), allow_solve_mode=False, allow_hint_skip=False) -> ClassRecord
            get_class(id), class_by_name(name), list_classes(*, teacher_id=None, student_id=None)
            set_class_settings(id, *, allow_solve_mode=None, allow_hint_skip=None)
            add_teacher(class_id, user_id), remove_teacher(...), enroll(class_id, user_id) -> bool, unenroll(...)
            class_teachers(id), class_students(id) -> [UserRecord], teaches(teacher_id, class_id) -> bool,
            is_teacher_of(teacher_id, student_id) -> bool, class_policy(user_id) -> ClassPolicy(allow_solve_mode, allow_hint_skip)
Problems:   create_problem(text, *, source="teacher"|"student"|"dataset", reference_answer=None, reference_set_by=None,
                  skills=(), problem_set_id=None, position=None, source_ref=None, created_by=None) -> ProblemRecord
            get_problem(id), set_reference_answer(id, answer, *, set_by), set_problem_skills(id, skills)
            create_problem_set(title, *, created_by=None), get_problem_set(id), list_problem_sets(), problems_in_set(id)
            assign(class_id, *, problem_id=None | problem_set_id=None, assigned_by=None, due_at=None) -> AssignmentRecord
            unassign(assignment_id), class_assignments(class_id), assigned_problems(user_id) -> [ProblemRecord]
Sessions:   create_session(user_id, *, mode="tutor"|"solve", problem_id=None | question=None, class_id=None, title=None)
                  -> SessionRecord (status active, owned by this process; a question becomes a `student` problem)
            get_session(id), session_for(user_id, id) (NotFound for another user's session),
            list_sessions(user_id, *, limit=None, status=None) (newest first)
            class_sessions(class_id, *, limit=None) (all enrolled learners' sessions, newest first)
            set_progress(id, *, current_step=None, hint_level=None), set_status(id, status),
            finish_session(id, *, solved=None, final_answer=None), resume_session(id) (interrupted -> active)
            recover_stale(*, stale_after_s=None) -> [ids]  (call at start-up: active sessions of dead processes ->
                  interrupted, with an `interrupted` event and a system flag)
Replicas:   session_lock(id, *, wait_s=None) context manager (PostgreSQL advisory lock held for one action;
                  SessionBusy after wait_s, default lock_wait_s; a no-op on SQLite), claim_session(id) -> Claim
                  (owner = this process; another owner still there means its action died: marked interrupted),
                  release_session(id) -> last event seq (owner cleared)
Events:     append(session_id, event, *, turn=None, private=False) -> EventRecord | None
                  event: a tutor.events.Event or a dict with "kind"; committed before returning; TextDelta is skipped
                  (RoundText keeps each round's text, tokens and seconds). Any kind is kept as JSON in `data`;
                  kind "output" (CodeOutput) also fills code_cells; kinds "hint"/"hint_shown" fill hints (fields
                  step, level, text, guard) and set the session's step/rung; "attempt"/"attempt_checked" fill attempts
                  (fields attempt_kind or kind = answer|step, input or text, verdict, feedback, step, first_bad_line).
                  private=True marks the hidden solution work (left out of the student's view).
            append_message(session_id, text, *, role="student"|"tutor"|"system", turn=None) -> EventRecord (kind "message")
            events(session_id, *, since_seq=0, include_private=True) -> [EventRecord] in order
            recent_events(*, kind, limit=50) -> [EventRecord] newest first over all sessions (e.g. kind="error")
Learning:   save_solution_key(*, session_id=None, problem_id=None, answer, steps=[{"text","result",...}], verified=False,
                  verification="", source="model", model=None, model_answer=None, reference_answer=None,
                  disagreement=False) -> SolutionKeyRecord; solution_key(*, session_id=None, problem_id=None)
            record_hint(session_id, *, step, level, text, guard="passed") -> HintRecord   (same as appending a hint event)
            record_attempt(session_id, *, kind="answer"|"step", input, verdict, feedback="", step=None,
                  first_bad_line=None) -> AttemptRecord
            hints(session_id), attempts(session_id), code_cells(session_id, *, include_private=True)
            update_mastery(user_id, skill, p_after, *, correct, cause, params=(p_init, p_learn, p_guess, p_slip),
                  session_id=None, attempt_id=None, hint_id=None) -> MasteryRecord (history row with p_before/p_after)
            get_mastery(user_id, skill), mastery_of(user_id), mastery_history(user_id, skill=None)
Flags:      raise_flag(session_id, reason, *, note="", source="teacher"|"system", raised_by=None) -> FlagRecord
            resolve_flag(flag_id, *, resolved_by, resolution=""), get_flag(id),
            flags(*, session_id=None, class_id=None, open_only=False)
Audit:      audit(action, *, actor_id=None, target_type=None, target_id=None, target_label="", details=None),
            audit_log(*, limit=200, actor_id=None, action=None) (newest first)
Reports:    transcript(session_id, *, include_private=True) -> Transcript(session, learner, problem, key, events,
                  code_cells, hints, attempts, flags)
            class_summary(class_id) -> [ClassSummaryRow], class_problem_stats(class_id) -> [ProblemStatsRow]
            export_rows(class_id), export_class(class_id, "csv"|"jsonl", out) -> rows written
Practice:   add_practice_item(class_id, problem_id, *, skill, difficulty=3, origin="dataset"|"teacher"|"generated",
                  status="approved"|"pending", parent_problem_id=None, evidence="", created_by=None) -> PracticeItemRecord
            practice_items(class_id, *, status=None), practice_item(id), approve_practice_item(id),
            remove_practice_item(id), bank_sources(class_id), in_practice_bank(class_ids, problem_id)
            practice_settings(class_id), set_practice_settings(class_id, *, order_mode=None, auto_approve=None)
            record_pick(user_id, problem_id, *, skill, reason, why), picks(user_id, *, open_only=False), settle_pick(id),
            solved_problem_ids(user_id), reviews(user_id), save_review(user_id, skill, *, stage, due_at, ...),
            save_bkt_fit(class_id, skill, (p_init, p_learn, p_guess, p_slip), *, observations), bkt_fits(class_id)
Privacy:    delete_learner(user_id_or_name, *, actor_id=None) -> DeletionReport (everything about them, one transaction)
"""

from __future__ import annotations

from tutor.store.errors import AlreadyExists, SchemaOutOfDate, StoreUnavailable
from tutor.store.records import (AssignmentRecord, AttemptRecord, AuditRecord, ClassPolicy, ClassRecord,
                                 ClassSummaryRow, CodeCellRecord, DeletionReport, EventRecord, FlagRecord, HintRecord,
                                 LoginResult, MasteryRecord, MasteryUpdateRecord, ProblemRecord, ProblemSetRecord,
                                 ProblemStatsRow, SessionRecord, SolutionKeyRecord, Transcript, UserRecord)
from tutor.store.store import Store, open_store

__all__ = [
    "Store", "open_store", "AlreadyExists", "SchemaOutOfDate", "StoreUnavailable",
    "AssignmentRecord", "AttemptRecord", "AuditRecord", "ClassPolicy", "ClassRecord", "ClassSummaryRow",
    "CodeCellRecord", "DeletionReport", "EventRecord", "FlagRecord", "HintRecord", "LoginResult", "MasteryRecord",
    "MasteryUpdateRecord", "ProblemRecord", "ProblemSetRecord", "ProblemStatsRow", "SessionRecord",
    "SolutionKeyRecord", "Transcript", "UserRecord",
]
