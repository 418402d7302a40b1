"""Ed25519 signatures anyone can check: the public keys route, signed slips, `ujian verify`."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from datetime import UTC, datetime

import pytest

from app.keys import KeyStore
from tests.conftest import TEST_SECRET
from tests.support.factory import mini_exam
from tests.support.server import ROOT


@pytest.fixture
def exam(db, clock, app):
    return mini_exam(db, clock, app.state.secret, candidates=1)


def _slip_code(client, exam, nomor="2026000001"):
    login = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": exam.pin_of(nomor)}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    client.post("/api/v1/attempts/current/start", headers=headers)
    finished = client.post(
        "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
    )
    assert finished.status_code == 200, finished.text
    return finished.json()["result"]["slip_code"]


def _verify_cli(tmp_path, document, keys):
    doc_file, keys_file = tmp_path / "slip.json", tmp_path / "keys.json"
    doc_file.write_text(json.dumps(document))
    keys_file.write_text(json.dumps(keys))
    env = {**os.environ, "UJIAN_SECRET_KEY": TEST_SECRET, "UJIAN_VAR_DIR": str(tmp_path / "x")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", "verify", str(doc_file), "--keys", str(keys_file)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_public_keys_route_lists_the_signing_key_made_with_mode_0600(client, settings):
    response = client.get("/api/v1/public/keys")
    assert response.status_code == 200, response.text
    [key] = response.json()["keys"]
    assert key["algorithm"] == "Ed25519"
    assert key["valid_until"] is None
    assert len(key["key_id"]) == 16
    path = settings.var_dir / "signing-keys.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert key["public_key"] in path.read_text()


def test_a_downloaded_slip_verifies_offline_and_an_altered_one_does_not(client, exam, tmp_path):
    code = _slip_code(client, exam)
    signed = client.get(f"/api/v1/public/slips/{code}/signed")
    assert signed.status_code == 200, signed.text
    document = signed.json()
    body = json.loads(document["payload"])
    assert body["code"] == code
    assert body["kind"] == "ujian-result-slip"
    keys = client.get("/api/v1/public/keys").json()

    good = _verify_cli(tmp_path, document, keys)
    assert good.returncode == 0, good.stderr
    assert f"signed by key {document['signature']['key_id']}" in good.stdout

    body["total"] = body["total"] + 50
    forged = {**document, "payload": json.dumps(body)}
    bad = _verify_cli(tmp_path, forged, keys)
    assert bad.returncode == 1
    assert "altered" in " ".join(bad.stderr.split())


def test_a_code_that_is_not_authentic_has_no_signed_slip(client, exam):
    code = _slip_code(client, exam)
    serial, _, mac = code.partition("-")
    forged = f"{serial}-{'A' * len(mac)}"
    response = client.get(f"/api/v1/public/slips/{forged}/signed")
    assert response.status_code == 404
    assert "altered" in response.json()["detail"]


def test_after_rotation_old_slips_still_verify_and_name_their_key(client, exam, settings, tmp_path):
    code = _slip_code(client, exam)
    before = client.get(f"/api/v1/public/slips/{code}/signed").json()
    KeyStore(settings.var_dir).rotate(datetime.now(UTC))
    keys = client.get("/api/v1/public/keys").json()
    assert len(keys["keys"]) == 2
    old, new = keys["keys"]
    assert old["valid_until"] is not None
    assert new["valid_until"] is None
    assert before["signature"]["key_id"] == old["key_id"]
    after = client.get(f"/api/v1/public/slips/{code}/signed").json()
    assert after["signature"]["key_id"] == new["key_id"]
    assert _verify_cli(tmp_path, before, keys).returncode == 0
    # Without the old key, the old document cannot be checked: a clear refusal, not a pass.
    only_new = {"keys": [new]}
    refused = _verify_cli(tmp_path, before, only_new)
    assert refused.returncode == 1
    assert old["key_id"] in refused.stderr


def test_a_published_ranking_is_signed_with_the_audit_heads_and_anchors_the_log(
    client, exam, staff_headers, database_url, tmp_path
):
    from app.models.staff import Role

    _slip_code(client, exam)
    published = client.post("/api/v1/exams/MINI/rankings", headers=staff_headers(Role.COMMITTEE))
    assert published.status_code == 200, published.text
    [document] = client.get("/api/v1/public/rankings/MINI/signed").json()
    body = json.loads(document["payload"])
    assert body["kind"] == "ujian-ranking-snapshot"
    assert body["content_hash"] == published.json()[0]["content_hash"]
    assert "attempt:" in " ".join(body["audit_heads"])
    keys = client.get("/api/v1/public/keys").json()
    assert _verify_cli(tmp_path, document, keys).returncode == 0

    body["rows"][0]["total"] = 99
    forged = _verify_cli(tmp_path, {**document, "payload": json.dumps(body)}, keys)
    assert forged.returncode == 1

    # The snapshot anchors the audit log: `ujian audit verify --against` it.
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text(json.dumps(document))
    env = {
        **os.environ,
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_VAR_DIR": str(tmp_path / "x"),
    }
    keys_file = tmp_path / "keys.json"
    command = ["audit", "verify", "--against", str(snapshot), "--keys", str(keys_file)]
    checked = subprocess.run(
        [sys.executable, "-m", "app.cli", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    assert "head(s) of" in checked.stdout


def _first_key_id(var_dir: str) -> str:
    return KeyStore(__import__("pathlib").Path(var_dir)).public_keys()[0].key_id


def test_workers_starting_together_sign_with_one_key(tmp_path):
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(4) as pool:
        ids = list(pool.map(_first_key_id, [str(tmp_path)] * 8))
    assert len(set(ids)) == 1
    assert len(KeyStore(tmp_path).public_keys()) == 1


def test_keys_show_and_rotate_on_the_command_line(tmp_path):
    env = {**os.environ, "UJIAN_SECRET_KEY": TEST_SECRET, "UJIAN_VAR_DIR": str(tmp_path)}

    def run(*args):
        done = subprocess.run(
            [sys.executable, "-m", "app.cli", "keys", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    [first] = json.loads(run("show", "--json"))["keys"]
    assert "new signing key" in run("rotate")
    old, new = json.loads(run("show", "--json"))["keys"]
    assert old["key_id"] == first["key_id"]
    assert old["valid_until"] is not None
    assert new["valid_until"] is None
    assert new["key_id"] in run("show")
