"""Roster CSVs read by ``app.services.roster``: every row problem at once, each located."""

from __future__ import annotations

from datetime import date

import pytest

from app.services import exams, roster
from item_bank.errors import InvalidInput
from item_bank.exam_spec import parse_exam_spec
from tests.support.factory import SMALL_SPEC

SPEC = parse_exam_spec(SMALL_SPEC.format(duration=10), "mini.yaml")


def test_a_semicolon_roster_with_indonesian_headers_is_read() -> None:
    data = (
        b"nomor peserta;nama;kategori;formasi;tambahan_menit;ipk;tanggal_lahir\n"
        b"2026000001;Siti Aminah;umum;F1;15;3,45;21-07-1998\n"
        b"\n"
        b"2026000002;Budi;disabilitas;F1;;;\n"
    )
    rows = roster.parse_roster(data, "roster.csv", SPEC)
    assert rows == [
        roster.RosterRow("2026000001", "Siti Aminah", "umum", "F1", 15, 3.45, date(1998, 7, 21)),
        roster.RosterRow("2026000002", "Budi", "disabilitas", "F1", 0, None, None),
    ]


def test_every_row_problem_is_reported_with_its_row_and_column() -> None:
    data = (
        b"nomor_peserta,name,category,formation,extra_minutes\n"
        b"2026000001,Siti,umum,F1,15\n"
        b"2026000001,Budi,umum,F1,0\n"
        b"2026/03,Ani,guru,F9,900\n"
    )
    with pytest.raises(InvalidInput) as raised:
        roster.parse_roster(data, "roster.csv", SPEC)
    found = {(p.location, p.field) for p in raised.value.problems}
    assert found == {
        ("row 3", "nomor_peserta"),
        ("row 4", "nomor_peserta"),
        ("row 4", "category"),
        ("row 4", "formation"),
        ("row 4", "extra_minutes"),
    }
    twice = next(p for p in raised.value.problems if p.location == "row 3")
    assert "also row 2" in twice.message


def test_the_exam_module_still_hands_out_the_roster_functions() -> None:
    # Callers that import rosters through app.services.exams reach the same functions.
    assert exams.import_roster is roster.import_roster
    assert exams.IssuedPin is roster.IssuedPin
    with pytest.raises(AttributeError, match="no attribute 'RosterReport'"):
        _ = exams.RosterReport
