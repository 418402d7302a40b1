"""Device moves approved by the proctor: a second PC with nomor peserta + PIN waits for the
proctor instead of taking over a running attempt; approval moves it (answers and time intact),
refusal leaves it where it is; every step on the attempt's audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from app.models.sitting import Sitting
from app.models.staff import Role
from app.repositories import audit as audit_repo
from app.services import audit
from app.services import exams as exam_service
from app.services.device_moves import agent_summary
from item_bank.errors import InvalidInput
from item_bank.exam_spec import parse_exam_spec, spec_from_dict, spec_to_dict
from tests.support.factory import SMALL_SPEC, mini_exam

REASON = {"reason": "PC rusak, pindah ke PC 12"}
NOMOR = "2026000001"
OLD_PC = {"User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0 Safari/537.36"}
NEW_PC = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"}


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


def login(client, exam, nomor=NOMOR, headers=None):
    return client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)},
        headers=headers or {},
    )


def bearer(response):
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def save(client, headers, position, option, seq):
    return client.put(
        f"/api/v1/attempts/current/responses/{position}",
        json={"option": option, "flagged": False, "seq": seq},
        headers=headers,
    )


def running(client, exam, nomor=NOMOR):
    """A candidate on the first PC, started, with one answer saved."""
    old = bearer(login(client, exam, nomor, OLD_PC))
    started = client.post("/api/v1/attempts/current/start", headers=old)
    assert started.status_code == 200
    assert save(client, old, 1, "B", 1).status_code == 200
    return old, started.json()["attempt_id"]


def poll(client, move_token):
    response = client.post("/api/v1/candidate/move-status", json={"move_token": move_token})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_second_pc_waits_and_the_first_keeps_working(client, exam, proctor):
    old, attempt_id = running(client, exam)
    waiting = login(client, exam, headers=NEW_PC)
    assert waiting.status_code == 409
    body = waiting.json()
    assert body["error"] == "DeviceMovePending"
    assert body["attempt_id"] == attempt_id
    assert "access_token" not in body
    # The first PC is untouched: it reads and saves as before.
    assert save(client, old, 2, "C", 2).status_code == 200
    assert client.get("/api/v1/attempts/current", headers=old).status_code == 200
    assert poll(client, body["move_token"]) == {
        "state": "pending",
        "attempt_id": attempt_id,
        "reason": None,
        "access_token": None,
    }
    # The proctor sees the request with both PCs.
    pending = client.get(f"/api/v1/sittings/{exam.sitting_id}/move-requests", headers=proctor)
    assert pending.status_code == 200
    [request] = pending.json()
    assert request["id"] == body["request_id"]
    assert request["nomor_peserta"] == NOMOR
    assert request["old_client"] == request["new_client"] == "testclient"
    # Each PC is named by the browser it logged in with, as the login route saw it.
    assert (request["old_agent"], request["new_agent"]) == (
        "Chrome 120 on Windows",
        "Firefox 121 on Linux",
    )
    assert request["status"] == "pending"


def test_approval_moves_the_attempt_with_answers_and_time(client, exam, proctor, clock):
    old, attempt_id = running(client, exam)
    clock.advance(timedelta(minutes=2))
    body = login(client, exam, headers=NEW_PC).json()
    approved = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{body['request_id']}/approve",
        json=REASON,
        headers=proctor,
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    # The old PC's token ended; the waiting PC continues with the answers and the clock.
    assert save(client, old, 2, "C", 2).status_code == 401
    status = poll(client, body["move_token"])
    assert status["state"] == "approved"
    new = {"Authorization": f"Bearer {status['access_token']}"}
    state = client.get("/api/v1/attempts/current", headers=new).json()
    assert state["items"][0]["option"] == "B"
    # Two minutes of ten went by before the move, none during it (the test clock also runs in
    # real time, so a request may cross one more second).
    assert 8 * 60 - 1 <= state["remaining_seconds"] <= 8 * 60
    assert save(client, new, 2, "C", state["last_seq"] + 1).status_code == 200
    # Nothing is pending any more, and a second approval is refused.
    assert (
        client.get(f"/api/v1/sittings/{exam.sitting_id}/move-requests", headers=proctor).json()
        == []
    )
    again = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{body['request_id']}/approve",
        json=REASON,
        headers=proctor,
    )
    assert again.status_code == 409


def test_refusal_leaves_the_attempt_and_tells_the_waiting_pc_why(client, exam, proctor):
    old, attempt_id = running(client, exam)
    body = login(client, exam, headers=NEW_PC).json()
    refused = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{body['request_id']}/refuse",
        json={"reason": "peserta tetap di PC 3"},
        headers=proctor,
    )
    assert refused.status_code == 200
    status = poll(client, body["move_token"])
    assert status["state"] == "refused"
    assert status["reason"] == "peserta tetap di PC 3"
    assert status["access_token"] is None
    assert save(client, old, 2, "C", 2).status_code == 200


def test_a_refusal_needs_a_reason(client, exam, proctor):
    _old, attempt_id = running(client, exam)
    body = login(client, exam, headers=NEW_PC).json()
    response = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{body['request_id']}/refuse",
        json={"reason": ""},
        headers=proctor,
    )
    assert response.status_code == 422


def test_an_unknown_move_token_learns_nothing(client, exam):
    running(client, exam)
    response = client.post("/api/v1/candidate/move-status", json={"move_token": "y" * 43})
    assert response.status_code == 404
    assert "attempt_id" not in response.json()


def test_another_sittings_proctor_cannot_approve(client, exam, make_staff, db, clock):
    _old, attempt_id = running(client, exam)
    body = login(client, exam, headers=NEW_PC).json()
    username, password = make_staff(Role.PROCTOR, None)  # a proctor not assigned here
    token = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    stranger = {"Authorization": f"Bearer {token.json()['access_token']}"}
    response = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{body['request_id']}/approve",
        json=REASON,
        headers=stranger,
    )
    assert response.status_code == 403
    assert poll(client, body["move_token"])["state"] == "pending"


def test_a_login_before_the_start_needs_no_approval(client, exam):
    first = bearer(login(client, exam, headers=OLD_PC))
    second = login(client, exam, headers=NEW_PC)
    assert second.status_code == 200
    assert second.json()["moved"] is True
    # The start on the second PC is the one that counts; the first PC's token ended.
    assert client.post("/api/v1/attempts/current/start", headers=first).status_code == 401


def test_a_newer_login_supersedes_the_pending_request(client, exam, proctor):
    _old, attempt_id = running(client, exam)
    first = login(client, exam, headers=NEW_PC).json()
    second = login(client, exam, headers=NEW_PC).json()
    assert poll(client, first["move_token"])["state"] == "superseded"
    pending = client.get(f"/api/v1/sittings/{exam.sitting_id}/move-requests", headers=proctor)
    assert [r["id"] for r in pending.json()] == [second["request_id"]]
    stale = client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{first['request_id']}/approve",
        json=REASON,
        headers=proctor,
    )
    assert stale.status_code == 409


def test_the_sittings_automatic_rule_moves_at_login(client, exam, proctor):
    chosen = client.put(
        f"/api/v1/sittings/{exam.sitting_id}/device-moves",
        json={"device_moves": "automatic", "reason": "gladi bersih"},
        headers=proctor,
    )
    assert chosen.status_code == 200
    assert chosen.json() == {
        "sitting_id": exam.sitting_id,
        "device_moves": "automatic",
        "effective": "automatic",
    }
    old, _attempt_id = running(client, exam)
    moved = login(client, exam, headers=NEW_PC)
    assert moved.status_code == 200
    assert moved.json()["moved"] is True
    assert save(client, old, 2, "C", 2).status_code == 401


def test_the_exam_specs_automatic_rule_moves_at_login(client, db, clock, app):
    built = mini_exam(db, clock, app.state.secret, candidates=1)
    with db.session() as session:
        # The spec is frozen at publish; a test edits the stored copy to stand for an exam
        # whose spec said ``device_moves: automatic``.
        from app.models.exam import ExamVersion

        exam_row = session.get(ExamVersion, built.exam_id)
        exam_row.spec = {**exam_row.spec, "device_moves": "automatic"}
    old, _ = running(client, built)
    assert login(client, built, headers=NEW_PC).status_code == 200
    assert save(client, old, 2, "C", 2).status_code == 401


def test_a_sitting_override_wins_over_the_exam_spec(client, exam, db):
    with db.session() as session:
        session.execute(
            update(Sitting).where(Sitting.id == exam.sitting_id).values(device_moves="proctor")
        )
    running(client, exam)
    assert login(client, exam, headers=NEW_PC).status_code == 409


def test_every_step_is_on_the_attempts_audit_chain(client, exam, proctor, db):
    _old, attempt_id = running(client, exam)
    refused = login(client, exam, headers=NEW_PC).json()
    client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{refused['request_id']}/refuse",
        json={"reason": "bukan pesertanya"},
        headers=proctor,
    )
    approved = login(client, exam, headers=NEW_PC).json()
    client.post(
        f"/api/v1/attempts/{attempt_id}/move-requests/{approved['request_id']}/approve",
        json=REASON,
        headers=proctor,
    )
    with db.read_session() as session:
        events = list(audit_repo.iter_events(session))
        assert audit.verify(session).intact
    mine = [e.action for e in events if e.chain == f"attempt:{attempt_id}"]
    assert mine == [
        "candidate.login",
        "attempt.start",
        "candidate.move_requested",
        "attempt.move_refused",
        "candidate.move_requested",
        "attempt.move_approved",
    ]


def test_the_exam_spec_field_reads_writes_and_names_a_wrong_value():
    spec = parse_exam_spec(
        SMALL_SPEC.format(duration=10) + "device_moves: automatic\n", "mini.yaml"
    )
    assert spec.device_moves == "automatic"
    assert spec_from_dict(spec_to_dict(spec)) == spec
    default = parse_exam_spec(SMALL_SPEC.format(duration=10), "mini.yaml")
    assert default.device_moves == "proctor"
    assert "device_moves" not in spec_to_dict(default)  # existing specs keep their hash
    with pytest.raises(InvalidInput) as refused:
        parse_exam_spec(SMALL_SPEC.format(duration=10) + "device_moves: sometimes\n", "mini.yaml")
    assert "device_moves" in str(refused.value)
    assert "proctor, automatic" in str(refused.value)


def test_the_request_names_both_pcs_browsers(exam, db, clock, app):
    from app.models.attempt import DeviceMoveRequest
    from app.services import attempts, throttle
    from app.services.device_moves import DeviceMovePending

    window = timedelta(minutes=15)
    svc = app.state.services

    def log_in(client_address, agent):
        with db.session() as session:
            return attempts.candidate_login(
                session,
                nomor_peserta=NOMOR,
                pin=exam.pin_of(NOMOR),
                now=clock.now(),
                client=client_address,
                secret=svc.secret,
                tokens=svc.tokens,
                policy=throttle.Policy(5, window, window),
                address_policy=throttle.Policy(100, window, window),
                agent=agent,
            )

    first = log_in("10.1.0.3", OLD_PC["User-Agent"])
    with db.session() as session:
        attempts.start(
            session,
            svc.tokens.check(first.access_token, int(clock.now().timestamp())),
            now=clock.now(),
            runtimes=svc.runtimes,
        )
    waiting = log_in("10.1.0.12", NEW_PC["User-Agent"])
    assert isinstance(waiting, DeviceMovePending)
    with db.read_session() as session:
        request = session.get(DeviceMoveRequest, waiting.extra["request_id"])
        assert (request.old_client, request.old_agent) == ("10.1.0.3", "Chrome 120 on Windows")
        assert (request.new_client, request.new_agent) == ("10.1.0.12", "Firefox 121 on Linux")


def test_agent_summaries_name_browser_and_system():
    assert agent_summary(OLD_PC["User-Agent"]) == "Chrome 120 on Windows"
    assert agent_summary("") == "unknown"
