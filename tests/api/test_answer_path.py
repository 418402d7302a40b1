"""The answer path (an ASGI shortcut for saves) answers exactly as the documented route does,
and hands every request it does not fully understand to that route with its body intact."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.api.answer_path import AnswerPath
from app.main import create_app
from tests.support.factory import mini_exam, move_with_approval


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret)


@pytest.fixture
def route_only(settings, db, clock):
    """The same service without the answer path: every save goes through the router."""
    app = create_app(settings, db=db, clock=clock)
    app.user_middleware = [m for m in app.user_middleware if m.cls is not AnswerPath]
    with TestClient(app) as client:
        yield client


def started(client, exam, nomor="2026000001"):
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/attempts/current/start", headers=headers).status_code == 200
    return headers


def put(client, headers, position, body, **kwargs):
    return client.put(
        f"/api/v1/attempts/current/responses/{position}", json=body, headers=headers, **kwargs
    )


def comparable(response):
    """Status, content type and body, the time stamps (which differ by design) left out."""
    body = response.json()
    body.pop("saved_at", None)
    return response.status_code, response.headers["content-type"], body


def test_saves_answer_like_the_route(client, route_only, exam, clock):
    headers = started(client, exam)
    cases = [
        (1, {"option": "B", "flagged": True, "seq": 1}),  # applied
        (1, {"option": "C", "flagged": False, "seq": 1}),  # a repeat: acknowledged, not applied
        (2, {"option": None, "flagged": False, "seq": 2}),  # cleared
        (9, {"option": "A", "flagged": False, "seq": 3}),  # no such position on this form
        (1, {"option": "Z", "flagged": False, "seq": 4}),  # invalid letter
        (1, {"option": "A", "seq": 0}),  # invalid sequence
        (1, {"option": "A", "flagged": "maybe", "seq": 5}),  # wrong type
    ]
    fast = [comparable(put(client, headers, p, b)) for p, b in cases]
    # The same requests again, through the router, on a fresh attempt of another candidate.
    other = started(route_only, exam, "2026000002")
    slow = [comparable(put(route_only, other, p, b)) for p, b in cases]
    assert fast == slow
    assert fast[0][0] == 200
    assert fast[0][2]["applied"] is True
    assert fast[1][2]["applied"] is False
    assert [status for status, _, _ in fast[3:]] == [404, 422, 422, 422]

    # After the deadline and its grace both refuse alike (the first late save, or a sweeper,
    # finishes the attempt, so the refusal says one or the other).
    clock.advance(timedelta(minutes=30))
    late = {"option": "D", "flagged": False, "seq": 50}
    for c, h in ((client, headers), (route_only, other)):
        response = put(c, h, 3, late)
        assert response.status_code == 409
        assert response.json()["error"] in {"DeadlinePassed", "AttemptNotActive"}


def test_token_refusals_are_the_routes(client, exam, db, clock):
    headers = started(client, exam)
    body = {"option": "A", "flagged": False, "seq": 1}
    for bad in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic abc"}):
        response = put(client, bad, 1, body)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"] == "Unauthorized"
    # A token superseded by an approved move to another PC cannot write.
    move_with_approval(client, exam, db, clock)
    response = put(client, headers, 1, body)
    assert response.status_code in (401, 409)
    assert response.json()["error"]
    # Every response carries the request id, the answer path's too.
    assert put(client, headers, 1, body).headers["x-request-id"]


def test_a_save_is_durable_when_acknowledged(client, exam):
    headers = started(client, exam)
    ack = put(client, headers, 2, {"option": "E", "flagged": True, "seq": 7})
    assert ack.status_code == 200
    state = client.get("/api/v1/attempts/current", headers=headers).json()
    answer = next(i for i in state["items"] if i["position"] == 2)
    assert (answer["option"], answer["flagged"]) == ("E", True)


class Recorder:
    """An inner app that records what reached it and the whole body it could read."""

    def __init__(self):
        self.calls = []

    async def __call__(self, scope, receive, send):
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.calls.append((scope["path"], body))
        await send({"type": "http.response.start", "status": 299, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def call(middleware, path, headers, chunks, method="PUT"):
    """Drive the middleware with ``chunks`` as separate ASGI messages; the response status."""
    scope = {"type": "http", "method": method, "path": path, "headers": headers}
    pending = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent = []

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    async def run():
        await middleware(scope, receive, send)

    asyncio.run(run())
    return sent[0]["status"]


def test_what_it_does_not_serve_reaches_the_route_whole(app, client, exam):
    headers = started(client, exam)
    token = headers["Authorization"].encode()
    recorder = Recorder()
    middleware = AnswerPath(recorder, app.state.services)
    json_ct = (b"content-type", b"application/json")
    path = "/api/v1/attempts/current/responses/1"
    invalid = json.dumps({"option": "Q", "seq": 1}).encode()
    huge = b'{"option": "A", "seq": 1, "x": "' + b"y" * 5000 + b'"}'
    passed = [
        ("/api/v1/attempts/current", [(b"authorization", token), json_ct], [b"{}"], "PUT"),
        (path, [(b"authorization", token), json_ct], [b"{}"], "GET"),
        (path, [json_ct], [b'{"seq": 1}'], "PUT"),  # no token
        (path, [(b"authorization", b"Bearer x.y"), json_ct], [b'{"seq": 1}'], "PUT"),
        (path, [(b"authorization", token), (b"content-type", b"text/plain")], [b"{}"], "PUT"),
        (path, [(b"authorization", token), json_ct], [invalid[:5], invalid[5:]], "PUT"),
        (path, [(b"authorization", token), json_ct], [huge[:3000], huge[3000:]], "PUT"),
        (path[:-1] + "0", [(b"authorization", token), json_ct], [b""], "PUT"),
        (path + "x", [(b"authorization", token), json_ct], [b""], "PUT"),
    ]
    for p, h, chunks, method in passed:
        assert call(middleware, p, h, chunks, method) == 299
        assert recorder.calls[-1] == (p, b"".join(chunks))
    assert len(recorder.calls) == len(passed)
    # A valid save, even in pieces, is served here and never reaches the route.
    ok = json.dumps({"option": "B", "flagged": False, "seq": 9}).encode()
    assert call(middleware, path, [(b"authorization", token), json_ct], [ok[:4], ok[4:]]) == 200
    assert len(recorder.calls) == len(passed)
