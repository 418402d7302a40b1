"""Candidate-side rules the exam-day model decides, through the API.

Each test names the behaviour a candidate or the record would show; the first one failed before
the model (a finish pressed after the deadline and grace, before the sweeper came by, was recorded
as the candidate's own finish, made after the exam was over).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.support.factory import candidate_login as login
from tests.support.factory import mini_exam
from tests.support.factory import start_attempt as start


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=2)


def finish(client, headers):
    response = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert response.status_code == 200, response.text
    return response.json()


def stored(db, attempt_id):
    """The attempt's row as the database holds it (plain strings, no ORM types)."""
    with db.read_session() as session:
        row = session.execute(
            text("SELECT status, finish_reason, paused_by FROM attempts WHERE id = :id"),
            {"id": attempt_id},
        ).one()
    return tuple(row)


def finish_reasons(db, attempt_id):
    from app.repositories import audit as audit_repo

    with db.read_session() as session:
        return [
            json.loads(e.payload)["reason"]
            for e in audit_repo.iter_events(session)
            if e.chain == f"attempt:{attempt_id}" and e.action == "attempt.finish"
        ]


def test_a_finish_pressed_after_the_grace_is_recorded_as_the_deadlines(
    client, exam, clock, db, settings
):
    # The exam was over (time plus grace) before the candidate pressed finish; the sweeper had
    # not come by yet. The record must say the deadline ended it, not the candidate.
    headers = login(client, exam)
    attempt_id = start(client, headers)["attempt_id"]
    clock.advance(timedelta(minutes=10, seconds=settings.save_grace_seconds + 1))
    done = finish(client, headers)
    assert done["status"] == "finished"
    assert stored(db, attempt_id) == ("finished", "deadline", None)
    assert finish_reasons(db, attempt_id) == ["deadline"]


def test_a_finish_within_the_grace_is_the_candidates(client, exam, clock, db, settings):
    headers = login(client, exam)
    attempt_id = start(client, headers)["attempt_id"]
    clock.advance(timedelta(minutes=10, seconds=settings.save_grace_seconds - 1))
    finish(client, headers)
    assert stored(db, attempt_id) == ("finished", "candidate", None)
    assert finish_reasons(db, attempt_id) == ["candidate"]


def test_a_second_finish_changes_nothing(client, exam, clock, db):
    headers = login(client, exam)
    attempt_id = start(client, headers)["attempt_id"]
    first = finish(client, headers)
    clock.advance(timedelta(minutes=30))
    second = finish(client, headers)
    assert second["result"] == first["result"]
    assert finish_reasons(db, attempt_id) == ["candidate"]


def test_finish_before_start_is_refused_as_before(client, exam):
    headers = login(client, exam)
    response = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert response.status_code == 400
    body = response.json()
    assert (body["error"], body["detail"]) == ("BadRequest", "the exam has not been started")


@pytest.mark.parametrize("route_only", [False, True])
def test_saves_at_the_grace_boundary_are_judged_alike_by_both_paths(
    client, exam, clock, settings, route_only
):
    # The answer path's shortcut serves ``application/json``; a ``+json`` media type is left to
    # the FastAPI route, which must give the same verdicts from the same model.
    headers = login(client, exam)
    start(client, headers)

    def save(option, seq):
        body = {"option": option, "flagged": False, "seq": seq}
        if route_only:
            return client.put(
                "/api/v1/attempts/current/responses/1",
                content=json.dumps(body),
                headers={**headers, "Content-Type": "application/merge-patch+json"},
            )
        return client.put("/api/v1/attempts/current/responses/1", json=body, headers=headers)

    # The test clock runs on from the moment it is moved: a second short of the grace's end.
    clock.advance(timedelta(minutes=10, seconds=settings.save_grace_seconds - 1))
    inside = save("A", 1)
    assert inside.status_code == 200, inside.text
    assert inside.json()["remaining_seconds"] == 0
    clock.advance(timedelta(seconds=2))
    late = save("B", 2)
    assert late.status_code == 409
    body = late.json()
    assert (body["error"], body["detail"]) == (
        "DeadlinePassed",
        "the exam time is over; this answer was not saved",
    )


def test_statuses_are_stored_as_the_same_strings(client, exam, db):
    headers = login(client, exam)
    with db.read_session() as session:
        attempt_id = session.execute(text("SELECT max(id) FROM attempts")).scalar_one()
        sitting = session.execute(text("SELECT status FROM sittings")).scalars().all()
    assert stored(db, attempt_id) == ("ready", None, None)
    assert set(sitting) <= {"scheduled", "open", "paused", "closed"}
    start(client, headers)
    assert stored(db, attempt_id) == ("in_progress", None, None)
    finish(client, headers)
    assert stored(db, attempt_id) == ("finished", "candidate", None)
    state = client.get("/api/v1/attempts/current", headers=headers).json()
    clock_view = client.get("/api/v1/attempts/current/clock", headers=headers).json()
    assert state["status"] == clock_view["status"] == "finished"


def test_a_start_racing_a_sitting_pause_waits_for_it_and_is_refused(client, exam, db):
    # An outage pause locks the sitting and stops every running clock. A start that read the
    # sitting as open just before the pause committed used to start a clock the pause never saw
    # (it was not running yet when the pause listed the running attempts): that candidate's
    # time ran on through the outage. The start now reads the sitting under a shared lock.
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite runs one writer at a time: the race needs concurrent writers")
    headers = login(client, exam)
    outcome = {}
    with db.session() as pause:
        pause.execute(
            text("SELECT id FROM sittings WHERE id = :id FOR UPDATE"), {"id": exam.sitting_id}
        )
        pause.execute(
            text("UPDATE sittings SET status = 'paused' WHERE id = :id"), {"id": exam.sitting_id}
        )

        def press_start():
            outcome["response"] = client.post("/api/v1/attempts/current/start", headers=headers)

        racer = threading.Thread(target=press_start)
        racer.start()
        racer.join(timeout=1.0)
        # The start must still be waiting for the pause's transaction.
        assert racer.is_alive(), outcome["response"].text
    racer.join(timeout=10)
    response = outcome["response"]
    assert response.status_code == 409
    body = response.json()
    assert (body["error"], body["detail"]) == (
        "Conflict",
        "the sitting is paused; the exam cannot start now",
    )
    state = client.get("/api/v1/attempts/current", headers=headers).json()
    assert (state["status"], state["remaining_seconds"]) == ("ready", None)


# The envelope each model refusal renders as: the names and statuses clients saw before the
# model for the refusals that existed, the class's own name for the new ones.
ENVELOPES = {
    "DeviceReplaced": ("DeviceReplaced", 401),
    "AttemptNotActive": ("AttemptNotActive", 409),
    "AttemptNotStarted": ("AttemptNotActive", 409),
    "AttemptPaused": ("AttemptPaused", 409),
    "DeadlinePassed": ("DeadlinePassed", 409),
    "AdaptivePosition": ("AdaptivePosition", 409),
    "AdaptiveLocked": ("AdaptiveLocked", 409),
    "NoSuchPosition": ("NotFound", 404),
    "UnknownOption": ("Conflict", 409),
    "SittingNotOpen": ("Conflict", 409),
    "AlreadyStarted": ("AlreadyStarted", 409),
    "FinishBeforeStart": ("BadRequest", 400),
    "AlreadyFinished": ("AlreadyFinished", 409),
    "NotDue": ("NotDue", 409),
    "NotRunning": ("Conflict", 409),
    "TimeOver": ("Conflict", 409),
    "ExtendAfterDeadline": ("ExtendAfterDeadline", 409),
    "InvalidExtension": ("AppError", 400),
    "NotPaused": ("Conflict", 409),
    "SittingPaused": ("Conflict", 409),
    "AlreadyVoided": ("AlreadyVoided", 409),
}


def test_every_model_refusal_renders_with_its_names_and_status():
    from app.services.refusals import as_app_error
    from exam_day import errors

    refusals = {
        name: cls
        for name, cls in vars(errors).items()
        if isinstance(cls, type) and issubclass(cls, errors.ExamDayError)
    }
    refusals.pop("ExamDayError")
    assert set(refusals) == set(ENVELOPES)
    for name, cls in refusals.items():
        # The envelope's ``error`` is the app error's class name, its status the class's.
        app_error = as_app_error(cls("what happened"))
        assert (type(app_error).__name__, app_error.status_code) == ENVELOPES[name], name
        assert app_error.detail == "what happened"
