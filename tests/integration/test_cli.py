"""The `ujian` commands committees and admins run, as subprocesses on the suite's database."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import TEST_SECRET
from tests.support.factory import SMALL_SPEC, bank_json
from tests.support.server import ROOT

DEMO_BANK = ROOT / "app" / "demo" / "bank"


@pytest.fixture
def ujian(database_url, tmp_path, db):
    env = {
        **os.environ,
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "COLUMNS": "200",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    return run


def test_bank_import_export_round_trip(ujian, tmp_path):
    first = ujian("bank", "import", str(DEMO_BANK), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["created"] >= 220
    assert report["errors"] == []
    for fmt in ("qti", "json"):
        out = tmp_path / f"export-{fmt}.zip"
        exported = ujian("bank", "export", "--format", fmt, "--out", str(out))
        assert exported.returncode == 0, exported.stderr
        again = json.loads(ujian("bank", "import", str(out), "--json").stdout)
        assert (again["created"], again["new_versions"], again["unchanged"]) == (
            0,
            0,
            report["created"],
        )


def test_a_rejected_import_exits_1_and_stores_nothing(ujian, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "code;section;topic;stem;scoring;key;option_a;option_b\r\n"
        "X1;TWK;t;Soal;single;C;a;b\r\n"
        "X2;TWK;t;;single;A;a;b\r\n",
        encoding="utf-8-sig",
    )
    result = ujian("bank", "import", str(bad), "--json")
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    assert {(e["location"], e["field"]) for e in errors} >= {("row 2", "key"), ("row 3", "stem")}
    listed = ujian("bank", "import", str(tmp_path / "bad.csv"))
    assert listed.returncode == 1
    assert "nothing was imported" in listed.stderr


def test_exam_roster_and_ranking_commands(ujian, tmp_path):
    bank = tmp_path / "bank.json"
    bank.write_bytes(bank_json())
    assert ujian("bank", "import", str(bank)).returncode == 0
    spec = tmp_path / "mini.yaml"
    spec.write_text(SMALL_SPEC.format(duration=10))
    created = ujian("exam", "create", str(spec))
    assert created.returncode == 0, created.stderr
    assert "MINI v1: created" in created.stdout
    assert ujian("exam", "publish", "MINI").returncode == 0
    sitting = ujian(
        "sitting",
        "create",
        "--exam",
        "MINI",
        "--name",
        "Sesi 1",
        "--starts-at",
        "2026-12-01T08:00",
        "--timezone",
        "Asia/Jayapura",
    )
    assert sitting.returncode == 0, sitting.stderr
    assert "08:00 WIT" in sitting.stdout
    roster = tmp_path / "roster.csv"
    roster.write_text("nomor_peserta;nama;kategori;formasi\n1001;Ani;umum;F1\n1002;Beni;umum;F1\n")
    pins = tmp_path / "pins.csv"
    imported = ujian("roster", "import", "1", str(roster), "--pins-out", str(pins))
    assert imported.returncode == 0, imported.stderr
    lines = pins.read_text().splitlines()
    assert lines[0] == "nomor_peserta,name,pin"
    assert len(lines) == 3
    assert all(len(line.split(",")[2]) == 6 for line in lines[1:])
    sheet = pins.with_suffix(".html").read_text()
    assert "Ani" in sheet
    assert lines[1].split(",")[2] in sheet
    published = ujian("rank", "publish", "MINI")
    assert published.returncode == 0, published.stderr
    assert "F1: published" in published.stdout


def test_results_verify_names_an_edited_result_and_publishing_refuses(ujian, db, clock, app):
    from sqlalchemy import update

    from app.models.result import Result
    from tests.api.test_results_verify import finish_candidates

    ids = finish_candidates(db, clock, app, 3)
    clean = ujian("results", "verify", "MINI")
    assert clean.returncode == 0, clean.stderr
    assert "3 result(s) recomputed, all match" in clean.stdout
    assert ujian("results", "verify").returncode == 0  # every published exam

    with db.session() as session:
        session.execute(
            update(Result).where(Result.attempt_id == ids[1]).values(total=Result.total + 7)
        )
    table = ujian("results", "verify", "MINI")
    assert table.returncode == 1
    assert "1 mismatch(es)" in table.stdout
    row = next(line for line in table.stdout.splitlines() if f" {ids[1]} " in line)
    assert "total: stored" in row

    report = json.loads(ujian("results", "verify", "MINI", "--json").stdout)
    assert report["ok"] is False
    [mismatch] = report["exams"][0]["mismatches"]
    assert mismatch["attempt_id"] == ids[1]
    assert mismatch["stored_total"] == mismatch["recomputed_total"] + 7

    refused = ujian("rank", "publish", "MINI")
    assert refused.returncode == 1
    assert f"attempt {ids[1]}" in refused.stderr


def test_bad_spec_and_roster_are_reported_with_locations(ujian, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("code: X\ntitle: T\nduration_minutes: -5\nsections: []\nsurprise: 1\n")
    result = ujian("exam", "create", str(spec))
    assert result.returncode == 1
    assert "line 3" in result.stderr
    assert "surprise" in result.stderr


def test_audit_verify_after_commands(ujian, tmp_path):
    bank = tmp_path / "bank.json"
    bank.write_bytes(bank_json())
    ujian("bank", "import", str(bank))
    verified = ujian("audit", "verify")
    assert verified.returncode == 0
    assert "intact" in verified.stdout


def test_simulate_reports_precision_and_exposure(ujian):
    result = ujian("simulate", "--examinees", "60", "--bank", "200", "--max-items", "10", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)[0]
    assert report["n_examinees"] == 60
    assert 0 < report["rmse"] < 1.5
    assert 0 < report["max_exposure"] <= 1


def test_calibrate_needs_finished_attempts(ujian, tmp_path):
    bank = tmp_path / "bank.json"
    bank.write_bytes(bank_json())
    ujian("bank", "import", str(bank))
    spec = tmp_path / "mini.yaml"
    spec.write_text(SMALL_SPEC.format(duration=10))
    ujian("exam", "create", str(spec))
    ujian("exam", "publish", "MINI")
    result = ujian("calibrate", "MINI")
    assert result.returncode == 1
    assert "at least 50" in result.stderr


#: Every command of ``ujian`` with its arguments and long options, as operators' scripts call
#: them: splitting the command line into modules must not rename, drop or add any of them.
COMMANDS = {
    "serve": ["--host", "--port", "--workers"],
    "demo": ["--json"],
    "calibrate": ["EXAM", "--model", "--apply", "--json"],
    "simulate": [
        "--examinees",
        "--bank",
        "--max-items",
        "--min-items",
        "--se-target",
        "--randomesque",
        "--seed",
        "--scenarios",
        "--json",
    ],
    "db upgrade": ["REVISION"],
    "db downgrade": ["REVISION"],
    "db current": [],
    "user create": ["NAME", "--role", "--password-stdin"],
    "user list": [],
    "user disable": ["NAME"],
    "user enable": ["NAME"],
    "user revoke-tokens": ["NAME"],
    "user unlock": ["NAME"],
    "audit verify": ["--json", "--against", "--keys"],
    "audit anchor": ["--out"],
    "keys show": ["--json"],
    "keys rotate": [],
    "verify": ["DOCUMENT_FILE", "--keys"],
    "bank import": ["PATHS", "--dry-run", "--json", "--section", "--topic", "--new-versions"],
    "bank export": ["--out", "--format"],
    "bank sections list": [],
    "bank sections add": ["CODE", "NAME"],
    "exam create": ["SPEC"],
    "exam publish": ["CODE"],
    "sitting create": [
        "--exam",
        "--name",
        "--starts-at",
        "--site",
        "--room",
        "--timezone",
        "--proctor",
    ],
    "sitting unlock": ["SITTING", "NOMOR_PESERTA", "--reason"],
    "roster import": ["SITTING", "CSV_PATH", "--pins-out"],
    "rank publish": ["EXAM", "--formation"],
    "results verify": ["EXAM", "--json"],
    "practice purge": ["--hours"],
    "report items": ["EXAM", "--json", "--out"],
    "report integrity": ["EXAM", "--sitting", "--format", "--row-length", "--lang", "--out"],
    "report dif": ["EXAM", "--group", "--reference", "--json"],
    "simulate integrity": [
        "--scenario",
        "--candidates",
        "--items",
        "--cheaters",
        "--share",
        "--replications",
        "--seed",
        "--json",
    ],
    "simulate dif": ["--per-group", "--items", "--shift", "--replications", "--seed", "--json"],
}


def test_every_command_and_option_is_there():
    import typer

    from app.cli import cli

    def options(command, path):
        params = []
        for param in command.params:
            if param.param_type_name == "argument":
                params.append(param.name.upper())
            else:
                params.extend(sorted(o for o in param.opts if o.startswith("--")))
        yield " ".join(path), params

    def walk(command, path):
        if hasattr(command, "commands"):
            # A group that runs on its own (``ujian simulate``) has options of its own too.
            if command.params and path:
                yield from options(command, path)
            for name, sub in command.commands.items():
                yield from walk(sub, [*path, name])
            return
        yield from options(command, path)

    assert dict(walk(typer.main.get_command(cli), [])) == COMMANDS


def test_help_lists_the_command_groups(ujian):
    result = ujian("--help")
    assert result.returncode == 0, result.stderr
    listed = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ")}
    assert {c.split()[0] for c in COMMANDS} <= listed
