"""Results verification: every stored result recomputed from its answer history, frozen form
and the exam's current key. A result edited in the database is found and named; a ranking is
not published, and a key not corrected, while any result does not match."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

from app.models.attempt import Attempt, Response, ResponseEvent
from app.models.bank import ItemVersion
from app.models.result import Result
from app.models.staff import Role
from app.services import attempts
from app.services.candidate_tokens import CandidateClaim
from app.services.throttle import Policy
from exam_day import FrozenForm
from tests.support.factory import mini_exam

VERIFY = "/api/v1/exams/MINI/results/verify"


@pytest.fixture
def finished(db, clock, app):
    """Six candidates of the mini exam who answered at random and finished: attempt ids."""
    return finish_candidates(db, clock, app, 6)


def finish_candidates(db, clock, app, candidates: int) -> list[int]:
    """The mini exam with ``candidates`` candidates who answered at random (each answer
    changed once, as the answer path records it) and finished: their attempt ids."""
    exam = mini_exam(db, clock, app.state.secret, candidates=candidates)
    services = app.state.services
    policy = Policy(5, timedelta(minutes=15), timedelta(minutes=15))
    rng = random.Random(20261202)
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
                policy=policy,
                address_policy=policy,
            )
            attempts.start(
                session,
                CandidateClaim(login.attempt_id, login.generation, 0),
                now=clock.now(),
                runtimes=services.runtimes,
            )
        ids.append(login.attempt_id)
    with db.session() as session:
        for attempt_id in ids:
            form = FrozenForm.decode(session.get(Attempt, attempt_id).form)
            for position in range(1, len(form) + 1):
                # A first answer, then (mostly) a change of mind: the newest one counts.
                history = [rng.randrange(5), rng.choice([None, *range(5)])]
                for seq, option in enumerate(history, start=1):
                    session.add(
                        ResponseEvent(
                            attempt_id=attempt_id,
                            position=position,
                            option=option,
                            flagged=False,
                            seq=seq,
                            at=clock.now(),
                            device_generation=1,
                        )
                    )
                session.add(
                    Response(
                        attempt_id=attempt_id,
                        position=position,
                        option=history[-1],
                        flagged=False,
                        seq=len(history),
                        saved_at=clock.now(),
                    )
                )
    for attempt_id in ids:
        with db.session() as session:
            assert attempts.finish(
                session,
                attempt_id,
                reason="candidate",
                now=clock.now(),
                actor="test",
                runtimes=services.runtimes,
                secret=services.secret,
                grace=services.grace,
            )
    return ids


def _edit_result(db, attempt_id: int, **values) -> None:
    with db.session() as session:
        session.execute(update(Result).where(Result.attempt_id == attempt_id).values(**values))


def test_a_clean_exam_verifies(client, staff_headers, finished):
    committee = staff_headers(Role.COMMITTEE)
    response = client.post(VERIFY, headers=committee)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True
    assert body["checked"] == len(finished)
    assert body["mismatches"] == []
    assert body["scoring_revision"] == 0
    assert client.post("/api/v1/exams/MINI/rankings", headers=committee).status_code == 200


def test_edited_results_are_found_and_named_and_publishing_is_refused(
    client, db, staff_headers, finished
):
    committee = staff_headers(Role.COMMITTEE)
    raised, failed, untouched = finished[0], finished[1], finished[2]
    with db.read_session() as session:
        before = session.get(Result, raised)
        total, sections = before.total, dict(before.section_scores)
    # A database administrator adds 5 to one TWK score (and its total) ...
    _edit_result(
        db, raised, total=total + 5, section_scores={**sections, "TWK": sections["TWK"] + 5}
    )
    # ... and flips another candidate's pass without touching a score.
    with db.read_session() as session:
        passed = session.get(Result, failed).passed
    _edit_result(db, failed, passed=not passed)

    body = client.post(VERIFY, headers=committee).json()
    assert body["ok"] is False
    named = {m["attempt_id"]: m for m in body["mismatches"]}
    assert set(named) == {raised, failed}
    assert untouched not in named
    assert named[raised]["stored_total"] == total + 5
    assert named[raised]["recomputed_total"] == total
    assert any(r.startswith("TWK: stored") for r in named[raised]["reasons"])
    assert any(r.startswith("total: stored") for r in named[raised]["reasons"])
    assert named[failed]["stored_passed"] is (not passed)
    assert named[failed]["recomputed_passed"] is passed
    assert any(r.startswith("passed: stored") for r in named[failed]["reasons"])

    refused = client.post("/api/v1/exams/MINI/rankings", headers=committee)
    assert refused.status_code == 409
    envelope = refused.json()
    assert envelope["error"] == "Conflict"
    assert sorted(envelope["mismatched_attempts"]) == sorted([raised, failed])
    assert str(raised) in envelope["detail"]
    assert str(failed) in envelope["detail"]
    assert client.get("/api/v1/public/rankings/MINI").status_code == 404


def test_an_edited_answer_history_is_a_mismatch(client, db, staff_headers, finished):
    committee = staff_headers(Role.COMMITTEE)
    target = finished[3]
    with db.session() as session:
        newest = session.scalars(
            select(ResponseEvent)
            .where(ResponseEvent.attempt_id == target, ResponseEvent.position == 1)
            .order_by(ResponseEvent.seq.desc())
        ).first()
        # An answer that scores differently from the one the result was computed from.
        form = FrozenForm.decode(session.get(Attempt, target).form)
        item = session.get(ItemVersion, form.given(1).item_id)
        points = _points(item)
        current = points[newest.option] if newest.option is not None else 0
        newest.option = next(o for o in range(len(points)) if points[o] != current)
    body = client.post(VERIFY, headers=committee).json()
    assert [m["attempt_id"] for m in body["mismatches"]] == [target]


def _points(item: ItemVersion) -> list[float]:
    if item.scoring == "weighted":
        return [float(o["points"]) for o in item.options]
    return [5.0 if o["label"] == item.key else 0.0 for o in item.options]


def test_a_result_missing_or_never_rescored_is_named(client, db, staff_headers, finished):
    committee = staff_headers(Role.COMMITTEE)
    correction = {"item_code": "TWK-000", "kind": "correct_key", "key": "B", "reason": "kunci"}
    applied = client.post("/api/v1/exams/MINI/corrections", json=correction, headers=committee)
    assert applied.status_code == 200, applied.text
    assert client.post(VERIFY, headers=committee).json()["ok"] is True
    with db.read_session() as session:
        item = session.scalar(select(ItemVersion.id).where(ItemVersion.code == "TWK-000"))
        holder = next(i for i in finished if item in session.get(Attempt, i).item_ids)
        gone = next(i for i in finished if i != holder)
    # A result put back as it was before the correction (revision 0), even where its numbers
    # agree, and a result deleted outright.
    _edit_result(db, holder, scoring_revision=0)
    with db.session() as session:
        session.execute(delete(Result).where(Result.attempt_id == gone))

    body = client.post(VERIFY, headers=committee).json()
    why = {m["attempt_id"]: " ".join(m["reasons"]) for m in body["mismatches"]}
    assert set(why) == {holder, gone}
    assert "before correction 1 (TWK-000 v1)" in why[holder]
    assert "no result is stored" in why[gone]


def test_a_correction_is_refused_while_a_result_does_not_match(client, db, staff_headers, finished):
    committee = staff_headers(Role.COMMITTEE)
    with db.read_session() as session:
        total = session.get(Result, finished[4]).total
    _edit_result(db, finished[4], total=total + 1)
    correction = {"item_code": "TWK-000", "kind": "correct_key", "key": "B", "reason": "kunci"}
    refused = client.post("/api/v1/exams/MINI/corrections", json=correction, headers=committee)
    assert refused.status_code == 409
    assert refused.json()["mismatched_attempts"] == [finished[4]]
    assert "key correction refused" in refused.json()["detail"]
    with db.read_session() as session:
        assert session.scalar(select(Result.scoring_revision).where(Result.total == total + 1)) == 0


def test_an_adaptive_exam_is_recomputed_attempt_by_attempt(client, db, clock, app, staff_headers):
    from tests.api.test_irt_exam import ADAPTIVE_SPEC, build, login

    committee = staff_headers(Role.COMMITTEE)
    pins = build(db, clock, app.state.secret, ADAPTIVE_SPEC, "CAT", 2)
    for nomor, pin in pins.items():
        headers = login(client, nomor, pin)
        client.post("/api/v1/attempts/current/start", headers=headers)
        finished = client.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        )
        assert finished.status_code == 200, finished.text
    clean = client.post("/api/v1/exams/CAT/results/verify", headers=committee).json()
    assert clean["ok"] is True
    assert clean["checked"] == 2
    with db.read_session() as session:
        target, sections = session.execute(select(Result.attempt_id, Result.section_scores)).first()
    _edit_result(db, target, section_scores={**sections, "TIU": sections["TIU"] + 40})
    body = client.post("/api/v1/exams/CAT/results/verify", headers=committee).json()
    assert [m["attempt_id"] for m in body["mismatches"]] == [target]
    assert body["mismatches"][0]["reasons"][0].startswith("TIU: stored")
