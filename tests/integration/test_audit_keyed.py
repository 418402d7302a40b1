"""Attacks on the audit log by someone who can write the database: each one is found and named.

The chains are HMACs under a sub-key of the server secret, attempt chains are anchored in their
sitting's chain, a registry names every chain, and a signed anchor file kept off the server
catches even a rewrite by someone who holds the secret.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from sqlalchemy import delete, select, update

from app.models.audit import AuditChain, AuditEvent, AuditHead
from app.repositories import audit as audit_repo
from app.services import audit
from tests.conftest import TEST_SECRET
from tests.integration.test_migrations import fresh_url  # noqa: F401 - a fixture
from tests.support.factory import mini_exam
from tests.support.server import ROOT


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=2)


def _sit(client, exam, nomor):
    """Log in, start and finish: the attempt's chain has login, start, finish."""
    login = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    )
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    started = client.post("/api/v1/attempts/current/start", headers=headers)
    assert started.status_code == 200, started.text
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200, finished.text
    return started.json()["attempt_id"]


def _cli(database_url, tmp_path, *args):
    env = {
        **os.environ,
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
    }
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _verify(db, **kwargs):
    with db.read_session() as session:
        return audit.verify(session, **kwargs)


def _rehash_chain(db, chain, hasher):
    """Recompute a whole chain after an edit, as someone with database access would."""
    with db.engine.begin() as connection:
        rows = connection.execute(
            select(AuditEvent).where(AuditEvent.chain == chain).order_by(AuditEvent.seq)
        ).all()
        prev = audit_repo.GENESIS_HASH
        for row in rows:
            digest = hasher(
                prev, row.chain, row.seq, row.at, row.actor, row.action, row.subject, row.payload
            )
            connection.execute(
                update(AuditEvent)
                .where(AuditEvent.id == row.id)
                .values(prev_hash=prev, hash=digest)
            )
            prev = digest
        connection.execute(update(AuditHead).where(AuditHead.chain == chain).values(hash=prev))


def test_an_attempt_chain_is_anchored_in_its_sitting_at_its_first_event_and_finish(
    db, client, exam
):
    attempt_id = _sit(client, exam, "2026000001")
    chain = audit.attempt_chain(attempt_id)
    with db.read_session() as session:
        anchors = [
            json.loads(a.payload)
            for a in session.scalars(
                select(AuditEvent)
                .where(AuditEvent.chain == audit.sitting_chain(exam.sitting_id))
                .where(AuditEvent.action == "audit.anchor")
                .order_by(AuditEvent.seq)
            )
        ]
        events = {
            e.seq: (e.action, e.hash)
            for e in session.scalars(select(AuditEvent).where(AuditEvent.chain == chain))
        }
        registered = session.get(AuditChain, chain)
        anchored_in = registered.anchored_in if registered else None
    assert [a["seq"] for a in anchors] == [1, 3]
    assert [a["hash"] for a in anchors] == [events[1][1], events[3][1]]
    assert events[3][0] == "attempt.finish"
    assert anchored_in == audit.sitting_chain(exam.sitting_id)
    assert _verify(db).intact


def test_a_wholly_deleted_attempt_chain_is_named(db, client, exam, database_url, tmp_path):
    kept = _sit(client, exam, "2026000001")
    gone = _sit(client, exam, "2026000002")
    chain = audit.attempt_chain(gone)
    with db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.chain == chain))
        connection.execute(delete(AuditHead).where(AuditHead.chain == chain))
    result = _cli(database_url, tmp_path, "audit", "verify")
    assert result.returncode == 1, result.stdout
    assert f"chain {chain}" in result.stderr
    assert "deleted" in result.stderr
    assert audit.attempt_chain(kept) not in result.stderr


def test_a_deleted_chain_is_named_even_without_its_registry_row(db, client, exam):
    gone = _sit(client, exam, "2026000002")
    chain = audit.attempt_chain(gone)
    with db.engine.begin() as connection:
        connection.execute(delete(AuditEvent).where(AuditEvent.chain == chain))
        connection.execute(delete(AuditHead).where(AuditHead.chain == chain))
        connection.execute(delete(AuditChain).where(AuditChain.chain == chain))
    result = _verify(db)
    assert not result.intact
    broken = [b for b in result.breaks if b.chain == chain]
    assert broken, result.breaks
    assert f"sitting:{exam.sitting_id}" in broken[0].reason
    assert "deleted" in broken[0].reason


def test_an_edit_with_recomputed_plain_hashes_is_named(db, client, exam, database_url, tmp_path):
    attempt_id = _sit(client, exam, "2026000001")
    chain = audit.attempt_chain(attempt_id)
    with db.engine.begin() as connection:
        login = connection.execute(
            select(AuditEvent.id).where(AuditEvent.chain == chain, AuditEvent.seq == 1)
        ).scalar_one()
        connection.execute(
            update(AuditEvent)
            .where(AuditEvent.id == login)
            .values(payload='{"client":"10.0.0.99","generation":1}')
        )
    _rehash_chain(db, chain, audit_repo.unkeyed_event_hash)
    result = _cli(database_url, tmp_path, "audit", "verify")
    assert result.returncode == 1
    assert f"event {login} (chain {chain}, seq 1)" in result.stderr
    assert "edited" in result.stderr


def test_a_rewrite_with_the_key_is_caught_by_the_anchor_in_the_sitting_chain(db, client, exam):
    attempt_id = _sit(client, exam, "2026000001")
    chain = audit.attempt_chain(attempt_id)
    key = audit.audit_key()
    with db.engine.begin() as connection:
        connection.execute(
            update(AuditEvent)
            .where(AuditEvent.chain == chain, AuditEvent.seq == 1)
            .values(payload='{"client":"10.0.0.99","generation":1}')
        )
    _rehash_chain(db, chain, lambda *fields: audit_repo.event_hash(key, *fields))
    result = _verify(db)
    assert not result.intact
    assert result.breaks[0].chain == chain
    assert result.breaks[0].seq == 1
    assert f"anchor in chain sitting:{exam.sitting_id}" in result.breaks[0].reason


def test_reordered_events_are_named(db, clock):
    for i in range(4):
        with db.session() as session:
            audit.record(session, at=clock.now(), actor="a", action="x", subject=f"s{i}")
    with db.engine.begin() as connection:
        ids = (
            connection.execute(
                select(AuditEvent.id).where(AuditEvent.chain == "global").order_by(AuditEvent.seq)
            )
            .scalars()
            .all()
        )
        connection.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(seq=99))
        connection.execute(update(AuditEvent).where(AuditEvent.id == ids[2]).values(seq=2))
        connection.execute(update(AuditEvent).where(AuditEvent.id == ids[1]).values(seq=3))
    result = _verify(db)
    assert not result.intact
    assert result.breaks[0].event_id == ids[2]


def test_anchor_file_catches_a_rewrite_by_someone_holding_the_secret(
    db, clock, database_url, tmp_path
):
    for i in range(5):
        with db.session() as session:
            audit.record(session, at=clock.now(), actor="a", action="x", subject=f"s{i}")
    anchor = tmp_path / "anchor.json"
    made = _cli(database_url, tmp_path, "audit", "anchor", "--out", str(anchor))
    assert made.returncode == 0, made.stderr
    assert _cli(database_url, tmp_path, "audit", "verify", "--against", str(anchor)).returncode == 0
    with db.session() as session:
        audit.record(session, at=clock.now(), actor="a", action="x", subject="after the anchor")
    still = _cli(database_url, tmp_path, "audit", "verify", "--against", str(anchor))
    assert still.returncode == 0, still.stderr

    key = audit.audit_key()
    with db.engine.begin() as connection:
        target = connection.execute(
            select(AuditEvent.id).where(AuditEvent.chain == "global", AuditEvent.seq == 2)
        ).scalar_one()
        connection.execute(
            update(AuditEvent).where(AuditEvent.id == target).values(actor="someone else")
        )
    _rehash_chain(db, "global", lambda *fields: audit_repo.event_hash(key, *fields))
    assert _cli(database_url, tmp_path, "audit", "verify").returncode == 0  # the secret helps
    caught = _cli(database_url, tmp_path, "audit", "verify", "--against", str(anchor))
    assert caught.returncode == 1
    said = " ".join(caught.stderr.split())
    assert "chain global, seq 5" in said
    assert f"the anchor file {anchor}" in said


def test_a_forged_anchor_file_is_refused(db, clock, database_url, tmp_path):
    with db.session() as session:
        audit.record(session, at=clock.now(), actor="a", action="x", subject="s")
    anchor = tmp_path / "anchor.json"
    assert _cli(database_url, tmp_path, "audit", "anchor", "--out", str(anchor)).returncode == 0
    document = json.loads(anchor.read_text())
    body = json.loads(document["payload"])
    body["heads"]["global"]["hash"] = hashlib.sha256(b"forged").hexdigest()
    document["payload"] = json.dumps(body)
    anchor.write_text(json.dumps(document))
    refused = _cli(database_url, tmp_path, "audit", "verify", "--against", str(anchor))
    assert refused.returncode == 1
    assert "signature does not match" in " ".join(refused.stderr.split())


def test_the_audit_key_is_not_the_server_secret_nor_in_the_database(db, clock):
    with db.session() as session:
        audit.record(session, at=clock.now(), actor="a", action="x", subject="s")
    with db.read_session() as session:
        event = session.scalars(select(AuditEvent)).one()
        plain = audit_repo.unkeyed_event_hash(
            event.prev_hash,
            event.chain,
            event.seq,
            event.at,
            event.actor,
            event.action,
            event.subject,
            event.payload,
        )
        assert event.hash != plain
    assert not _verify(db, key=b"another secret's key").intact


def test_old_style_chains_are_rechained_once_under_the_key(fresh_url, tmp_path):  # noqa: F811
    from datetime import UTC, datetime, timedelta

    from app import migrate
    from app.db import connect
    from tests.conftest import make_settings

    # `ujian db upgrade` derives the audit key from the configured secret, as this does.
    audit.use_secret(TEST_SECRET.encode())
    db = connect(make_settings(fresh_url, tmp_path / "var"), fresh_url)
    try:
        migrate.upgrade(db.engine, "20261128_04")
        start = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
        with db.engine.begin() as connection:
            for chain in ("global", "attempt:7"):
                prev = audit_repo.GENESIS_HASH
                for seq in range(1, 4):
                    at = start + timedelta(seconds=seq)
                    fields = (prev, chain, seq, at, "staff:siti", "x", f"s{seq}", "{}")
                    digest = audit_repo.unkeyed_event_hash(*fields)
                    connection.execute(
                        AuditEvent.__table__.insert().values(
                            chain=chain,
                            seq=seq,
                            at=at,
                            actor="staff:siti",
                            action="x",
                            subject=f"s{seq}",
                            payload="{}",
                            prev_hash=prev,
                            hash=digest,
                        )
                    )
                    prev = digest
                connection.execute(
                    AuditHead.__table__.insert().values(chain=chain, seq=3, hash=prev)
                )
        migrate.upgrade(db.engine)
        with db.read_session() as session:
            result = audit.verify(session)
            rechained = session.scalars(
                select(AuditEvent).where(AuditEvent.action == "audit.rechained")
            ).all()
            payloads = [json.loads(e.payload) for e in rechained]
            chains = set(session.scalars(select(AuditChain.chain)))
        assert result.intact, result.breaks
        assert result.events == 7
        assert [(p["events"], p["chains"]) for p in payloads] == [(6, 2)]
        assert chains == {"global", "attempt:7"}

        migrate.downgrade(db.engine, "20261128_04")
        with db.engine.connect() as connection:
            rows = connection.execute(
                select(AuditEvent).where(AuditEvent.chain == "attempt:7").order_by(AuditEvent.seq)
            ).all()
        prev = audit_repo.GENESIS_HASH
        for row in rows:
            assert row.prev_hash == prev
            prev = audit_repo.unkeyed_event_hash(
                prev,
                row.chain,
                row.seq,
                row.at.replace(tzinfo=UTC) if row.at.tzinfo is None else row.at,
                row.actor,
                row.action,
                row.subject,
                row.payload,
            )
            assert row.hash == prev
    finally:
        db.dispose()
