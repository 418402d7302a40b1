"""Saves are judged by when the server received them: a save that arrived before the deadline is
stored even when its batch is written after the deadline and grace (a slow disk, an import
holding the writer); one that arrived after them is still refused. Through the answer path's
shortcut and through the route alike."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.api.answer_path import AnswerPath
from app.main import create_app
from app.models.attempt import Response
from tests.support.factory import mini_exam

GRACE = timedelta(seconds=5)


def late_writer(app, clock, delay: timedelta) -> None:
    """Make every batch reach the database ``delay`` after its saves arrived."""
    writer = app.state.services.writer
    original = writer._write

    def write_late(requests):
        clock.advance(delay)
        return original(requests)

    writer._write = write_late


@pytest.fixture(params=["shortcut", "route"])
def served(request, settings, db, clock) -> Iterator[TestClient]:
    app = create_app(settings, db=db, clock=clock)
    if request.param == "route":
        app.user_middleware = [m for m in app.user_middleware if m.cls is not AnswerPath]
    with TestClient(app) as client:
        yield client


def started(client: TestClient, exam, nomor: str) -> tuple[dict[str, str], str]:
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    begun = client.post("/api/v1/attempts/current/start", headers=headers)
    assert begun.status_code == 200, begun.text
    return headers, begun.json()["deadline_at"]


def test_a_save_sent_in_time_is_stored_though_written_late(served, db, clock):
    app = served.app
    exam = mini_exam(db, clock, app.state.secret, candidates=2, duration=10)
    headers, _deadline = started(served, exam, "2026000001")
    # Arrives 2 s before the deadline; its batch is written 30 s later (past the grace).
    clock.advance(timedelta(minutes=10) - timedelta(seconds=2))
    late_writer(app, clock, timedelta(seconds=30))
    saved = served.put(
        "/api/v1/attempts/current/responses/1",
        json={"option": "B", "flagged": False, "seq": 1},
        headers=headers,
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["applied"] is True
    with db.read_session() as session:
        assert session.query(Response).filter_by(position=1).count() == 1


def test_a_save_arriving_after_the_grace_is_refused(served, db, clock):
    app = served.app
    exam = mini_exam(db, clock, app.state.secret, candidates=2, duration=10)
    headers, _deadline = started(served, exam, "2026000002")
    clock.advance(timedelta(minutes=10) + GRACE + timedelta(seconds=1))
    refused = served.put(
        "/api/v1/attempts/current/responses/1",
        json={"option": "B", "flagged": False, "seq": 1},
        headers=headers,
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"] == "DeadlinePassed"
