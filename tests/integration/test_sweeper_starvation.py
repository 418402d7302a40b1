"""The deadline sweeper never starves: a full batch of due attempts that fail to finish does not
stop it from reaching the attempts due after them, and failing ones are backed off rather than
retried on every round."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from app.models.attempt import Attempt
from app.services.sweeper import Sweeper
from tests.conftest import make_settings
from tests.support.factory import candidate_login, mini_exam, start_attempt

pytestmark = pytest.mark.slow

BATCH = 200
LATER = 3


def test_failing_attempts_do_not_starve_later_ones(database_url, tmp_path, db, clock):
    from fastapi.testclient import TestClient

    from app.main import create_app

    settings = make_settings(database_url, tmp_path / "var", sweeper_interval_seconds=3600.0)
    app = create_app(settings, db=db, clock=clock)
    exam = mini_exam(db, clock, app.state.secret, candidates=BATCH + LATER, duration=10)
    with TestClient(app) as client:
        for pin in exam.pins:
            start_attempt(client, candidate_login(client, exam, pin.nomor_peserta))
        services = app.state.services
        with db.session() as session:
            ids = list(session.scalars(select(Attempt.id).order_by(Attempt.id)))
            assert len(ids) == BATCH + LATER
            broken, later = ids[:BATCH], ids[BATCH:]
            # The broken ones ran out first, so they fill the sweeper's first listing.
            session.execute(
                update(Attempt)
                .where(Attempt.id.in_(broken))
                .values(deadline_at=clock.now() + timedelta(minutes=9))
            )
        clock.advance(timedelta(minutes=11))
        calls: list[int] = []

        def finish_one(attempt_id: int) -> bool:
            calls.append(attempt_id)
            if attempt_id in broken:
                msg = f"attempt {attempt_id} cannot be finished"
                raise RuntimeError(msg)
            return services.finish_due(attempt_id)

        sweeper = Sweeper(
            db, clock, grace=services.grace, interval=2.0, finish_one=finish_one, batch=BATCH
        )
        assert sweeper.sweep_once() == LATER
        assert sorted(calls) == sorted(ids)  # each tried once in the round
        with db.read_session() as session:
            statuses = dict(session.execute(select(Attempt.id, Attempt.status)).all())
        assert all(statuses[i] != "in_progress" for i in later)
        assert all(statuses[i] == "in_progress" for i in broken)

        # The next round does not spend itself on the failing ones: they are backed off.
        calls.clear()
        assert sweeper.sweep_once() == 0
        assert calls == []
