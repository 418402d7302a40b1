"""Proctor controls: pauses that give back exactly the paused time, credits, voids, PC moves,
the seat list, and that a proctor can act only on their own sitting."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.models.staff import Role
from app.services import exams as exam_service
from tests.support.factory import mini_exam

REASON = {"reason": "listrik padam di ruang 2"}


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=3)


@pytest.fixture
def proctor(client, exam, make_staff, db, clock):
    username, password = make_staff(Role.PROCTOR, None)
    with db.session() as session:
        exam_service.assign_proctor(
            session, exam.sitting_id, username, actor="test", now=clock.now()
        )
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def candidate(client, exam, nomor):
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    ).json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    started = client.post("/api/v1/attempts/current/start", headers=headers).json()
    return headers, started["attempt_id"]


def remaining(client, headers):
    return client.get("/api/v1/attempts/current", headers=headers).json()["remaining_seconds"]


def test_sitting_pause_and_resume_leave_everyone_exactly_their_time(client, exam, proctor, clock):
    first, _ = candidate(client, exam, "2026000001")
    clock.advance(timedelta(minutes=2))
    second, _ = candidate(client, exam, "2026000002")
    clock.advance(timedelta(minutes=1))
    before = (remaining(client, first), remaining(client, second))
    assert before == (7 * 60, 9 * 60)

    paused = client.post(f"/api/v1/sittings/{exam.sitting_id}/pause", json=REASON, headers=proctor)
    assert paused.status_code == 200
    assert paused.json()["attempts_affected"] == 2
    # From here the clocks stand still: what they show now is exactly what they must show after
    # the outage and at the resume (``before`` was read a moment earlier, so the clocks may have
    # crossed one more second before the pause stopped them).
    at_pause = (remaining(client, first), remaining(client, second))
    assert before[0] - 1 <= at_pause[0] <= before[0]
    assert before[1] - 1 <= at_pause[1] <= before[1]
    before = at_pause
    clock.advance(timedelta(hours=2))  # a long outage
    assert (remaining(client, first), remaining(client, second)) == before
    assert (
        client.put(
            "/api/v1/attempts/current/responses/1",
            json={"option": "A", "flagged": False, "seq": 1},
            headers=first,
        ).json()["error"]
        == "AttemptPaused"
    )

    resumed = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/resume", json=REASON, headers=proctor
    )
    assert resumed.json()["attempts_affected"] == 2
    assert (remaining(client, first), remaining(client, second)) == before
    clock.advance(timedelta(seconds=30))
    assert (remaining(client, first), remaining(client, second)) == (before[0] - 30, before[1] - 30)


def test_paused_sitting_does_not_let_the_sweeper_finish_anyone(client, exam, proctor, clock, app):
    first, _ = candidate(client, exam, "2026000001")
    client.post(f"/api/v1/sittings/{exam.sitting_id}/pause", json=REASON, headers=proctor)
    clock.advance(timedelta(hours=3))
    assert app.state.services.sweeper.sweep_once() == 0
    assert client.get("/api/v1/attempts/current", headers=first).json()["status"] == "in_progress"


def test_one_attempt_pause_resume_and_extend(client, exam, proctor, clock):
    headers, attempt_id = candidate(client, exam, "2026000001")
    clock.advance(timedelta(minutes=3))
    response = client.post(f"/api/v1/attempts/{attempt_id}/pause", json=REASON, headers=proctor)
    assert response.json()["paused"] is True
    # The clock stopped at the pause: 7 minutes, less the real time the requests took (which
    # may just have crossed a second); from here every reading is exact.
    at_pause = response.json()["remaining_seconds"]
    assert 7 * 60 - 1 <= at_pause <= 7 * 60
    clock.advance(timedelta(minutes=20))
    assert remaining(client, headers) == at_pause
    client.post(f"/api/v1/attempts/{attempt_id}/resume", json=REASON, headers=proctor)
    assert remaining(client, headers) == at_pause
    extended = client.post(
        f"/api/v1/attempts/{attempt_id}/extend",
        json={"minutes": 5, "reason": "komputer mati 5 menit"},
        headers=proctor,
    )
    assert extended.status_code == 200
    assert remaining(client, headers) == at_pause + 5 * 60


def test_every_action_needs_a_reason(client, exam, proctor):
    _, attempt_id = candidate(client, exam, "2026000001")
    assert (
        client.post(
            f"/api/v1/attempts/{attempt_id}/pause", json={"reason": ""}, headers=proctor
        ).status_code
        == 422
    )
    assert (
        client.post(
            f"/api/v1/sittings/{exam.sitting_id}/pause", json={}, headers=proctor
        ).status_code
        == 422
    )


def test_void_stops_the_attempt(client, exam, proctor):
    headers, attempt_id = candidate(client, exam, "2026000001")
    response = client.post(
        f"/api/v1/attempts/{attempt_id}/void", json={"reason": "joki (impostor)"}, headers=proctor
    )
    assert response.json()["status"] == "voided"
    assert (
        client.put(
            "/api/v1/attempts/current/responses/1",
            json={"option": "A", "flagged": False, "seq": 1},
            headers=headers,
        ).status_code
        == 409
    )


def test_move_logs_the_old_pc_out(client, exam, proctor):
    headers, attempt_id = candidate(client, exam, "2026000001")
    client.post(f"/api/v1/attempts/{attempt_id}/move", json={"reason": "PC rusak"}, headers=proctor)
    assert client.get("/api/v1/attempts/current", headers=headers).status_code == 401


def test_seats_show_status_answered_remaining_and_last_seen(client, exam, proctor, clock):
    headers, _ = candidate(client, exam, "2026000001")
    for position in (1, 2):
        client.put(
            f"/api/v1/attempts/current/responses/{position}",
            json={"option": "A", "flagged": False, "seq": position},
            headers=headers,
        )
    seats = client.get(f"/api/v1/sittings/{exam.sitting_id}/seats", headers=proctor).json()
    by_nomor = {s["nomor_peserta"]: s for s in seats["seats"]}
    assert by_nomor["2026000001"]["status"] == "in_progress"
    assert by_nomor["2026000001"]["answered"] == 2
    assert by_nomor["2026000001"]["remaining_seconds"] == 600
    assert by_nomor["2026000001"]["last_seen_at"] is not None
    assert by_nomor["2026000002"]["status"] == "absent"
    assert seats["counts"] == {"in_progress": 1, "absent": 2}


def test_a_proctor_of_another_sitting_is_refused(client, exam, make_staff):
    username, password = make_staff(Role.PROCTOR, None)
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    other = {"Authorization": f"Bearer {token.json()['access_token']}"}
    _, attempt_id = candidate(client, exam, "2026000001")
    assert client.get(f"/api/v1/sittings/{exam.sitting_id}/seats", headers=other).status_code == 403
    assert (
        client.post(f"/api/v1/attempts/{attempt_id}/pause", json=REASON, headers=other).status_code
        == 403
    )


def test_proctor_actions_are_audited_on_the_sittings_chain(client, exam, proctor, db):
    from app.repositories import audit as audit_repo
    from app.services import audit

    _, attempt_id = candidate(client, exam, "2026000001")
    client.post(
        f"/api/v1/attempts/{attempt_id}/extend",
        json={"minutes": 3, "reason": "gangguan"},
        headers=proctor,
    )
    with db.read_session() as session:
        events = [
            (e.chain, e.action, e.payload)
            for e in audit_repo.iter_events(session)
            if e.action == "attempt.extend"
        ]
        assert audit.verify(session).intact
    assert len(events) == 1
    assert events[0][0] == f"sitting:{exam.sitting_id}"
    assert "gangguan" in events[0][2]


def test_reissued_pins_replace_the_old_ones(client, exam, proctor):
    old_pin = exam.pin_of("2026000003")
    response = client.post(
        f"/api/v1/sittings/{exam.sitting_id}/pins",
        json={"nomor_peserta": "2026000003", "reason": "kartu PIN hilang"},
        headers=proctor,
    )
    new_pin = response.json()[0]["pin"]
    assert (
        client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": "2026000003", "pin": new_pin}
        ).status_code
        == 200
    )
    if new_pin != old_pin:
        assert (
            client.post(
                "/api/v1/candidate/login", json={"nomor_peserta": "2026000003", "pin": old_pin}
            ).status_code
            == 401
        )
