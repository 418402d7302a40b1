"""The JSON bodies committee and admin scripts read, pinned key by key.

These routes gained response models; a script written against the bodies before must read the
same keys, nesting and values after. Each test pins a whole body's shape (exact key sets at
every level) and the values worked out by hand, and checks that ``/openapi.json`` describes it.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime

import pytest

from app.models.calibration import Calibration
from app.models.staff import Role
from tests.support.factory import bank_json, mini_exam, take_exam

HEX64 = re.compile(r"^[0-9a-f]{64}$")
IMPORT_KEYS = (
    "created",
    "new_versions",
    "unchanged",
    "errors",
    "dry_run",
    "stored",
    "media",
    "by_section",
)
ATTEMPT_KEYS = {
    "attempt_id",
    "pseudonym",
    "old_total",
    "new_total",
    "old_sections",
    "new_sections",
    "old_passed",
    "new_passed",
}
PLAN_KEYS = {
    "exam",
    "exam_version",
    "item",
    "action",
    "reason",
    "applied",
    "scoring_revision",
    "attempts_with_item",
    "attempts_changed",
    "pass_changes",
    "attempts",
    "ranking_changes",
}
MOVE_KEYS = {"pseudonym", "old_rank", "new_rank", "old_status", "new_status", "reason"}


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


@pytest.fixture
def admin(staff_headers):
    return staff_headers(Role.ADMIN)


def documented_schema(client, method: str, path: str) -> dict:
    """The 200 body schema the OpenAPI document gives for one operation."""
    operation = client.get("/openapi.json").json()["paths"][path][method]
    return operation["responses"]["200"]["content"]["application/json"]["schema"]


def test_ranking_publication_and_key_correction_bodies(client, db, clock, app, committee):
    exam = mini_exam(db, clock, app.state.secret, candidates=2)
    # Candidate 1: every TWK item "B" (wrong under key A), TKP best: 0 + 10 = 10, T/L.
    first = take_exam(client, exam, "2026000001", committee, {"TWK": "label:B", "TKP": "key"})
    take_exam(client, exam, "2026000002", committee, {"TWK": "key", "TKP": "key"})

    published = client.post("/api/v1/exams/MINI/rankings", headers=committee)
    assert published.status_code == 200, published.text
    [snapshot] = published.json()
    assert set(snapshot) == {"formation", "outcome", "number", "content_hash", "changes"}
    assert (snapshot["formation"], snapshot["outcome"], snapshot["number"]) == (
        "F1",
        "published",
        1,
    )
    assert HEX64.match(snapshot["content_hash"])
    assert snapshot["changes"] == 0
    again = client.post("/api/v1/exams/MINI/rankings", headers=committee).json()
    assert again == [{**snapshot, "outcome": "unchanged"}]

    replay = client.get(f"/api/v1/attempts/{first['attempt_id']}/replay", headers=committee)
    item = next(i["item"] for i in replay.json()["items"] if i["section"] == "TWK").split(" ")[0]
    body = {"item_code": item, "kind": "correct_key", "key": "B", "reason": "kunci keliru"}
    dry = client.post("/api/v1/exams/MINI/corrections/dry-run", json=body, headers=committee)
    assert dry.status_code == 200, dry.text
    plan = dry.json()
    assert set(plan) == PLAN_KEYS
    assert (plan["exam"], plan["exam_version"], plan["item"]) == ("MINI", 1, f"{item} v1")
    assert plan["action"] == {"kind": "correct_key", "key": "B", "key_index": 1}
    assert (plan["reason"], plan["applied"], plan["scoring_revision"]) == (
        "kunci keliru",
        False,
        None,
    )
    mine = next(a for a in plan["attempts"] if a["pseudonym"] == first["result"]["pseudonym"])
    assert set(mine) == ATTEMPT_KEYS
    assert mine["old_sections"] == {"TWK": 0.0, "TKP": 10.0}
    assert mine["new_sections"] == {"TWK": 5.0, "TKP": 10.0}
    assert (mine["old_total"], mine["new_total"]) == (10.0, 15.0)
    assert (mine["old_passed"], mine["new_passed"]) == (False, False)
    assert set(plan["ranking_changes"]) == {"F1"}
    for move in plan["ranking_changes"]["F1"]:
        assert set(move) == MOVE_KEYS
    limited = client.post(
        "/api/v1/exams/MINI/corrections/dry-run?limit=0", json=body, headers=committee
    ).json()
    assert limited["attempts"] == []
    assert limited["attempts_changed"] == plan["attempts_changed"]

    applied = client.post("/api/v1/exams/MINI/corrections", json=body, headers=committee)
    assert applied.status_code == 200, applied.text
    done = applied.json()
    assert set(done) == PLAN_KEYS
    assert (done["applied"], done["scoring_revision"]) == (True, 1)
    assert done["attempts"] == plan["attempts"]

    for method, path in (
        ("post", "/api/v1/exams/{code}/rankings"),
        ("post", "/api/v1/exams/{code}/corrections/dry-run"),
        ("post", "/api/v1/exams/{code}/corrections"),
    ):
        schema = documented_schema(client, method, path)
        assert "$ref" in schema or "$ref" in schema.get("items", {}), (path, schema)


def test_calibration_list_body(client, db, clock, app, committee):
    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    created = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    with db.session() as session:
        session.add(
            Calibration(
                exam_id=exam.exam_id,
                model="2pl",
                settings={"model": "2pl", "n_quadrature": 41},
                result={
                    "convergence": {"iterations": 17, "log_likelihood": -123.5},
                    "items": [{"index": 0, "misfit": True}, {"index": 1, "misfit": False}],
                },
                n_candidates=60,
                n_items=2,
                converged=True,
                created_at=created,
                created_by="staff:komite",
                applied_at=None,
            )
        )
    listed = client.get("/api/v1/exams/MINI/calibrations", headers=committee)
    assert listed.status_code == 200, listed.text
    [summary] = listed.json()
    assert isinstance(summary.pop("id"), int)
    assert summary == {
        "model": "2pl",
        "candidates": 60,
        "items": 2,
        "converged": True,
        "iterations": 17,
        "log_likelihood": -123.5,
        "misfitting": 1,
        "created_at": "2026-11-02T08:00:00Z",
        "applied_at": None,
        "settings": {"model": "2pl", "n_quadrature": 41},
    }
    assert "$ref" in documented_schema(client, "get", "/api/v1/exams/{code}/calibrations")["items"]
    run = documented_schema(client, "post", "/api/v1/exams/{code}/calibrations")
    assert "$ref" in run


def test_item_analysis_body_is_described(client, db, clock, app, committee):
    exam = mini_exam(db, clock, app.state.secret, candidates=2)
    take_exam(client, exam, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    take_exam(client, exam, "2026000002", committee, {"TWK": "wrong", "TKP": "wrong"})
    response = client.get("/api/v1/exams/MINI/item-analysis", headers=committee)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {
        "n_candidates",
        "group_fraction",
        "trace_groups",
        "sections",
        "total",
        "items",
        "flagged",
        "flag_thresholds",
    }
    assert body["n_candidates"] == 2
    assert [s["code"] for s in body["sections"]] == ["TWK", "TKP"]
    assert {"needs_review", "suggested_key", "options", "blank", "flags"} <= set(body["items"][0])
    assert "$ref" in documented_schema(client, "get", "/api/v1/exams/{code}/item-analysis")


def test_import_report_and_health_bodies(client, admin):
    upload = client.post(
        "/api/v1/items/import",
        files=[("files", ("bank.json", io.BytesIO(bank_json(twk=2, tkp=1)), "application/json"))],
        data={"dry_run": "true"},
        headers=admin,
    )
    assert upload.status_code == 200, upload.text
    report = upload.json()
    # The contract's keys keep their values; the report may grow new keys beside them.
    assert {key: report[key] for key in IMPORT_KEYS} == {
        "created": 3,
        "new_versions": 0,
        "unchanged": 0,
        "errors": [],
        "dry_run": True,
        "stored": False,
        "media": 0,
        "by_section": {"TKP": 1, "TWK": 2},
    }
    assert "$ref" in documented_schema(client, "post", "/api/v1/items/import")
    health = client.get("/healthz")
    assert health.status_code == 200
    assert set(health.json()) == {"status", "database"}
    assert health.json()["status"] == "ok"
    assert "$ref" in documented_schema(client, "get", "/healthz")


def test_published_snapshots_carry_the_signature_stored_ones_have(
    client, db, clock, app, committee
):
    from sqlalchemy import select

    from app.models.result import RankingSnapshot
    from tests.unit.test_snapshot_signature import stored_signature

    exam = mini_exam(db, clock, app.state.secret, candidates=1)
    take_exam(client, exam, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    assert client.post("/api/v1/exams/MINI/rankings", headers=committee).status_code == 200
    with db.read_session() as session:
        [(content_hash, signature)] = session.execute(
            select(RankingSnapshot.content_hash, RankingSnapshot.signature)
        ).all()
    assert signature == stored_signature(app.state.secret, content_hash)
    board = client.get("/api/v1/public/rankings/MINI").json()["formations"][0]["snapshot"]
    assert board["signature"] == signature
