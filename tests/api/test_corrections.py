"""Key correction and annulment, with expected results worked out by hand.

MINI: TWK has 3 items per form (bank key A, 5 points each), TKP 2 weighted items (A=5 ... E=1).
Category umum needs TWK >= 10 and TKP >= 6; formation F1 has 1 opening (cut 3).
"""

from __future__ import annotations

import pytest

from app.models.staff import Role
from tests.support.factory import mini_exam, take_exam


@pytest.fixture
def committee(staff_headers):
    return staff_headers(Role.COMMITTEE)


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=3)


def twk_items(client, committee, attempt_id):
    replay = client.get(f"/api/v1/attempts/{attempt_id}/replay", headers=committee).json()
    return [i["item"].split(" ")[0] for i in replay["items"] if i["section"] == "TWK"]


def correction(client, committee, body, *, apply):
    path = "/api/v1/exams/MINI/corrections" + ("" if apply else "/dry-run")
    response = client.post(path, json=body, headers=committee)
    assert response.status_code == 200, response.text
    return response.json()


def test_correcting_a_key_rescores_and_moves_the_candidate_into_the_ranking(
    client, exam, committee
):
    # Candidate 1 answers every TWK item "B" (wrong under key A): TWK 0, TKP 10, total 10, T/L.
    first = take_exam(client, exam, "2026000001", committee, {"TWK": "label:B", "TKP": "key"})
    # Candidate 2 answers everything right: TWK 15, TKP 10, total 25, P/L rank 1.
    second = take_exam(client, exam, "2026000002", committee, {"TWK": "key", "TKP": "key"})
    assert (first["result"]["total"], second["result"]["total"]) == (10, 25)
    client.post("/api/v1/exams/MINI/rankings", headers=committee)
    items = twk_items(client, committee, first["attempt_id"])

    body = {"item_code": items[0], "kind": "correct_key", "key": "B", "reason": "kunci soal keliru"}
    dry = correction(client, committee, body, apply=False)
    # Holders of the item: candidate 1 (B: 0 -> 5) and maybe candidate 2 (A: 5 -> 0).
    by_pseudonym = {a["pseudonym"]: a for a in dry["attempts"]}
    assert by_pseudonym[first["result"]["pseudonym"]]["new_total"] == 15
    assert by_pseudonym[first["result"]["pseudonym"]]["new_passed"] is False  # TWK 5 < 10
    # A dry run changes nothing.
    unchanged = client.get(f"/api/v1/public/slips/{first['result']['slip_code']}").json()
    assert unchanged["authentic"] is True
    assert unchanged["slip"]["total"] == 10

    applied = correction(client, committee, body, apply=True)
    assert applied["applied"] is True
    assert applied["scoring_revision"] == 1
    second_fix = {
        "item_code": items[1],
        "kind": "correct_key",
        "key": "B",
        "reason": "kunci soal keliru",
    }
    dry2 = correction(client, committee, second_fix, apply=False)
    row = next(a for a in dry2["attempts"] if a["pseudonym"] == first["result"]["pseudonym"])
    assert (row["old_total"], row["new_total"], row["old_passed"], row["new_passed"]) == (
        15,
        20,
        False,
        True,
    )
    moves = {c["pseudonym"]: c for c in dry2["ranking_changes"]["F1"]}
    assert moves[first["result"]["pseudonym"]]["old_status"] == "T/L"
    assert moves[first["result"]["pseudonym"]]["new_status"] == "P/L"
    correction(client, committee, second_fix, apply=True)

    board = client.get("/api/v1/public/rankings/MINI").json()["formations"][0]
    assert board["snapshot"]["number"] == 3
    assert "key correction" in board["snapshot"]["cause"]
    ranked = {r["pseudonym"]: r for r in board["rows"]}
    assert ranked[first["result"]["pseudonym"]]["status"] == "P/L"
    assert ranked[first["result"]["pseudonym"]]["sections"]["TWK"] == 10
    # The slip printed before the correction no longer verifies as current.
    stale = client.get(f"/api/v1/public/slips/{first['result']['slip_code']}").json()
    assert stale["authentic"] is False
    assert stale["slip"]["total"] == 20


def test_annulment_award_all_and_drop(client, exam, committee):
    wrong = take_exam(client, exam, "2026000001", committee, {"TWK": "label:C", "TKP": "key"})
    items = twk_items(client, committee, wrong["attempt_id"])
    award = correction(
        client,
        committee,
        {"item_code": items[0], "kind": "annul", "mode": "award_all", "reason": "soal ambigu"},
        apply=False,
    )
    assert award["attempts"][0]["new_total"] == wrong["result"]["total"] + 5
    drop = correction(
        client,
        committee,
        {"item_code": items[0], "kind": "annul", "mode": "drop", "reason": "soal ambigu"},
        apply=False,
    )
    # The candidate had the item wrong (0 points): dropping it changes nothing for them.
    assert drop["attempts_with_item"] == 1
    assert drop["attempts_changed"] == 0


def test_bad_corrections_are_refused_with_reasons(client, exam, committee):
    take_exam(client, exam, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    bad_key = client.post(
        "/api/v1/exams/MINI/corrections/dry-run",
        json={"item_code": "TWK-000", "kind": "correct_key", "key": "Z", "reason": "salah"},
        headers=committee,
    )
    assert bad_key.status_code == 400
    assert "not an option" in bad_key.json()["detail"]
    unknown = client.post(
        "/api/v1/exams/MINI/corrections/dry-run",
        json={"item_code": "NOPE", "kind": "annul", "mode": "drop", "reason": "salah"},
        headers=committee,
    )
    assert unknown.status_code == 404


def test_correction_is_audited(client, exam, committee, db):
    from app.repositories import audit as audit_repo

    take_exam(client, exam, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    correction(
        client,
        committee,
        {"item_code": "TWK-000", "kind": "annul", "mode": "award_all", "reason": "ambigu"},
        apply=True,
    )
    with db.read_session() as session:
        actions = [e.action for e in audit_repo.iter_events(session)]
    assert actions.count("exam.key_correction") == 1
