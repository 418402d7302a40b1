"""The item bank through the admin API: import reports, versions, search, retire, safety."""

from __future__ import annotations

import io
import json

import pytest

from app.models.staff import Role
from tests.support.factory import bank_json


@pytest.fixture
def admin(staff_headers):
    return staff_headers(Role.ADMIN)


def upload(client, headers, name, data, **form):
    return client.post(
        "/api/v1/items/import",
        files=[("files", (name, io.BytesIO(data), "application/octet-stream"))],
        data={k: str(v).lower() if isinstance(v, bool) else v for k, v in form.items()},
        headers=headers,
    )


def one_item(**changes):
    item = {
        "code": "TWK-X-001",
        "section": "TWK",
        "topic": "pancasila",
        "stem": "<p>Sila pertama Pancasila adalah ...</p>",
        "scoring": "single",
        "key": "A",
        "options": [{"label": label, "text": f"Jawaban {label}"} for label in "ABCD"],
    }
    item.update(changes)
    return json.dumps({"format": "ujian-bank/1", "items": [item]}).encode()


def test_import_reports_and_stores(client, admin):
    response = upload(client, admin, "bank.json", bank_json(twk=4, tkp=2))
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 6
    page = client.get("/api/v1/items", params={"section": "TKP"}, headers=admin).json()
    assert page["total"] == 2
    assert {i["scoring"] for i in page["items"]} == {"weighted"}


def test_reimporting_identical_content_changes_nothing(client, admin):
    upload(client, admin, "bank.json", bank_json(twk=4, tkp=2))
    again = upload(client, admin, "bank.json", bank_json(twk=4, tkp=2)).json()
    assert (again["created"], again["new_versions"], again["unchanged"]) == (0, 0, 6)


def test_changed_content_makes_a_new_version_and_keeps_the_old(client, admin):
    upload(client, admin, "one.json", one_item())
    # A bare item under a known code is someone else's item until the admin says it is not.
    refused = upload(client, admin, "one.json", one_item(key="B"))
    assert refused.status_code == 422
    assert "TWK-X-001" in refused.text
    changed = upload(client, admin, "one.json", one_item(key="B"), new_versions=True).json()
    assert changed["new_versions"] == 1
    versions = client.get("/api/v1/items/TWK-X-001", headers=admin).json()
    assert [(v["version"], v["key"], v["status"]) for v in versions] == [
        (1, "A", "retired"),
        (2, "B", "active"),
    ]


def test_dry_run_stores_nothing(client, admin):
    report = upload(client, admin, "bank.json", bank_json(twk=2, tkp=0), dry_run=True).json()
    assert report["created"] == 2
    assert report["stored"] is False
    assert client.get("/api/v1/items", headers=admin).json()["total"] == 0


def test_a_bad_file_reports_every_problem_and_stores_nothing(client, admin):
    good = json.loads(one_item())["items"][0]
    bad = [
        {**good, "code": "A1", "key": None},
        {**good, "code": "A2", "stem": "   "},
        {**good, "code": "A3", "section": "ZZZ"},
        dict(good),  # the same code twice in one upload
    ]
    data = json.dumps({"format": "ujian-bank/1", "items": [good, *bad]}).encode()
    response = upload(client, admin, "bad.json", data)
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "ImportRejected"
    fields = {(e["field"], e["location"].split(" ")[0]) for e in body["errors"]}
    assert ("key", "items[1]") in fields
    assert ("stem", "items[2]") in fields
    assert ("section", "items[3]") in fields
    duplicate = [e for e in body["errors"] if e["location"].startswith("items[4]")]
    assert duplicate
    assert "TWK-X-001" in duplicate[0]["message"]
    assert all(e["file"] == "bad.json" for e in body["errors"])
    assert client.get("/api/v1/items", headers=admin).json()["total"] == 0


def test_script_in_a_stem_is_removed(client, admin):
    hostile = one_item(stem='<p>Soal</p><script>alert(1)</script><img src="x" onerror="alert(2)">')
    response = upload(client, admin, "hostile.json", hostile)
    stored = client.get("/api/v1/items", headers=admin).json()["items"]
    text = json.dumps(stored) + response.text
    assert "<script" not in text
    assert "onerror" not in text


def test_search_paging_and_status(client, admin):
    upload(client, admin, "bank.json", bank_json(twk=6, tkp=0))
    first = client.get("/api/v1/items", params={"limit": 4}, headers=admin).json()
    second = client.get("/api/v1/items", params={"limit": 4, "offset": 4}, headers=admin).json()
    assert first["total"] == 6
    assert len(first["items"]) == 4
    assert len(second["items"]) == 2
    assert (
        client.get("/api/v1/items", params={"text": "nomor 3"}, headers=admin).json()["total"] == 1
    )
    retired = client.post(
        "/api/v1/items/TWK-003/status", json={"status": "retired", "reason": "bocor"}, headers=admin
    )
    assert retired.json()["status"] == "retired"
    assert (
        client.get("/api/v1/items", params={"status": "active"}, headers=admin).json()["total"] == 5
    )


def test_oversized_upload_is_refused(client, admin, app):
    app.state.settings.max_upload_bytes = 100
    response = upload(client, admin, "bank.json", bank_json(twk=6, tkp=0))
    assert response.status_code == 413
    assert response.json()["error"] == "PayloadTooLarge"


def test_only_admins_import(client, staff_headers):
    for role in (Role.COMMITTEE, Role.PROCTOR):
        assert upload(client, staff_headers(role), "b.json", one_item()).status_code == 403
    assert client.post("/api/v1/items/import").status_code == 401


def test_bank_import_is_audited(client, admin, db):
    from app.repositories import audit as audit_repo

    upload(client, admin, "bank.json", bank_json(twk=2, tkp=1))
    with db.read_session() as session:
        events = [
            (e.action, e.payload)
            for e in audit_repo.iter_events(session)
            if e.action == "bank.import"
        ]
    assert len(events) == 1
    assert '"created":3' in events[0][1]


def test_forms_keep_the_version_they_were_drawn_from(client, admin, db, clock, app, staff_headers):
    """A new version after publication changes nothing for the published exam."""
    from tests.support.factory import mini_exam, take_exam

    built = mini_exam(db, clock, app.state.secret, candidates=1)
    committee = staff_headers(Role.COMMITTEE)
    state = take_exam(client, built, "2026000001", committee, {"TWK": "key", "TKP": "key"})
    before = client.get(f"/api/v1/attempts/{state['attempt_id']}/replay", headers=committee).json()
    code = before["items"][0]["item"].split(" ")[0]
    changed = json.loads(bank_json())
    for item in changed["items"]:
        if item["code"] == code:
            item["stem"] = "<p>Versi baru</p>"
    assert (
        upload(client, admin, "bank.json", json.dumps(changed).encode(), new_versions=True).json()[
            "new_versions"
        ]
        == 1
    )
    after = client.get(f"/api/v1/attempts/{state['attempt_id']}/replay", headers=committee).json()
    assert after["items"][0]["stem"] == before["items"][0]["stem"]
    assert after["matches_served_form"] is True
