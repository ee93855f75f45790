"""Who may do what on the teacher and admin pages, over real HTTP against a live server: pages, the CSV
export route, Gradio's own routes under each mount, and every Gradio event handler of both pages, for
anonymous / student / teacher of the class / teacher of another class / admin.

A teacher of another class must get nothing: no roster, no transcript, no flag raised, no setting
changed, no assignment made, no audit entry — whichever layer stops the request.
"""

from __future__ import annotations

import pytest

from tests.fixtures.pages import DATA_DIR, call_gradio, gradio_blocks

pytestmark = pytest.mark.slow

PERSONAS = ["anonymous", "student", "teacher", "other_teacher", "admin"]
# the secrets of class A: its student's name and the problem of the seeded session
SECRETS = ("Sam Student", "2x + 3 = 17")


def _name(school, persona):
    return {"anonymous": None, "student": "sam", "teacher": "tess", "other_teacher": "otto", "admin": "adam"}[persona]


PAGE_EXPECT = {
    # path -> status per persona (HTML navigation: signed-out visitors are sent to /login)
    "/teacher/": {"anonymous": 303, "student": 403, "teacher": 200, "other_teacher": 200, "admin": 200},
    "/admin/": {"anonymous": 303, "student": 403, "teacher": 403, "other_teacher": 403, "admin": 200},
}
GRADIO_ROUTES = {
    # Gradio's own routes under each mount: its auth dependency answers 401 for a wrong role
    "/teacher/config": {"anonymous": 401, "student": 401, "teacher": 200, "other_teacher": 200, "admin": 200},
    "/teacher/gradio_api/info": {"anonymous": 401, "student": 401},
    "/admin/config": {"anonymous": 401, "student": 401, "teacher": 401, "other_teacher": 401, "admin": 200},
    "/admin/gradio_api/info": {"anonymous": 401, "student": 401, "teacher": 401, "other_teacher": 401},
}


@pytest.fixture
def clients(school):
    made = {p: school.client(_name(school, p)) for p in PERSONAS}
    yield made
    for c in made.values():
        c.close()


def test_pages_and_gradio_routes_answer_each_role_as_they_should(school, clients):
    for path, expect in {**PAGE_EXPECT, **GRADIO_ROUTES}.items():
        for persona, status in expect.items():
            r = clients[persona].get(path, headers={"accept": "text/html"} if path in PAGE_EXPECT else {})
            assert r.status_code == status, (path, persona, r.status_code, r.text[:200])
            if status == 303:
                assert r.headers["location"].startswith("/login?next=")
            if status != 200:
                assert not any(s in r.text for s in SECRETS)
    # uploads (the roster) go to the admin mount only for admins
    for persona in ("anonymous", "student", "teacher", "other_teacher"):
        r = clients[persona].post("/admin/gradio_api/upload", files={"files": ("r.csv", b"username\nx1\n", "text/csv")})
        assert r.status_code == 401, (persona, r.status_code)


def test_csv_export_route_only_for_teachers_of_the_class_and_admins(school, clients):
    path = f"/teacher/export/{school.class_a.id}.csv"
    expect = {"anonymous": 401, "student": 403, "teacher": 200, "other_teacher": 404, "admin": 200}
    for persona, status in expect.items():
        r = clients[persona].get(path)
        assert r.status_code == status, (persona, r.status_code)
        if status == 200:
            assert r.headers["content-type"].startswith("text/csv")
            assert "sam" in r.text and "2x + 3 = 17" in r.text
        else:
            assert "sam" not in r.text and "2x + 3" not in r.text
    # an id that does not exist looks exactly like one the teacher may not see
    r = clients["other_teacher"].get("/teacher/export/99999.csv")
    assert r.status_code == 404 and r.text == clients["other_teacher"].get(path).text
    exports = [e for e in school.web.store.audit_log(action="class.export")]
    assert {e.actor_name for e in exports} == {"tess", "adam"}


def _teacher_calls(school, flag_id):
    a, sid = school.class_a.id, school.session_id
    return {
        "on_class": [a, "student", False, False],
        "on_sort": [a, "student", False],
        "on_session": [a, sid],
        "on_flag": [a, sid, "look at this", False],
        "on_resolve": [a, flag_id, "handled", False],
        "on_show_resolved": [a, True],
        "on_preview": [a, f"{DATA_DIR}/gsm8k_test.jsonl", "1-2"],
        "on_assign": [a, "typed", "What is 1 + 1?", "2", "arithmetic", None, "", True, "", None],
        "on_save": [a, True, True],
        "on_practice_save": [a, "fixed", True],
        "on_practice_generate": [a, "arithmetic", 1, False],
        "on_practice_approve": [a, []],
        "on_practice_add": [a, "What is 2 + 2?", "4", "arithmetic", 1],
    }


def _state(store, school):
    cls = store.get_class(school.class_a.id)
    return (len(store.flags(class_id=cls.id)), len([f for f in store.flags(class_id=cls.id) if f.resolved_at]),
            len(store.class_assignments(cls.id)), cls.allow_solve_mode, cls.allow_hint_skip,
            store.practice_settings(cls.id), len(store.practice_items(cls.id)))


def test_every_teacher_handler_refuses_outsiders_and_leaks_nothing(school, clients):
    store = school.web.store
    flag = store.raise_flag(school.session_id, "sandbox_kill", note="cell timed out", source="system")
    handlers = {fn.name for fn in gradio_blocks(school.web, "/teacher").fns.values()}
    calls = _teacher_calls(school, flag.id)
    # every handler that takes data is in the matrix (on_load and the row click are checked below,
    # on_source only toggles which form is visible)
    assert handlers == set(calls) | {"on_load", "on_session_row", "on_flag_row", "on_source"}
    before = _state(store, school)
    audit_before = len(store.audit_log())
    for persona in ("anonymous", "student"):
        for name, data in calls.items():
            reply = call_gradio(clients[persona], school.web, "/teacher", name, data)
            assert reply.status == 401, (persona, name, reply.status)
    # the other class's teacher: loads the page (own classes only), then tries class A's ids
    hash_ = "otto-visit"
    load = call_gradio(clients["other_teacher"], school.web, "/teacher", "on_load", [], session_hash=hash_)
    assert load.success and "Geometry B" in load.text() and "Algebra A" not in load.text()
    for name, data in calls.items():
        reply = call_gradio(clients["other_teacher"], school.web, "/teacher", name, data, session_hash=hash_)
        assert reply.status == 200
        assert not any(s in reply.text() + reply.raw for s in SECRETS), (name, reply.text()[:300])
    # a forged row click on the teacher's own class, naming class A's session: our check answers
    for row_handler in ("on_session_row", "on_flag_row"):
        row = call_gradio(clients["other_teacher"], school.web, "/teacher", row_handler, [school.class_b.id],
                          event_data={"index": [0, 0], "value": school.session_id,
                                      "row_value": [school.session_id, school.session_id]}, session_hash=hash_)
        assert row.success and "no such session" in row.text(), (row_handler, row.raw[-300:])
        assert not any(s in row.text() for s in SECRETS)
    assert _state(store, school) == before
    assert len(store.audit_log()) == audit_before


def test_teacher_of_the_class_and_admin_get_the_data_and_their_changes_are_audited(school, clients):
    store = school.web.store
    flag = store.raise_flag(school.session_id, "sandbox_kill", note="cell timed out", source="system")
    for persona in ("teacher", "admin"):
        hash_ = f"{persona}-visit"
        load = call_gradio(clients[persona], school.web, "/teacher", "on_load", [], session_hash=hash_)
        assert load.success and "Algebra A" in load.text()
        got = call_gradio(clients[persona], school.web, "/teacher", "on_class", [school.class_a.id, "student", False,
                                                                                  False], session_hash=hash_)
        assert "Sam Student" in got.text()
        got = call_gradio(clients[persona], school.web, "/teacher", "on_session", [school.class_a.id,
                                                                                   school.session_id], session_hash=hash_)
        assert "2x + 3 = 17" in got.text() and "ran code" in got.text()
    calls = _teacher_calls(school, flag.id)
    for name in ("on_flag", "on_resolve", "on_assign", "on_save", "on_practice_save"):
        call_gradio(clients["teacher"], school.web, "/teacher", "on_load", [], session_hash="tess-2")
        call_gradio(clients["teacher"], school.web, "/teacher", "on_session", calls["on_session"], session_hash="tess-2")
        reply = call_gradio(clients["teacher"], school.web, "/teacher", name, calls[name], session_hash="tess-2")
        assert reply.success, (name, reply.raw[-500:])
    cls = store.get_class(school.class_a.id)
    assert cls.allow_solve_mode and cls.allow_hint_skip
    assert store.get_flag(flag.id).resolution == "handled"
    assert any(f.source == "teacher" and f.note == "look at this" for f in store.flags(session_id=school.session_id))
    assert len(store.class_assignments(cls.id)) == 1
    actions = {e.action for e in store.audit_log() if e.actor_name == "tess"}
    assert {"flag.raise", "flag.resolve", "class.assign", "class.settings", "practice.order"} <= actions
    assert store.practice_settings(cls.id).order_mode == "fixed"


def test_a_teacher_removed_from_the_class_loses_it_at_the_next_click(school, clients):
    store = school.web.store
    hash_ = "tess-visit"
    load = call_gradio(clients["teacher"], school.web, "/teacher", "on_load", [], session_hash=hash_)
    assert "Sam Student" in load.text()
    store.remove_teacher(school.class_a.id, school.teacher.id)
    # the class is still among this page visit's choices, so only our own check stands in the way
    reply = call_gradio(clients["teacher"], school.web, "/teacher", "on_class",
                        [school.class_a.id, "student", False, False], session_hash=hash_)
    assert reply.success and "no such class" in reply.text()
    assert not any(s in reply.text() for s in SECRETS)
    reply = call_gradio(clients["teacher"], school.web, "/teacher", "on_flag",
                        [school.class_a.id, school.session_id, "x", False], session_hash=hash_)
    assert "no such class" in reply.text()
    assert store.flags(session_id=school.session_id) == []
    # deactivated: the auth dependency refuses everything at once
    store.set_active(school.teacher.id, False)
    assert call_gradio(clients["teacher"], school.web, "/teacher", "on_load", []).status == 401


def test_admin_page_handlers_refuse_everyone_but_admins(school, clients):
    admin_fns = {fn.name for fn in gradio_blocks(school.web, "/admin").fns.values()}
    assert {"on_load", "on_create_user", "on_role", "on_reset", "on_deactivate", "on_activate", "on_create_class",
            "on_add_teachers", "on_enroll", "on_roster", "on_status", "on_audit", "on_doctor", "on_members",
            "on_chosen"} == admin_fns
    users_before = len(school.web.store.list_users())
    for persona in ("anonymous", "student", "teacher", "other_teacher"):
        for name in admin_fns:
            data = {"on_create_user": ["mallory", "", "admin", "password123"]}.get(name, [])
            reply = call_gradio(clients[persona], school.web, "/admin", name, data)
            assert reply.status == 401, (persona, name, reply.status)
    assert len(school.web.store.list_users()) == users_before
    hash_ = "adam-visit"
    load = call_gradio(clients["admin"], school.web, "/admin", "on_load", [], session_hash=hash_)
    assert load.success and "tess" in load.text() and "Model backend" in load.text()
    made = call_gradio(clients["admin"], school.web, "/admin", "on_create_user",
                       ["nina", "Nina New", "teacher", "password123"], session_hash=hash_)
    assert made.success and school.web.store.user_by_name("nina").role == "teacher"


def test_handlers_check_access_themselves_even_past_the_pages_own_choices(school):
    """Gradio refuses a class id that was not among the page's choices; the handlers must not rely on
    that. Called directly with the other teacher's identity, each one answers only "no such ..."."""
    import gradio as gr

    store = school.web.store
    flag = store.raise_flag(school.session_id, "sandbox_kill", note="cell timed out", source="system")
    blocks = gradio_blocks(school.web, "/teacher")
    fns = {fn.name: fn.fn for fn in blocks.fns.values()}
    before = _state(store, school)
    audit_before = len(store.audit_log())
    otto = gr.Request(username=str(school.other_teacher.id))
    for name, data in _teacher_calls(school, flag.id).items():
        out = fns[name](*data, otto)
        shown = " ".join(str(v) for v in out.values())
        assert len(out) == 1 and "no such" in shown, (name, shown[:200])
        assert not any(s in shown for s in SECRETS)
    for row_handler in ("on_session_row", "on_flag_row"):
        evt = gr.SelectData(None, {"index": [0, 0], "value": school.session_id,
                                   "row_value": [school.session_id, school.session_id]})
        out = fns[row_handler](school.class_a.id, evt, otto)
        assert len(out) == 1 and "no such" in " ".join(map(str, out.values())), row_handler
    # a session id of class A asked for under the other teacher's own class
    out = fns["on_session"](school.class_b.id, school.session_id, otto)
    assert len(out) == 1 and "no such session" in " ".join(map(str, out.values()))
    assert _state(store, school) == before and len(store.audit_log()) == audit_before
    # students and unknown ids get nothing either
    for username in (str(school.student.id), "999999", None):
        out = fns["on_class"](school.class_a.id, "student", False, False, gr.Request(username=username))
        assert len(out) == 1 and not any(s in " ".join(map(str, out.values())) for s in SECRETS)


def _app_routes(app):
    """(method, path) of every route of the app that is not a mounted Gradio page."""
    from fastapi.routing import APIRoute

    def walk(routes):
        for r in routes:
            if hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)
            elif isinstance(r, APIRoute):
                for method in sorted(r.methods):
                    yield method, r.path
    return sorted(set(walk(app.routes)))


PUBLIC = {("GET", "/login"), ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/")}  # status only, for load balancers
NOT_PROBED = {("POST", "/login"), ("POST", "/logout")}  # sign-in/out themselves: tested by the web app's tests


def test_every_route_of_the_app_refuses_anonymous_and_shows_class_a_only_to_its_people(school, clients):
    """Every FastAPI route — the web app's API included, and any route added later — for all five roles.
    Only the session's own student may touch it through the student API (teachers review it through
    /teacher); nobody outside class A sees its data; a refused request writes nothing."""
    store = school.web.store
    routes = [r for r in _app_routes(school.web.app) if r not in NOT_PROBED]
    assert ("GET", "/teacher/export/{class_id:int}.csv") in routes and len(routes) > 5
    owner_only = [r for r in routes if "{session_id}" in r[1]]
    assert owner_only, "the student API's session routes are part of the matrix"
    events_before = len(store.events(school.session_id))

    def probe(persona):
        for method, path in routes:
            url = path.replace("{session_id}", str(school.session_id)).replace("{class_id:int}", str(school.class_a.id))
            body = {"text": "hello", "kind": "answer", "question": "1+1"} if method == "POST" else None
            r = clients[persona].request(method, url, json=body)
            yield method, path, r

    for persona in ("anonymous", "other_teacher", "teacher", "admin"):
        for method, path, r in probe(persona):
            where = (persona, method, path, r.status_code)
            if persona == "anonymous" and (method, path) not in PUBLIC:
                assert r.status_code in (401, 403, 303), where
            if (method, path) in owner_only:
                assert r.status_code in (401, 403, 404), where
            if persona in ("anonymous", "other_teacher"):
                assert not any(s in r.text for s in SECRETS), where
    assert len(store.events(school.session_id)) == events_before   # nothing written by anyone else
    for method, path, r in probe("student"):
        if (method, path) in owner_only and method == "GET":
            assert r.status_code == 200, (method, path, r.status_code)
        if "/teacher/" in path:
            assert r.status_code == 403 and not any(s in r.text for s in SECRETS), (method, path)
