"""/readyz, what a load balancer routes by: 503 while no model server of the list answers or the store is
not at the schema head, 200 as soon as one model server answers; the public sees no server addresses."""

from __future__ import annotations

import httpx

from tests.fixtures.tiny_model import free_port
from tests.replicas.processes import model_server


def test_ready_when_one_of_the_model_servers_answers(web_factory, tmp_path):
    dead = [f"http://127.0.0.1:{free_port()}/v1" for _ in range(2)]
    web = web_factory(backend="openai", openai_base_url=",".join(dead))
    r = httpx.get(web.url + "/readyz")
    assert r.status_code == 503 and r.json() == {"status": "not ready", "reasons": ["no model server answers"]}
    server = model_server(tmp_path, [], "model")
    try:
        live = web_factory(backend="openai", openai_base_url=f"{dead[0]},{server.url}/v1")
        r = httpx.get(live.url + "/readyz")
        assert r.status_code == 200 and r.json() == {"status": "ready"}
        assert r.headers["cache-control"] == "no-store"
    finally:
        server.kill()


def test_not_ready_when_the_store_is_not_at_the_schema_head(web_factory):
    web = web_factory()
    assert httpx.get(web.url + "/readyz").status_code == 200
    web.store.downgrade("base")
    r = httpx.get(web.url + "/readyz")
    assert r.status_code == 503 and r.json()["reasons"] == ["store schema not at head"]
