"""Finishing is exactly-once under concurrency: double submits, racing sweepers, a submit
racing the deadline all give one finished attempt with one result and one audit event."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.main import create_app
from app.models.audit import AuditEvent
from app.models.result import Result
from app.services import attempts
from app.services.candidate_tokens import CandidateClaim
from tests.support.factory import mini_exam


@pytest.fixture
def started(db, clock, app):
    """Three candidates with started attempts; returns (services, [attempt ids])."""
    exam = mini_exam(db, clock, app.state.secret, candidates=3)
    services = app.state.services
    ids = []
    for pin in exam.pins:
        with db.session() as session:
            login = attempts.candidate_login(
                session,
                nomor_peserta=pin.nomor_peserta,
                pin=pin.pin,
                now=clock.now(),
                client="test",
                secret=services.secret,
                tokens=services.tokens,
                policy=_policy(),
                address_policy=_policy(),
            )
        claim = CandidateClaim(login.attempt_id, login.generation, 0)
        with db.session() as session:
            attempts.start(session, claim, now=clock.now(), runtimes=services.runtimes)
        ids.append(login.attempt_id)
    return services, ids


def _policy():
    from app.services.throttle import Policy

    return Policy(5, timedelta(minutes=15), timedelta(minutes=15))


def _finish(services, attempt_id, reason):
    with services.db.session() as session:
        return attempts.finish(
            session,
            attempt_id,
            reason=reason,
            now=services.clock.now(),
            actor="test",
            runtimes=services.runtimes,
            secret=services.secret,
            grace=services.grace,
        )


def _run_together(functions):
    barrier = threading.Barrier(len(functions))
    outcomes: list[object] = [None] * len(functions)

    def runner(index, fn):
        barrier.wait()
        try:
            outcomes[index] = fn()
        except BaseException as exc:
            outcomes[index] = exc

    threads = [threading.Thread(target=runner, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _counts(db, attempt_id):
    with db.read_session() as session:
        results = session.scalar(
            select(func.count()).select_from(Result).where(Result.attempt_id == attempt_id)
        )
        finishes = session.scalar(
            select(func.count())
            .select_from(AuditEvent)
            .where(
                AuditEvent.action == "attempt.finish", AuditEvent.subject == f"attempt:{attempt_id}"
            )
        )
    return results, finishes


def test_double_submit_finishes_once(db, started):
    services, ids = started
    outcomes = _run_together([lambda: _finish(services, ids[0], "candidate")] * 4)
    assert sorted(outcomes, key=str) == [False, False, False, True]
    assert _counts(db, ids[0]) == (1, 1)


def test_submit_racing_the_deadline_sweep_finishes_once(db, clock, started):
    services, ids = started
    clock.advance(timedelta(minutes=10, seconds=services.settings.save_grace_seconds + 1))
    outcomes = _run_together(
        [
            lambda: _finish(services, ids[1], "candidate"),
            lambda: _finish(services, ids[1], "deadline"),
        ]
    )
    assert sorted(outcomes) == [False, True]
    assert _counts(db, ids[1]) == (1, 1)


def test_two_processes_sweeping_finish_each_attempt_once(db, clock, started, settings):
    services, ids = started
    # A second "process": its own app, caches and sweeper on the same database.
    other = create_app(settings, db=services.db, clock=clock).state.services
    clock.advance(timedelta(minutes=11))
    outcomes = _run_together([services.sweeper.sweep_once, other.sweeper.sweep_once])
    assert sum(outcomes) == 3  # three attempts, each finished by exactly one sweeper
    for attempt_id in ids:
        assert _counts(db, attempt_id) == (1, 1)


def test_a_save_racing_the_finish_is_either_in_the_score_or_refused(db, clock, started, client):
    from app.services.autosave import SaveRequest

    services, ids = started
    attempt_id = ids[2]
    with db.read_session() as session:
        from app.models.attempt import Attempt

        generation = session.get(Attempt, attempt_id).device_generation
    services.writer.start()
    future_box = {}

    def save():
        future_box["f"] = services.writer.submit(
            SaveRequest(attempt_id, generation, position=1, option="A", flagged=False, seq=1)
        )
        try:
            return future_box["f"].result(timeout=10).applied
        except Exception as exc:
            return type(exc).__name__

    outcomes = _run_together([save, lambda: _finish(services, attempt_id, "candidate")])
    with db.read_session() as session:
        from app.models.attempt import Response

        stored = session.scalars(select(Response).where(Response.attempt_id == attempt_id)).all()
        stored_count = len(stored)
    assert outcomes[1] is True
    # Either the save committed before the finish (and is part of the scored answers) or it
    # was refused because the attempt had finished; never stored after the finish.
    assert (outcomes[0], stored_count) in ((True, 1), ("AttemptNotActive", 0))
