"""How a candidate token ends: after ``UJIAN_TOKEN_LIFETIME_HOURS`` (not a fixed day), or at
the candidate's logout (that token only)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.conftest import make_settings
from tests.support.factory import candidate_login, mini_exam


@pytest.fixture
def short_lived(database_url, tmp_path, db, clock) -> Iterator[TestClient]:
    settings = make_settings(database_url, tmp_path / "var", token_lifetime_hours=1)
    with TestClient(create_app(settings, db=db, clock=clock)) as client:
        yield client


def test_candidate_tokens_honour_the_configured_lifetime(short_lived, db, clock):
    exam = mini_exam(db, clock, short_lived.app.state.secret, candidates=1)
    headers = candidate_login(short_lived, exam, "2026000001")
    clock.advance(timedelta(minutes=59))
    assert short_lived.get("/api/v1/attempts/current", headers=headers).status_code == 200
    clock.advance(timedelta(minutes=2))
    expired = short_lived.get("/api/v1/attempts/current", headers=headers)
    assert expired.status_code == 401, expired.text
    assert expired.json()["error"] == "Unauthorized"


def test_logout_ends_that_token_only(client, db, clock, app):
    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    first = candidate_login(client, exam, "2026000001")
    assert client.post("/api/v1/candidate/logout", headers=first).status_code == 204
    ended = client.get("/api/v1/attempts/current", headers=first)
    assert ended.status_code in (401, 409), ended.text
    assert ended.json()["retryable"] is False
    # Logging in again gives a working token; the ended one cannot end it.
    second = candidate_login(client, exam, "2026000001")
    assert client.post("/api/v1/candidate/logout", headers=first).status_code == 204
    assert client.get("/api/v1/attempts/current", headers=second).status_code == 200


def test_logout_needs_a_candidate_token(client):
    refused = client.post("/api/v1/candidate/logout")
    assert refused.status_code == 401
    assert refused.json()["error"] == "Unauthorized"
