"""Request body limits: every route refuses an oversized body with 413 in the error envelope,
before buffering it (a declared Content-Length up front, a chunked body as it arrives); the
upload routes have their own, larger limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.middleware.body_limit import MULTIPART_FRAMING_BYTES
from app.models.staff import Role
from tests.conftest import make_settings
from tests.support.factory import mini_exam, roster_csv

LIMIT = 64 * 1024
CHUNK = 8 * 1024


@pytest.fixture
def small_app(database_url, tmp_path, db, clock):
    settings = make_settings(
        database_url, tmp_path / "var", max_request_bytes=LIMIT, max_roster_bytes=4 * LIMIT
    )
    return create_app(settings, db=db, clock=clock)


@pytest.fixture
def small_client(small_app) -> Iterator[TestClient]:
    with TestClient(small_app) as test_client:
        yield test_client


def assert_too_large(response, limit: int) -> None:
    assert response.status_code == 413, response.text
    body = response.json()
    assert body["error"] == "PayloadTooLarge"
    assert body["retryable"] is False
    assert body["limit_bytes"] == limit
    assert str(limit) in body["detail"]


def test_declared_length_over_the_limit_is_refused_before_reading(small_client):
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(LIMIT // CHUNK * 4):
            sent.append(CHUNK)
            yield b"x" * CHUNK

    response = small_client.post(
        "/api/v1/candidate/login",
        content=body(),
        headers={"Content-Type": "application/json", "Content-Length": str(LIMIT * 4)},
    )
    assert_too_large(response, LIMIT)
    assert sum(sent) <= CHUNK  # at most what the client pushed before the answer


def test_chunked_body_is_counted_as_it_arrives(small_client, small_app):
    """Driven at the ASGI level, where each chunk reaches the app as the server reads it."""
    read: list[int] = []
    sent: list[dict] = []

    async def receive() -> dict:
        read.append(CHUNK)
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": len(read) < 10_000}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/candidate/login",
        "raw_path": b"/api/v1/candidate/login",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
        "state": {},
    }
    asyncio.run(small_app(scope, receive, send))
    # The server stopped reading right after the chunk that passed the limit.
    assert sum(read) <= LIMIT + CHUNK
    start = next(m for m in sent if m["type"] == "http.response.start")
    assert start["status"] == 413
    body = json.loads(
        b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    )
    assert body["error"] == "PayloadTooLarge"
    assert body["limit_bytes"] == LIMIT


def test_a_body_under_the_limit_is_served(small_client, db, clock, small_app):
    exam = mini_exam(db, clock, small_app.state.secret, candidates=1)
    response = small_client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001"), "pad": "x" * 1000},
    )
    assert response.status_code == 200, response.text


def test_an_oversized_answer_is_refused_alike_on_the_shortcut(small_client, db, clock, small_app):
    exam = mini_exam(db, clock, small_app.state.secret, candidates=1)
    token = small_client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert small_client.post("/api/v1/attempts/current/start", headers=headers).status_code == 200
    big = b'{"option": "A", "seq": 1, "pad": "' + b"x" * (LIMIT + 1) + b'"}'
    response = small_client.put(
        "/api/v1/attempts/current/responses/1",
        content=big,
        headers={**headers, "Content-Type": "application/json"},
    )
    assert_too_large(response, LIMIT)


def test_uploads_have_their_own_limit(small_client, db, clock, small_app, make_staff):
    exam = mini_exam(db, clock, small_app.state.secret, candidates=1)
    username, password = make_staff(Role.COMMITTEE, None)
    token = small_client.post(
        "/api/v1/auth/token", json={"username": username, "password": password}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/sittings/{exam.sitting_id}/roster"
    rows = [(f"20269{i:05d}", f"Peserta {i}", "umum", "guru") for i in range(2000)]
    csv = roster_csv(rows)
    assert LIMIT < len(csv) < 4 * LIMIT
    fits = small_client.post(url, files={"file": ("roster.csv", csv, "text/csv")}, headers=headers)
    assert fits.status_code != 413, fits.text

    oversized = csv + b"x" * (4 * LIMIT + MULTIPART_FRAMING_BYTES)
    refused = small_client.post(
        url, files={"file": ("roster.csv", oversized, "text/csv")}, headers=headers
    )
    assert_too_large(refused, 4 * LIMIT + MULTIPART_FRAMING_BYTES)
