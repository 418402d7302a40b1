"""A small exam-day rehearsal on the suite's database: real server processes (one on SQLite,
two on PostgreSQL), 30 candidates in a one-minute exam with a proctor's pause, a SIGKILL and
a restart, and PCs that die mid-exam whose candidates move only once the proctor approves;
afterwards no acknowledged answer may be missing, every attempt must be finished and scored,
and the published ranking must equal a recount from the raw answer history. The same checks,
fed a lost answer, a wrong one, a phantom one or a reordered ranking, must fail."""

from __future__ import annotations

import copy
import dataclasses

import pytest

from bench.exam_day import Config, rehearse
from bench.exam_day_verify import Verdict, check_answers, check_ranking, load

pytestmark = pytest.mark.slow


def test_exam_day_rehearsal_loses_nothing_and_ranks_exactly(database_url, db, tmp_path):
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    done = rehearse(
        Config(
            backend=backend,
            url=database_url,
            workdir=tmp_path,
            candidates=30,
            duration=1,
            window=3,
            think=0.6,
            pause_for=2,
            clients=1,
            replays=10,
            extra_minutes=0,  # the accommodation would double a one-minute exam
            move_share=0.2,  # several PCs die; each move waits for the proctor's approval
            seed=7,
        )
    )
    report = done.report

    assert report["failures"] == []
    checks = report["checks"]
    outcomes = report["outcomes"]
    # The rehearsal did what it claims: a kill that cut requests, a pause that refused saves
    # and moved deadlines, candidates who finished and candidates whose time ran out.
    assert report["timeline"]["kills"]
    assert sum(outcomes.get("kill_window", {}).values()) > 0
    assert sum(outcomes.get("paused_409", {}).values()) > 0
    assert checks["attempts_paused"] > 0
    assert outcomes.get("errors_outside", {}) == {}
    assert set(checks["finish_reasons"]) == {"candidate", "deadline"}
    assert checks["attempts"] == {"finished": 30 - checks["absent"]}
    assert checks["lost"] == checks["wrong"] == checks["phantom"] == 0
    assert checks["positions_checked"] > 500
    assert checks["ranking_rows_compared"] == 30
    assert "TH" in checks["ranking_statuses"]
    assert "T/L" in checks["ranking_statuses"]
    assert checks["replays_checked"] == 10
    assert report["candidates"]["reloads"]
    assert report["candidates"]["drops"]
    # Every PC that died was replaced only by the proctor's approval, nothing lost meanwhile.
    moves = report["candidates"]["moves"]
    assert moves > 0
    assert report["candidates"]["moves_waited"] == moves
    assert report["candidates"]["moves_approved"] == moves
    assert report["timeline"]["moves_approved"] == moves

    # The checks can fail: tamper with what the candidates were told, and with the ranking.
    state = load(done.prepared, tmp_path / "var")
    by_nomor = {o.nomor: o for o in done.outcomes}
    nomor, outcome = next(
        (n, o) for n, o in by_nomor.items() if len(o.acked) >= 3 and not o.unknown
    )
    (lost_at, lost), (wrong_at, wrong), (phantom_at, _) = list(outcome.acked.items())[:3]
    tampered = dataclasses.replace(outcome, acked=dict(outcome.acked), unknown={})
    tampered.acked[lost_at] = (lost[0] + 10_000, lost[1], lost[2])
    tampered.acked[wrong_at] = (wrong[0], "E" if wrong[1] != "E" else "A", wrong[2])
    del tampered.acked[phantom_at]
    verdict = Verdict()
    check_answers(verdict, state, {**by_nomor, nomor: tampered})
    assert verdict.facts["lost"] == verdict.facts["wrong"] == verdict.facts["phantom"] == 1

    published = copy.deepcopy(done.published)
    assert published is not None
    rows = max((view["rows"] for view in published["formations"]), key=len)
    rows[0], rows[-1] = rows[-1], rows[0]
    verdict = Verdict()
    check_ranking(verdict, state, done.prepared, published)
    assert any(f.startswith("RANKING") for f in verdict.failures)
