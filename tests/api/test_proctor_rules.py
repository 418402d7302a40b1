"""What a proctor may not do to an attempt: every refusal is a 409 in the error envelope and
leaves the attempt exactly as it was.

The sweeper runs only when a test calls it, so an attempt can sit past its deadline unfinished,
as it does on a busy server between two sweeper rounds.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from app.models.attempt import Attempt
from app.models.staff import Role
from app.services import exams as exam_service
from app.settings import Settings
from tests.conftest import make_settings
from tests.support.factory import mini_exam

REASON = {"reason": "gangguan listrik di ruang 2"}
EXTEND = {"minutes": 5, "reason": "komputer mati 5 menit"}


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A sweeper round an hour away: the tests decide when attempts are finished.
    return make_settings(database_url, tmp_path / "var", sweeper_interval_seconds=3600.0)


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=2, duration=10)


@pytest.fixture
def proctor(client, exam, make_staff, db, clock):
    username, password = make_staff(Role.PROCTOR, None)
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def start(client, exam, nomor="2026000001"):
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = client.post("/api/v1/attempts/current/start", headers=headers).json()
    return headers, started["attempt_id"]


def stored(db, attempt_id):
    """The attempt's row as the database holds it (status, deadline, pause, credit)."""
    with db.read_session() as session:
        row = session.get(Attempt, attempt_id)
        assert row is not None
        return (row.status, row.deadline_at, row.paused_at, row.credit_seconds)


def act(client, proctor, attempt_id, action, body=None):
    return client.post(
        f"/api/v1/attempts/{attempt_id}/{action}", json=body or REASON, headers=proctor
    )


def assert_refused(response, *, mentions, error="Conflict"):
    """A 409 in the envelope; refusals that existed before keep their ``Conflict`` name."""
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"] == error
    assert mentions in body["detail"]


def test_extend_after_the_deadline_is_refused_before_the_sweeper_finishes(
    client, exam, proctor, clock, db, app
):
    _headers, attempt_id = start(client, exam)
    clock.advance(timedelta(minutes=10, seconds=30))  # past the deadline and the save grace
    before = stored(db, attempt_id)
    assert before[0] == "in_progress"  # no sweeper round yet

    assert_refused(
        act(client, proctor, attempt_id, "extend", EXTEND),
        mentions="over",
        error="ExtendAfterDeadline",
    )

    assert stored(db, attempt_id) == before  # the deadline did not move: the attempt is not revived
    assert app.state.services.sweeper.sweep_once() == 1
    assert stored(db, attempt_id)[0] == "finished"


def test_extend_within_the_save_grace_is_refused(client, exam, proctor, clock, db):
    _headers, attempt_id = start(client, exam)
    clock.advance(timedelta(minutes=10, seconds=1))  # the deadline passed, the grace has not
    before = stored(db, attempt_id)
    assert_refused(
        act(client, proctor, attempt_id, "extend", EXTEND),
        mentions="over",
        error="ExtendAfterDeadline",
    )
    assert stored(db, attempt_id) == before


def test_extend_of_a_paused_attempt_counts_the_time_it_had_left(client, exam, proctor, clock):
    headers, attempt_id = start(client, exam)
    clock.advance(timedelta(minutes=3))
    paused = act(client, proctor, attempt_id, "pause")
    assert paused.status_code == 200
    at_pause = paused.json()["remaining_seconds"]  # 7 min, less the requests' real time
    assert 7 * 60 - 1 <= at_pause <= 7 * 60
    # Long enough that the stored deadline is in the past: the paused clock still shows 7 min.
    clock.advance(timedelta(minutes=30))
    extended = act(client, proctor, attempt_id, "extend", EXTEND)
    assert extended.status_code == 200, extended.text
    assert extended.json()["remaining_seconds"] == at_pause + 5 * 60
    assert act(client, proctor, attempt_id, "resume").status_code == 200
    state = client.get("/api/v1/attempts/current", headers=headers).json()
    assert state["remaining_seconds"] == at_pause + 5 * 60


def test_pause_after_the_deadline_is_refused(client, exam, proctor, clock, db):
    _headers, attempt_id = start(client, exam)
    clock.advance(timedelta(minutes=10, seconds=30))
    before = stored(db, attempt_id)
    assert_refused(act(client, proctor, attempt_id, "pause"), mentions="over")
    assert stored(db, attempt_id) == before


def test_a_sitting_pause_leaves_an_attempt_whose_time_is_over_to_finish(
    client, exam, proctor, clock, db, app
):
    _h1, late = start(client, exam, "2026000001")
    clock.advance(timedelta(minutes=9))
    _h2, early = start(client, exam, "2026000002")
    clock.advance(timedelta(minutes=1, seconds=30))  # the first is over, the second has 8:30
    paused = client.post(f"/api/v1/sittings/{exam.sitting_id}/pause", json=REASON, headers=proctor)
    assert paused.status_code == 200
    assert paused.json()["attempts_affected"] == 1
    assert stored(db, late)[2] is None
    assert stored(db, early)[2] is not None
    # Neither the sitting's resume nor a proctor's extension brings the first one back.
    clock.advance(timedelta(minutes=5))
    resumed = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/resume", json=REASON, headers=proctor
    )
    assert resumed.json()["attempts_affected"] == 1
    assert_refused(
        act(client, proctor, late, "extend", EXTEND), mentions="over", error="ExtendAfterDeadline"
    )
    assert app.state.services.sweeper.sweep_once() == 1
    assert stored(db, late)[0] == "finished"
    assert stored(db, early)[0] == "in_progress"


@pytest.mark.parametrize("action", ["resume", "pause", "extend"])
def test_a_finished_attempt_cannot_be_resumed_paused_or_extended(client, exam, proctor, db, action):
    headers, attempt_id = start(client, exam)
    assert (
        client.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        ).status_code
        == 200
    )
    before = stored(db, attempt_id)
    body = EXTEND if action == "extend" else REASON
    expected = "not paused" if action == "resume" else "finished"
    assert_refused(act(client, proctor, attempt_id, action, body), mentions=expected)
    assert stored(db, attempt_id) == before


@pytest.mark.parametrize("action", ["resume", "pause", "extend"])
def test_a_voided_attempt_cannot_be_resumed_paused_or_extended(client, exam, proctor, db, action):
    _headers, attempt_id = start(client, exam)
    assert act(client, proctor, attempt_id, "pause").status_code == 200
    assert act(client, proctor, attempt_id, "void").json()["status"] == "voided"
    before = stored(db, attempt_id)
    body = EXTEND if action == "extend" else REASON
    expected = "not paused" if action == "resume" else "voided"
    assert_refused(act(client, proctor, attempt_id, action, body), mentions=expected)
    assert stored(db, attempt_id) == before


def test_an_attempt_not_started_cannot_be_paused_or_extended(client, exam, proctor, db):
    token = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    )
    assert token.status_code == 200
    seats = client.get(f"/api/v1/sittings/{exam.sitting_id}/seats", headers=proctor).json()
    attempt_id = next(s["attempt_id"] for s in seats["seats"] if s["nomor_peserta"] == "2026000001")
    assert attempt_id is not None
    assert_refused(act(client, proctor, attempt_id, "pause"), mentions="ready")
    assert_refused(act(client, proctor, attempt_id, "extend", EXTEND), mentions="ready")


def test_one_attempt_paused_by_the_sitting_waits_for_the_sitting(client, exam, proctor, db):
    _headers, attempt_id = start(client, exam)
    client.post(f"/api/v1/sittings/{exam.sitting_id}/pause", json=REASON, headers=proctor)
    before = stored(db, attempt_id)
    assert_refused(act(client, proctor, attempt_id, "resume"), mentions="sitting")
    assert stored(db, attempt_id) == before


def test_resume_of_a_running_attempt_is_refused(client, exam, proctor, db):
    _headers, attempt_id = start(client, exam)
    before = stored(db, attempt_id)
    assert_refused(act(client, proctor, attempt_id, "resume"), mentions="not paused")
    assert stored(db, attempt_id) == before


def test_voiding_twice_is_one_void(client, exam, proctor, db):
    from app.repositories import audit as audit_repo

    _headers, attempt_id = start(client, exam)
    assert act(client, proctor, attempt_id, "void").status_code == 200
    again = act(client, proctor, attempt_id, "void")
    assert again.status_code == 200
    assert again.json()["status"] == "voided"
    with db.read_session() as session:
        voids = [e for e in audit_repo.iter_events(session) if e.action == "attempt.void"]
    assert len(voids) == 1


def test_a_finished_attempt_can_still_be_voided(client, exam, proctor, db):
    # An impostor found on the check-in photos after the exam: the result stays on file, the
    # attempt leaves the rankings.
    headers, attempt_id = start(client, exam)
    client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    voided = act(client, proctor, attempt_id, "void", {"reason": "joki, terlihat di foto"})
    assert voided.status_code == 200
    assert voided.json()["status"] == "voided"


def test_sitting_rules(client, exam, proctor):
    base = f"/api/v1/sittings/{exam.sitting_id}"
    assert_refused(client.post(f"{base}/resume", json=REASON, headers=proctor), mentions="open")
    assert client.post(f"{base}/pause", json=REASON, headers=proctor).status_code == 200
    assert_refused(client.post(f"{base}/close", json=REASON, headers=proctor), mentions="resume")
    assert_refused(client.post(f"{base}/pause", json=REASON, headers=proctor), mentions="paused")
    assert client.post(f"{base}/resume", json=REASON, headers=proctor).status_code == 200
    closed = client.post(f"{base}/close", json=REASON, headers=proctor)
    assert closed.json()["status"] == "closed"
    assert_refused(client.post(f"{base}/open", json=REASON, headers=proctor), mentions="closed")
    assert_refused(client.post(f"{base}/pause", json=REASON, headers=proctor), mentions="closed")
