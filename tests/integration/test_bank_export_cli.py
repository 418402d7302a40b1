"""`ujian bank export` checks the file name before writing, and counts images as import does."""

from __future__ import annotations

import json
import re

from tests.integration.test_cli import DEMO_BANK, ujian  # noqa: F401 - the fixture

NEW_ITEM = {
    "code": "CLI-NEW-1",
    "section": "TWK",
    "topic": "nkri",
    "stem": "<p>Soal baru</p>",
    "scoring": "single",
    "key": "A",
    "options": [{"label": label, "text": f"Jawaban {label}"} for label in "ABCD"],
}


def test_a_refused_export_name_exits_2_and_writes_nothing(ujian, tmp_path):  # noqa: F811
    assert ujian("bank", "import", str(DEMO_BANK), "--json").returncode == 0
    wrong = tmp_path / "bank.json"
    refused = ujian("bank", "export", "--format", "json", "--out", str(wrong))
    assert refused.returncode == 2
    assert ".zip" in refused.stderr
    assert not wrong.exists()
    assert (
        ujian("bank", "export", "--format", "yaml", "--out", str(tmp_path / "b.zip")).returncode
        == 2
    )

    package = tmp_path / "bank.zip"
    written = ujian("bank", "export", "--format", "json", "--out", str(package))
    assert written.returncode == 0, written.stderr
    images = int(re.search(r"\((\d+) images", written.stdout).group(1))
    assert images > 0
    again = json.loads(ujian("bank", "import", str(package), "--json").stdout)
    assert again["media"] == images
    assert (again["created"], again["new_versions"]) == (0, 0)


def test_import_refuses_an_unrelated_item_unless_new_versions_is_given(ujian, tmp_path):  # noqa: F811
    first = tmp_path / "first.json"
    first.write_text(json.dumps({"format": "ujian-bank/1", "items": [NEW_ITEM]}))
    assert ujian("bank", "import", str(first)).returncode == 0
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({"format": "ujian-bank/1", "items": [{**NEW_ITEM, "key": "B"}]}))
    refused = ujian("bank", "import", str(changed), "--json")
    assert refused.returncode == 1
    assert "'CLI-NEW-1'" in json.loads(refused.stdout)["errors"][0]["message"]
    dry = ujian("bank", "import", str(changed), "--new-versions", "--dry-run")
    assert dry.returncode == 0
    assert "would become a new version: CLI-NEW-1" in dry.stdout
    asked = json.loads(ujian("bank", "import", str(changed), "--new-versions", "--json").stdout)
    assert (asked["new_versions"], asked["versioned"]) == (1, ["CLI-NEW-1"])
