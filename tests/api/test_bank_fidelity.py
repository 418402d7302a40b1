"""Item fidelity through the app: fixed options, shuffle, passages and MathML are stored, exported
and re-imported unchanged; an upload never makes an unrelated item a new version of another."""

from __future__ import annotations

import io
import json
import os
import secrets
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app import migrate
from app.db import Database, connect
from app.models.bank import ItemVersion, StimulusVersion
from app.models.staff import Role
from app.services import bank as bank_service
from item_bank.formats import write_export
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
DEMO_BANK = ROOT / "app" / "demo" / "bank"
FIDELITY = ROOT / "tests" / "fixtures" / "banks" / "qti" / "fidelity"
TEMPLATE = ROOT / "docs" / "templates" / "bank-template.csv"
NOW = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

PASSAGE = (
    "<p>Hutan bakau melindungi pantai dari abrasi dan menjadi tempat berkembang biak ikan."
    " Luasnya <math><mn>3</mn><mo>,</mo><mn>3</mn></math> juta hektare.</p>"
)


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


def item(code: str, **changes: object) -> dict[str, object]:
    value: dict[str, object] = {
        "code": code,
        "section": "TWK",
        "topic": "nkri",
        "stem": "<p>Negara yang berbatasan darat dengan Indonesia adalah ...</p>",
        "scoring": "single",
        "key": "B",
        "options": [
            {"label": "A", "text": "Singapura"},
            {"label": "B", "text": "Timor Leste"},
            {"label": "C", "text": "Filipina"},
            {"label": "D", "text": "Tidak ada di antara pilihan di atas", "fixed": True},
        ],
    }
    value.update(changes)
    return value


def bank(*items: dict[str, object]) -> bytes:
    return json.dumps({"format": "ujian-bank/1", "items": list(items)}).encode()


def fidelity_items() -> list[dict[str, object]]:
    """Fixed options, a kept order, a formula in the options and a passage shared by two items."""
    passage = {"code": "BACAAN-BAKAU", "title": "Hutan bakau", "content": PASSAGE}
    return [
        item("FID-FIXED"),
        item(
            "FID-ORDER",
            stem="<p>Urutkan: nilai terkecil adalah ...</p>",
            key="A",
            shuffle=False,
            options=[
                {"label": label, "text": str(n)}
                for label, n in zip("ABCD", (1, 2, 3, 4), strict=True)
            ],
        ),
        item(
            "FID-MATH",
            section="TIU",
            topic="aljabar",
            stem="<p>Akar dari <math><msup><mi>x</mi><mn>2</mn></msup><mo>=</mo><mn>4</mn></math>"
            " adalah ...</p>",
            key="A",
            options=[
                {"label": "A", "text": "<math><mn>2</mn></math>"},
                {"label": "B", "text": "<math><mfrac><mn>1</mn><mn>2</mn></mfrac></math>"},
                {"label": "C", "text": "<math><msqrt><mn>2</mn></msqrt></math>"},
            ],
        ),
        item("FID-BACA-1", stem="<p>Manfaat hutan bakau adalah ...</p>", stimulus=passage),
        item("FID-BACA-2", stem="<p>Luas hutan bakau adalah ...</p>", stimulus=passage),
    ]


def stored(db: Database) -> dict[str, ItemVersion]:
    with db.unit_of_work(write=False) as session:
        rows = session.scalars(select(ItemVersion).order_by(ItemVersion.version)).all()
        session.expunge_all()
    return {row.code: row for row in rows}  # newest version of each code wins


def test_fixed_options_shuffle_and_passages_are_stored_and_shown_to_admins(client, admin, db):
    response = upload(client, admin, "fidelity.json", bank(*fidelity_items()))
    assert response.status_code == 200, response.text
    assert (response.json()["created"], response.json()["stimuli"]) == (5, 1)
    rows = stored(db)
    assert rows["FID-FIXED"].options[-1]["fixed"] is True
    assert "fixed" not in rows["FID-FIXED"].options[0]  # defaults stay out of stored JSON
    assert rows["FID-ORDER"].shuffle is False
    assert rows["FID-FIXED"].shuffle is True
    assert "<mfrac>" in rows["FID-MATH"].options[1]["text"]
    # One passage stored once, both items pointing at that version.
    assert rows["FID-BACA-1"].stimulus_id == rows["FID-BACA-2"].stimulus_id is not None
    assert rows["FID-BACA-1"].stimulus_ref == "BACAAN-BAKAU"
    with db.unit_of_work(write=False) as session:
        passages = session.scalars(select(StimulusVersion)).all()
        assert [(p.code, p.version, p.status) for p in passages] == [("BACAAN-BAKAU", 1, "active")]
        assert "<math>" in passages[0].content
    shown = client.get("/api/v1/items/FID-FIXED", headers=admin).json()[0]
    assert [o["fixed"] for o in shown["options"]] == [False, False, False, True]
    assert client.get("/api/v1/items/FID-ORDER", headers=admin).json()[0]["shuffle"] is False
    # Rebuilding the domain item from its row gives the hash the import computed.
    for row in rows.values():
        assert bank_service.item_from_row(row).content_hash() == row.content_hash


def test_an_unchanged_reupload_with_passages_is_unchanged(client, admin):
    upload(client, admin, "fidelity.json", bank(*fidelity_items()))
    again = upload(client, admin, "fidelity.json", bank(*fidelity_items())).json()
    assert (again["created"], again["new_versions"], again["unchanged"]) == (0, 0, 5)
    assert again["stimuli"] == 0


def test_an_unrelated_item_under_a_stored_code_is_refused_naming_every_code(client, admin, db):
    upload(client, admin, "first.json", bank(item("choice"), item("item1"), item("KEEP")))
    other = bank(
        item("choice", stem="<p>Ibu kota provinsi Jawa Barat adalah ...</p>"),
        item("NEW-ONE"),
        item("item1", key="C"),
        item("KEEP"),
    )
    refused = upload(client, admin, "second.json", other)
    assert refused.status_code == 422
    body = refused.json()
    assert [e["field"] for e in body["errors"]] == ["code", "code"]
    assert [e["file"] for e in body["errors"]] == ["second.json", "second.json"]
    messages = " ".join(e["message"] for e in body["errors"])
    assert "'choice'" in messages
    assert "'item1'" in messages
    assert "--new-versions" in messages
    rows = stored(db)
    assert "NEW-ONE" not in rows  # nothing of the upload was stored
    assert rows["choice"].version == 1
    assert rows["choice"].status == "active"
    assert rows["item1"].status == "active"


def test_new_versions_asked_explicitly_or_by_our_own_export(client, admin, db):
    upload(client, admin, "first.json", bank(item("A-1"), item("A-2")))
    dry = upload(
        client, admin, "second.json", bank(item("A-1", key="C")), new_versions=True, dry_run=True
    ).json()
    assert dry["versioned"] == ["A-1"]
    assert dry["stored"] is False
    assert stored(db)["A-1"].version == 1
    asked = upload(client, admin, "second.json", bank(item("A-1", key="C")), new_versions=True)
    assert asked.json()["new_versions"] == 1
    exported = item("A-2", key="A", source={"exported_by": "ujian-bank-export"})
    ours = upload(client, admin, "export.json", bank(exported)).json()
    assert (ours["new_versions"], ours["versioned"]) == (1, ["A-2"])
    rows = stored(db)
    assert (rows["A-1"].version, rows["A-1"].key, rows["A-2"].version) == (2, "C", 2)


def _package(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.writestr(str(path.relative_to(folder)), path.read_bytes())
    return buffer.getvalue()


def test_a_qti_package_versions_its_own_items_and_not_another_packages(client, admin, db):
    first = upload(client, admin, "bacaan.zip", _package(FIDELITY / "stimulus_pkg"))
    assert first.status_code == 200, first.text
    assert first.json()["stimuli"] == 1
    codes = sorted(stored(db))
    # The same package and resources, one item changed: its new version.
    pkg = FIDELITY / "stimulus_pkg"
    changed = io.BytesIO()
    with zipfile.ZipFile(changed, "w") as archive:
        for path in sorted(pkg.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "hutan-1.xml":
                    data = data.replace(b"</p>", b" (diperbarui)</p>", 1)
                archive.writestr(str(path.relative_to(pkg)), data)
    again = upload(client, admin, "bacaan.zip", changed.getvalue())
    assert again.status_code == 200, again.text
    assert again.json()["new_versions"] == 1
    # Another package whose items happen to use the same identifiers: refused.
    other = io.BytesIO()
    with zipfile.ZipFile(other, "w") as archive:
        for path in sorted(pkg.rglob("*")):
            if path.is_file():
                data = path.read_bytes()
                if path.name == "imsmanifest.xml":
                    data = data.replace(b'"PAKET-BACAAN"', b'"PAKET-LAIN"')
                if path.name == "hutan-2.xml":
                    data = data.replace(b"</p>", b" (paket lain)</p>", 1)
                archive.writestr(str(path.relative_to(pkg)), data)
    refused = upload(client, admin, "lain.zip", other.getvalue())
    assert refused.status_code == 422, refused.text
    assert sorted(stored(db)) == codes


def test_the_shipped_template_never_retires_a_demo_item(db):
    with db.unit_of_work() as session:
        demo = [
            bank_service.UploadFile(p.name, io.BytesIO(p.read_bytes()), media_resolver=_demo_media)
            for p in sorted(DEMO_BANK.glob("*.json"))
        ]
        assert bank_service.import_files(session, demo, actor="test", now=NOW).ok
    before = {code: (row.version, row.status) for code, row in stored(db).items()}
    with db.unit_of_work() as session:
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile(TEMPLATE.name, io.BytesIO(TEMPLATE.read_bytes()))],
            actor="test",
            now=NOW,
        )
    after = {code: (row.version, row.status) for code, row in stored(db).items()}
    assert {code: after[code] for code in before} == before
    assert report.new_versions == 0
    assert report.ok, report.errors  # the template's codes are its own (CONTOH-...)


def _demo_media(name: str) -> bytes | None:
    path = (DEMO_BANK / name).resolve()
    return path.read_bytes() if DEMO_BANK in path.parents and path.is_file() else None


@pytest.fixture
def fresh_db(tmp_path) -> Iterator[Database]:
    """A second, empty, migrated database of the suite's backend (to import an export into)."""
    yield from _fresh(tmp_path, os.environ.get("UJIAN_TEST_DATABASE_URL"))


def _fresh(tmp_path: Path, base: str | None) -> Iterator[Database]:
    admin_engine = None
    name = ""
    if base:
        url = make_url(base).set(drivername="postgresql+psycopg")
        name = f"ujian_fid_{secrets.token_hex(4)}"
        admin_engine = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin_engine.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        fresh = url.set(database=name).render_as_string(hide_password=False)
    else:
        fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    database = connect(make_settings(fresh, tmp_path / "var-fresh"), fresh)
    try:
        migrate.upgrade(database.engine)
        yield database
    finally:
        database.dispose()
        if admin_engine is not None:
            with admin_engine.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin_engine.dispose()


def _import(
    database: Database, name: str, data: bytes, **options: object
) -> bank_service.ImportReport:
    with database.unit_of_work() as session:
        return bank_service.import_files(
            session,
            [bank_service.UploadFile(name, io.BytesIO(data), media_resolver=_demo_media)],
            actor="test",
            now=NOW,
            **options,  # type: ignore[arg-type]
        )


def _hashes(database: Database) -> dict[str, str]:
    return {code: row.content_hash for code, row in stored(database).items()}


@pytest.mark.parametrize(("fmt", "name"), [("json", "bank.zip"), ("qti", "bank.zip")])
def test_export_then_import_into_a_fresh_database_keeps_every_hash(db, fresh_db, fmt, name):
    with db.unit_of_work() as session:
        uploads = [
            bank_service.UploadFile(p.name, io.BytesIO(p.read_bytes()), media_resolver=_demo_media)
            for p in sorted(DEMO_BANK.glob("*.json"))
        ]
        uploads.append(
            bank_service.UploadFile("fidelity.json", io.BytesIO(bank(*fidelity_items())))
        )
        for fixture in ("fixed_choices_v2p1.xml", "mathml_options_v2p2.xml"):
            uploads.append(
                bank_service.UploadFile(fixture, io.BytesIO((FIDELITY / fixture).read_bytes()))
            )
        uploads.append(
            bank_service.UploadFile("bacaan.zip", io.BytesIO(_package(FIDELITY / "stimulus_pkg")))
        )
        report = bank_service.import_files(session, uploads, actor="test", now=NOW)
        assert report.ok, report.errors
    with db.unit_of_work(write=False) as session:
        exported = bank_service.export_bank(session)
    buffer = io.BytesIO()
    summary = write_export(
        exported.items, exported.media, buffer, fmt=fmt, name=name, stimuli=exported.stimuli
    )
    assert len(exported.stimuli) == 2
    again = _import(fresh_db, name, buffer.getvalue())
    assert again.ok, again.errors
    assert again.created == summary.items == len(_hashes(db))
    assert again.media == summary.images  # distinct images, counted alike both ways
    assert _hashes(fresh_db) == _hashes(db)
    rows = stored(fresh_db)
    assert rows["FID-ORDER"].shuffle is False
    assert rows["TWK-NKRI-021"].options[-1].get("fixed") is True
    assert rows["FID-BACA-1"].stimulus_id is not None
    # And back into the bank it came from: every item unchanged.
    home = _import(db, name, buffer.getvalue())
    assert (home.created, home.new_versions, home.unchanged) == (0, 0, summary.items)


def test_the_migration_rehashes_stored_text_so_an_old_bank_reimports_unchanged(tmp_path):
    """Text stored before whitespace was normalized (and its hash over that text) is
    re-sanitized once by the migration; re-uploading the same file then changes nothing."""
    import sqlalchemy as sa

    base = os.environ.get("UJIAN_TEST_DATABASE_URL")
    fixture = _fresh(tmp_path, base)
    database = next(fixture)
    try:
        migrate.downgrade(database.engine, "20261202_04")
        items = sa.table(
            "items",
            *(
                sa.column(name)
                for name in (
                    "code",
                    "version",
                    "section",
                    "topic",
                    "stem",
                    "scoring",
                    "key",
                    "n_options",
                    "status",
                    "content_hash",
                    "created_at",
                )
            ),
            sa.column("options", sa.JSON()),
            sa.column("media", sa.JSON()),
            sa.column("source", sa.JSON()),
        )
        old = item("OLD-2", stem="<p>Soal kedua</p>")
        with database.engine.begin() as connection:
            connection.execute(
                sa.insert(items).values(
                    code="OLD-2",
                    version=1,
                    section="TWK",
                    topic="nkri",
                    # As an older release stored it: whitespace runs kept, hashed with them.
                    stem="<p>Soal   kedua\n</p>",
                    scoring="single",
                    key="B",
                    n_options=4,
                    status="active",
                    content_hash="0" * 64,
                    created_at=NOW,
                    options=[
                        {"label": o["label"], "text": o["text"] + "  ", "points": None}
                        for o in old["options"]  # type: ignore[union-attr]
                    ],
                    media=[],
                    source={},
                )
            )
        migrate.upgrade(database.engine)
        row = stored(database)["OLD-2"]
        assert row.stem == "<p>Soal kedua</p>"
        assert row.shuffle is True
        assert row.stimulus_id is None
        plain = {
            **old,
            "options": [{k: v for k, v in o.items() if k != "fixed"} for o in old["options"]],
        }  # type: ignore[union-attr]
        again = _import(database, "old.json", bank(plain))
        assert (again.created, again.new_versions, again.unchanged) == (0, 0, 1)
    finally:
        next(fixture, None)


def test_the_candidate_gets_each_passage_once_by_reference_and_never_a_key(
    client, db, clock, app, staff_headers
):
    from tests.support.fidelity import PASSAGE_CODE, PASSAGE_TEXT, passage_exam

    built = passage_exam(db, clock, app.state.secret)
    nomor = "2026000001"
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": built.pin_of(nomor)}
    ).json()["access_token"]
    state = client.post(
        "/api/v1/attempts/current/start", headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert list(state["stimuli"]) == [f"{PASSAGE_CODE}@1"]
    passage = state["stimuli"][f"{PASSAGE_CODE}@1"]
    assert PASSAGE_TEXT in passage["content"]
    assert "<math>" in passage["content"]
    readers = [i for i in state["items"] if i["position"] in passage["positions"]]
    assert len(readers) == 2
    assert all("menurut bacaan" in i["stem"] for i in readers)
    assert all(PASSAGE_TEXT not in i["stem"] for i in state["items"])
    body = json.dumps(state)
    assert '"key"' not in body
    assert '"points"' not in body
    # Formulas reach the screen as MathML, in the stem and in the options.
    math = next(i for i in state["items"] if "<mfrac>" in i["stem"])
    assert sum("<math>" in o["text"] for o in math["options"]) == 3
    # The item's fixed last option stays last on the candidate's own shuffled form.
    assert math["options"][-1]["text"] == "Tidak ada di antara pilihan di atas"


def test_replay_shows_the_passage_each_item_was_read_with(client, db, clock, app, staff_headers):
    from app.services.replay import replay_of
    from tests.support.fidelity import PASSAGE_CODE, PASSAGE_TEXT, passage_exam

    built = passage_exam(db, clock, app.state.secret)
    nomor = "2026000001"
    token = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": built.pin_of(nomor)}
    ).json()["access_token"]
    attempt_id = client.post(
        "/api/v1/attempts/current/start", headers={"Authorization": f"Bearer {token}"}
    ).json()["attempt_id"]
    with db.unit_of_work(write=False) as session:
        shown = replay_of(
            session, attempt_id, runtimes=app.state.services.runtimes, viewer="committee"
        )
    key = f"{PASSAGE_CODE}@1"
    assert list(shown.stimuli) == [key]
    assert PASSAGE_TEXT in shown.stimuli[key].content
    readers = [i.item.split(" ")[0] for i in shown.items if i.stimulus == key]
    assert sorted(readers) == ["BACA-1", "BACA-2"]
    assert shown.matches_served_form is True
    # The committee's replay route carries the passage once, and each reader names it.
    headers = {"Authorization": f"Bearer {token}"}
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200
    committee = staff_headers(Role.COMMITTEE)
    body = client.get(f"/api/v1/attempts/{attempt_id}/replay", headers=committee).json()
    assert PASSAGE_TEXT in body["stimuli"][key]["content"]
    assert sorted(i["item"].split(" ")[0] for i in body["items"] if i["stimulus"] == key) == [
        "BACA-1",
        "BACA-2",
    ]
