"""Key corrections racing finishes: whatever the interleaving, every attempt ends scored with
the exam's latest scoring revision (a finish committing after a correction scores with the new
key; a correction rescores every attempt finished before it).

The first test drives two real server processes on one database with finishes and corrections
fired together, round after round; the others force each order of the two transactions.
"""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.result import Result
from app.models.staff import Role
from app.services import attempts, corrections, verification
from app.services.candidate_tokens import CandidateClaim
from app.services.throttle import Policy
from exam_day import FrozenForm
from tests.conftest import TEST_SECRET
from tests.support.factory import MiniExam, mini_exam
from tests.support.server import running_server

#: The corrected item sits on about half the forms (3 of the bank's 6 TWK items per form).
ITEM = "TWK-000"
#: Each correction moves the key between A (every candidate's answer) and B, so every one
#: changes the score of every attempt holding the item.
KEYS = "BA"


def _answer_everything_with_option_a(db, attempt_ids: list[int], clock) -> None:
    """Every position answered with original option 0 (the bank's A, the key of every TWK
    item), written as the answer path writes it: the current answer and its history event."""
    now = clock.now()
    with db.session() as session:
        for attempt_id in attempt_ids:
            form = FrozenForm.decode(session.get(Attempt, attempt_id).form)
            for position in range(1, len(form) + 1):
                session.add(
                    Response(
                        attempt_id=attempt_id,
                        position=position,
                        option=0,
                        flagged=False,
                        seq=position,
                        saved_at=now,
                    )
                )
                session.add(
                    ResponseEvent(
                        attempt_id=attempt_id,
                        position=position,
                        option=0,
                        flagged=False,
                        seq=position,
                        at=now,
                        device_generation=1,
                    )
                )


def _assert_every_result_matches_the_latest_key(db, expected_revision: int) -> None:
    with db.session() as session:
        report = verification.verify(session, "MINI")
        holders = [
            r.scoring_revision
            for r, form in session.execute(
                select(Result, Attempt.item_ids).join(Attempt, Attempt.id == Result.attempt_id)
            )
            if form is not None and _item_id(session) in form
        ]
    assert report.checked > 0
    assert report.ok, [(m.attempt_id, m.why) for m in report.mismatches]
    assert report.scoring_revision == expected_revision
    assert holders
    assert set(holders) == {expected_revision}


def _item_id(session) -> int:
    from app.models.bank import ItemVersion

    return session.scalar(select(ItemVersion.id).where(ItemVersion.code == ITEM))


@pytest.mark.slow
def test_finishes_and_corrections_on_two_processes_end_on_the_latest_key(
    db, clock, app, database_url, tmp_path, make_staff
):
    rounds, per_round = 6, 10
    exam = mini_exam(db, clock, TEST_SECRET.encode(), candidates=rounds * per_round, duration=60)
    username, password = make_staff(Role.COMMITTEE, None)
    env = {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
    }
    with running_server(env, tmp_path) as one, running_server(env, tmp_path) as two:
        servers = [one.url, two.url]
        committee = {
            "Authorization": "Bearer "
            + httpx.post(
                f"{one.url}/api/v1/auth/token",
                json={"username": username, "password": password},
                timeout=10,
            ).json()["access_token"]
        }
        # Logged in and started in this process (the same database and secret): the race is
        # between the finishes and the corrections the two servers handle.
        candidates = [
            (attempt_id, {"Authorization": f"Bearer {token}"})
            for attempt_id, token in _log_in_and_start(db, clock, app, exam)
        ]
        _answer_everything_with_option_a(db, [a for a, _h in candidates], clock)

        jitter = random.Random(15)
        for round_ in range(rounds):
            batch = [h for _a, h in candidates[round_ * per_round : (round_ + 1) * per_round]]
            refused = _race_round(
                servers, committee, batch, KEYS[round_ % len(KEYS)], round_ % 2, jitter
            )
            assert refused == []

    _assert_every_result_matches_the_latest_key(db, rounds)


def _race_round(
    servers: list[str],
    committee: dict[str, str],
    batch: list[dict[str, str]],
    key: str,
    correcting_server: int,
    jitter: random.Random,
) -> list[tuple[str, int, str]]:
    """Finish every candidate of ``batch`` (alternating servers, spread over 0.3 s) while a
    correction to ``key`` is applied; returns the requests that were not answered 200."""
    barrier = threading.Barrier(len(batch) + 1)
    failed: list[tuple[str, int, str]] = []

    def post(what: str, url: str, body: dict[str, object], headers: dict[str, str], delay: float):
        barrier.wait()
        time.sleep(delay)
        response = httpx.post(url, json=body, headers=headers, timeout=60)
        if response.status_code != 200:
            failed.append((what, response.status_code, response.text))

    threads = [
        threading.Thread(
            target=post,
            args=(
                "finish",
                f"{servers[i % 2]}/api/v1/attempts/current/finish",
                {"confirm": True},
                headers,
                jitter.uniform(0, 0.3),
            ),
        )
        for i, headers in enumerate(batch)
    ]
    correction = {"item_code": ITEM, "kind": "correct_key", "key": key, "reason": "kunci"}
    threads.append(
        threading.Thread(
            target=post,
            args=(
                "correction",
                f"{servers[correcting_server]}/api/v1/exams/MINI/corrections",
                correction,
                committee,
                0.05,
            ),
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return failed


# The two orders, forced: one transaction is held open while the other starts.


def _log_in_and_start(db, clock, app, exam: MiniExam) -> list[tuple[int, str]]:
    """Every candidate of ``exam`` logged in and started: (attempt id, candidate token)."""
    services = app.state.services
    policy = Policy(5, timedelta(minutes=15), timedelta(minutes=15))
    out = []
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
                policy=policy,
                address_policy=policy,
            )
            attempts.start(
                session,
                CandidateClaim(login.attempt_id, login.generation, 0),
                now=clock.now(),
                runtimes=services.runtimes,
            )
        out.append((login.attempt_id, login.access_token))
    return out


def _started(db, clock, app) -> tuple[MiniExam, list[int]]:
    exam = mini_exam(db, clock, app.state.secret, candidates=8)
    ids = [attempt_id for attempt_id, _token in _log_in_and_start(db, clock, app, exam)]
    _answer_everything_with_option_a(db, ids, clock)
    return exam, ids


def _finish(services, session, attempt_id: int) -> bool:
    return attempts.finish(
        session,
        attempt_id,
        reason="candidate",
        now=services.clock.now(),
        actor="test",
        runtimes=services.runtimes,
        secret=services.secret,
        grace=services.grace,
    )


def _correct(session, key: str, clock) -> corrections.CorrectionPlan:
    return corrections.correct(
        session,
        "MINI",
        corrections.CorrectionRequest(item_code=ITEM, kind="correct_key", key=key, reason="kunci"),
        secret=TEST_SECRET.encode(),
        actor="test",
        now=clock.now(),
        apply=True,
    )


def _in_thread(fn) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(fn())
        except BaseException as exc:  # handed to the test's assertions
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _holders(db, ids: list[int]) -> list[int]:
    with db.read_session() as session:
        item = _item_id(session)
        return [i for i in ids if item in (session.get(Attempt, i).item_ids or [])]


def test_a_correction_waits_for_a_finish_in_progress_and_rescores_it(db, clock, app):
    _exam, ids = _started(db, clock, app)
    services = app.state.services
    target = _holders(db, ids)[0]
    with db.session() as finishing:
        assert _finish(services, finishing, target)
        # The finish has scored with the old key and not committed: the correction must wait
        # for it, then see it among the attempts to rescore.
        thread, outcome = _in_thread(lambda: _run_correction(db, "B", clock))
        time.sleep(1.0)
        assert thread.is_alive(), outcome
    thread.join(timeout=60)
    assert len(outcome) == 1
    assert not isinstance(outcome[0], BaseException), outcome
    with db.read_session() as session:
        result = session.get(Result, target)
        assert result.scoring_revision == 1
    _assert_every_result_matches_the_latest_key(db, 1)


def test_a_finish_during_a_correction_scores_with_the_new_key(db, clock, app):
    _exam, ids = _started(db, clock, app)
    services = app.state.services
    target = _holders(db, ids)[0]
    # One attempt finished before, so the correction has something to rescore.
    other = _holders(db, ids)[1]
    with db.session() as session:
        assert _finish(services, session, other)
    with db.session() as correcting:
        plan = _correct(correcting, "B", clock)
        assert plan.applied
        # The correction holds the exam's scoring revision: the finish must wait for it and
        # then score with key B.
        thread, outcome = _in_thread(lambda: _run_finish(db, services, target))
        time.sleep(1.0)
        assert thread.is_alive(), outcome
    thread.join(timeout=60)
    assert outcome == [True]
    with db.read_session() as session:
        result = session.get(Result, target)
        assert result.scoring_revision == 1
        # Every position answered A; the corrected item (key now B) earns nothing.
        assert result.section_scores["TWK"] == 10
    _assert_every_result_matches_the_latest_key(db, 1)


def _run_correction(db, key: str, clock) -> corrections.CorrectionPlan:
    with db.session() as session:
        return _correct(session, key, clock)


def _run_finish(db, services, attempt_id: int) -> bool:
    with db.session() as session:
        return _finish(services, session, attempt_id)
