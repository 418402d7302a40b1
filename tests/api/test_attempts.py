"""The server-owned exam: autosave semantics, the deadline, pauses, credits and PC swaps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.factory import candidate_login as login
from tests.support.factory import mini_exam, move_with_approval
from tests.support.factory import start_attempt as start


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=4)


def save(client, headers, position, option, seq, flagged=False):
    return client.put(
        f"/api/v1/attempts/current/responses/{position}",
        json={"option": option, "flagged": flagged, "seq": seq},
        headers=headers,
    )


def state(client, headers):
    return client.get("/api/v1/attempts/current", headers=headers).json()


def test_wrong_pin_is_refused_and_repeated_failures_lock(client, exam, settings):
    for _ in range(settings.login_max_failures):
        bad = client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": "2026000001", "pin": "000000x"}
        )
        assert bad.status_code == 401
    locked = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    )
    assert locked.status_code == 429
    assert "Retry-After" in locked.headers


def test_login_only_while_the_sitting_is_open(client, db, clock, app):
    closed = mini_exam(db, clock, app.state.secret, open_sitting=False)
    response = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": closed.pin_of("2026000001")},
    )
    assert response.status_code == 401


def test_start_is_idempotent_and_keeps_the_form_and_deadline(client, exam):
    headers = login(client, exam)
    first = start(client, headers)
    second = start(client, headers)
    assert [i["stem"] for i in first["items"]] == [i["stem"] for i in second["items"]]
    assert first["deadline_at"] == second["deadline_at"]


def test_state_never_carries_keys_or_points(client, exam):
    headers = login(client, exam)
    started = start(client, headers)
    raw = client.get("/api/v1/attempts/current", headers=headers).text.lower()
    assert '"key"' not in raw
    assert '"points"' not in raw
    for item in started["items"]:
        assert set(item) == {
            "position",
            "section",
            "stem",
            "options",
            "option",
            "flagged",
            "adaptive",
            "locked",
            "pending",
        }
        for option in item["options"]:
            assert set(option) == {"id", "text"}


def test_answer_and_flag_survive_a_reload(client, exam):
    headers = login(client, exam)
    start(client, headers)
    assert save(client, headers, 2, "C", 1, flagged=True).status_code == 200
    reloaded = state(client, headers)
    item = reloaded["items"][1]
    assert (item["option"], item["flagged"]) == ("C", True)
    assert reloaded["last_seq"] == 1


def test_older_sequence_never_overwrites_a_newer_answer(client, exam):
    headers = login(client, exam)
    start(client, headers)
    assert save(client, headers, 1, "B", 5).json()["applied"] is True
    stale = save(client, headers, 1, "D", 3)
    assert stale.status_code == 200
    assert stale.json()["applied"] is False
    assert stale.json()["seq"] == 5
    repeated = save(client, headers, 1, "E", 5)
    assert repeated.json()["applied"] is False
    assert state(client, headers)["items"][0]["option"] == "B"


def test_clearing_an_answer(client, exam):
    headers = login(client, exam)
    start(client, headers)
    save(client, headers, 1, "B", 1)
    assert save(client, headers, 1, None, 2).json()["applied"] is True
    assert state(client, headers)["items"][0]["option"] is None


def test_bad_option_and_position_are_refused(client, exam):
    headers = login(client, exam)
    start(client, headers)
    assert save(client, headers, 99, "A", 1).status_code == 404
    assert save(client, headers, 1, "Z", 2).status_code == 422
    assert save(client, headers, 1, "F", 3).status_code == 409


def test_every_change_is_kept_as_history(client, exam, db):
    from sqlalchemy import select

    from app.models.attempt import ResponseEvent

    headers = login(client, exam)
    start(client, headers)
    for seq, option in enumerate(["A", "B", None, "D"], start=1):
        save(client, headers, 3, option, seq)
    with db.read_session() as session:
        events = [
            (e.seq, e.option, e.at)
            for e in session.scalars(select(ResponseEvent).order_by(ResponseEvent.seq))
        ]
    assert [seq for seq, _, _ in events] == [1, 2, 3, 4]
    assert events[2][1] is None
    assert all(at is not None for _, _, at in events)


def test_saving_before_start_is_refused(client, exam):
    headers = login(client, exam)
    response = save(client, headers, 1, "A", 1)
    assert response.status_code == 409
    assert response.json()["error"] == "AttemptNotActive"


def test_after_the_deadline_and_grace_a_save_is_409(client, exam, clock, settings):
    headers = login(client, exam)
    start(client, headers)
    clock.advance(timedelta(minutes=10, seconds=settings.save_grace_seconds - 1))
    assert save(client, headers, 1, "A", 1).status_code == 200  # inside the grace
    clock.advance(timedelta(seconds=2))
    late = save(client, headers, 1, "B", 2)
    assert late.status_code == 409
    assert late.json()["error"] == "DeadlinePassed"


def test_coming_back_after_the_deadline_finds_the_attempt_finished_and_scored(client, exam, clock):
    headers = login(client, exam)
    started = start(client, headers)
    assert save(client, headers, 1, "A", 1).status_code == 200
    clock.advance(timedelta(minutes=11))
    after = state(client, headers)
    assert after["status"] == "finished"
    assert after["items"] == []
    assert after["result"] is not None
    assert started["status"] == "in_progress"


def test_pressing_start_again_after_the_deadline_finds_the_attempt_finished(client, exam, clock):
    # A reloaded screen calls start again: that access checks the deadline too.
    headers = login(client, exam)
    assert start(client, headers)["remaining_seconds"] == 600
    clock.advance(timedelta(minutes=11))
    again = client.post("/api/v1/attempts/current/start", headers=headers)
    assert again.status_code == 200
    assert again.json()["status"] == "finished"
    assert again.json()["result"] is not None


def test_the_sweeper_finishes_an_abandoned_attempt(client, exam, clock, app):
    headers = login(client, exam)
    start(client, headers)
    clock.advance(timedelta(minutes=11))
    assert app.state.services.sweeper.sweep_once() == 1
    assert app.state.services.sweeper.sweep_once() == 0
    assert state(client, headers)["status"] == "finished"


def test_finish_is_idempotent(client, exam):
    headers = login(client, exam)
    start(client, headers)
    first = client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    second = client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    assert first.json()["result"] == second.json()["result"]
    assert save(client, headers, 1, "A", 9).status_code == 409


def test_finish_needs_confirmation(client, exam):
    headers = login(client, exam)
    start(client, headers)
    response = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": False}, headers=headers
    )
    assert response.status_code == 400
    assert state(client, headers)["status"] == "in_progress"


def test_login_on_another_pc_moves_the_attempt_and_ends_the_old_token(client, exam, db, clock):
    old = login(client, exam)
    start(client, old)
    save(client, old, 1, "B", 1)
    # The proctor approves the move (the default rule): only then does the old PC's token end.
    new = move_with_approval(client, exam, db, clock)
    assert save(client, old, 2, "C", 2).status_code == 401
    assert client.get("/api/v1/attempts/current", headers=old).status_code == 401
    moved = state(client, new)
    assert moved["items"][0]["option"] == "B"
    assert save(client, new, 2, "C", moved["last_seq"] + 1).status_code == 200


def test_remaining_time_is_the_servers_and_ignores_the_client(client, exam, clock):
    headers = login(client, exam)
    start(client, headers)
    clock.advance(timedelta(minutes=4))
    ack = save(client, headers, 1, "A", 1)
    assert ack.json()["remaining_seconds"] == 6 * 60
    assert state(client, headers)["remaining_seconds"] == 6 * 60


def test_accommodation_minutes_extend_the_deadline(client, db, clock, app):
    from sqlalchemy import update

    from app.models.sitting import Registration

    built = mini_exam(db, clock, app.state.secret)
    with db.session() as session:
        session.execute(
            update(Registration)
            .where(Registration.nomor_peserta == "2026000002")
            .values(extra_minutes=30)
        )
    headers = login(client, built, "2026000002")
    assert start(client, headers)["remaining_seconds"] == 40 * 60


def test_the_clock_endpoint_is_the_state_without_items(client, exam, clock):
    headers = login(client, exam)
    start(client, headers)
    save(client, headers, 1, "A", 4)
    clock.advance(timedelta(minutes=1))
    view = client.get("/api/v1/attempts/current/clock", headers=headers).json()
    assert view["status"] == "in_progress"
    assert view["remaining_seconds"] == 9 * 60
    assert view["last_seq"] == 4
    assert "items" not in view
    clock.advance(timedelta(minutes=10))
    assert (
        client.get("/api/v1/attempts/current/clock", headers=headers).json()["status"] == "finished"
    )


def test_a_candidates_own_events_form_their_attempts_audit_chain(client, exam, db, clock):
    from app.repositories import audit as audit_repo
    from app.services import audit

    first = login(client, exam, "2026000001")
    start(client, first)
    moved = move_with_approval(client, exam, db, clock)  # the same candidate on another PC
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=moved
    ).json()
    other = login(client, exam, "2026000002")  # a neighbour of the same sitting
    start(client, other)
    attempt_id, neighbour = finished["attempt_id"], state(client, other)["attempt_id"]
    with db.read_session() as session:
        events = list(audit_repo.iter_events(session))
        assert audit.verify(session).intact
    mine = [(e.seq, e.action) for e in events if e.chain == f"attempt:{attempt_id}"]
    assert mine == [
        (1, "candidate.login"),
        (2, "attempt.start"),
        (3, "candidate.move_requested"),
        (4, "attempt.move_approved"),
        (5, "attempt.finish"),
    ]
    theirs = [e.action for e in events if e.chain == f"attempt:{neighbour}"]
    assert theirs == ["candidate.login", "attempt.start"]
    # The sitting's own chain holds none of them: logins of a sitting never share a head row.
    sitting = {e.action for e in events if e.chain == f"sitting:{exam.sitting_id}"}
    assert not sitting & {"candidate.login", "attempt.start", "attempt.finish"}
