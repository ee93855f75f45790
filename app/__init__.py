"""The web application: FastAPI owns sign-in, roles, health and metrics; Gradio pages mount inside it.
It renders the events tutor/ yields and never builds prompts; every change goes through a tutor/ service.

- `main`: `create_app`; `context`: what every page and route shares (settings, store, service, metrics).
- the edge and sign-in: `edge` (what every request passes), `requestid`, `cookies` (signed cookies, CSRF),
  `secret` (the signing key), `signin`, `throttle` (sign-in backoff), `ratelimit` (per-user action limits).
- the student: `student` (the page), `api` (the same actions as JSON), `turns` (one action off the event
  loop: the turn slots, Stop), `render` (events into chat messages), `history`, `preview`, `practice_panel`.
- the teacher: `teacher` (the page), `teacher_data` (access rules, shaping), `teacher_actions`,
  `teacher_review` (a session's record with its evidence), `teacher_datasets`, `teacher_practice`.
- the admin: `admin` (the page), `admin_actions`, `admin_status`, `admin_doctor`.
- `monitoring` (/healthz, /readyz), `metrics` (Prometheus), `messages` (error codes into words), `theme`.
"""
