"""The audit log: events chain by hash; tampering is found and named by `ujian audit verify`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, text, update

from app.models.audit import AuditEvent
from app.repositories import audit as audit_repo
from app.services import audit
from tests.conftest import TEST_SECRET
from tests.support.server import ROOT


def _record(db, clock, n, chain=audit.GLOBAL_CHAIN):
    for i in range(n):
        with db.session() as session:
            audit.record(
                session,
                at=clock.now(),
                actor="staff:siti",
                action="exam.publish",
                subject=f"exam:SKD-{i}",
                payload={"version": i, "nama": "Ujian Seleksi"},
                chain=chain,
            )


def _verify_cli(database_url, tmp_path):
    env = {
        **os.environ,
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_VAR_DIR": str(tmp_path),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "audit", "verify"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _event_ids(db):
    with db.read_session() as session:
        return [e.id for e in audit_repo.iter_events(session)]


def test_intact_log_verifies(db, clock, database_url, tmp_path):
    _record(db, clock, 5)
    result = _verify_cli(database_url, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "5 events" in result.stdout


def test_an_edited_event_is_named(db, clock, database_url, tmp_path):
    _record(db, clock, 5)
    target = _event_ids(db)[2]
    with db.engine.begin() as connection:
        connection.execute(
            update(AuditEvent).where(AuditEvent.id == target).values(payload='{"version":99}')
        )
    result = _verify_cli(database_url, tmp_path)
    assert result.returncode == 1
    assert f"event {target} " in result.stderr
    assert "edited" in result.stderr


def test_a_rewritten_hash_breaks_the_next_link(db, clock, database_url, tmp_path):
    _record(db, clock, 4)
    ids = _event_ids(db)
    with db.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(hash="f" * 64))
    result = _verify_cli(database_url, tmp_path)
    assert result.returncode == 1
    assert f"event {ids[1]} " in result.stderr


def test_a_removed_event_is_found(db, clock):
    _record(db, clock, 5)
    ids = _event_ids(db)
    with db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.id == ids[2]))
    with db.read_session() as session:
        result = audit.verify(session)
    assert not result.intact
    assert result.breaks[0].event_id == ids[3]
    assert "missing" in result.breaks[0].reason


def test_a_truncated_tail_is_found(db, clock):
    _record(db, clock, 5)
    ids = _event_ids(db)
    with db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.id == ids[-1]))
    with db.read_session() as session:
        result = audit.verify(session)
    assert not result.intact
    assert "removed from the end" in result.breaks[0].reason


def test_an_event_rolled_back_with_its_change_leaves_no_trace(db, clock):
    with pytest.raises(RuntimeError), db.session() as session:
        audit.record(session, at=clock.now(), actor="a", action="x", subject="s")
        raise RuntimeError("the change failed")
    with db.read_session() as session:
        assert audit.verify(session).events == 0


def test_concurrent_writers_never_fork_a_chain(db, clock):
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        try:
            for i in range(15):
                with db.session() as session:
                    audit.record(
                        session,
                        at=clock.now() + timedelta(microseconds=i),
                        actor=f"w{k}",
                        action="test.write",
                        subject=f"s{i}",
                        chain="sitting:1" if k % 2 else audit.GLOBAL_CHAIN,
                    )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.read_session() as session:
        result = audit.verify(session)
        seqs = session.execute(
            text("SELECT chain, COUNT(*), MAX(seq) FROM audit_events GROUP BY chain ORDER BY chain")
        ).all()
    assert result.intact, result.breaks
    assert [(c, n, m) for c, n, m in seqs] == [("global", 45, 45), ("sitting:1", 45, 45)]


def test_a_replay_of_an_attempt_being_sat_is_refused_and_a_finished_one_is_audited(
    client, db, clock, app, staff_headers
):
    from sqlalchemy import select

    from app.models.audit import AuditEvent
    from app.models.staff import Role
    from tests.support.factory import mini_exam

    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    committee = staff_headers(Role.COMMITTEE)
    login = client.post(
        "/api/v1/candidate/login",
        json={"nomor_peserta": "2026000001", "pin": exam.pin_of("2026000001")},
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    attempt_id = client.post("/api/v1/attempts/current/start", headers=headers).json()["attempt_id"]
    live = client.get(f"/api/v1/attempts/{attempt_id}/replay", headers=committee)
    assert live.status_code == 409
    assert "still being sat" in live.json()["detail"]
    assert "key" not in live.text.replace("keys", "")

    client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers)
    done = client.get(f"/api/v1/attempts/{attempt_id}/replay", headers=committee)
    assert done.status_code == 200, done.text
    with db.read_session() as session:
        views = [
            (e.actor, e.at)
            for e in session.scalars(
                select(AuditEvent).where(
                    AuditEvent.chain == audit.attempt_chain(attempt_id),
                    AuditEvent.action == "attempt.replay_viewed",
                )
            )
        ]
        assert audit.verify(session).intact
    assert len(views) == 1
    assert views[0][0] == done.json()["viewer"]
    assert views[0][0].startswith("staff:")
