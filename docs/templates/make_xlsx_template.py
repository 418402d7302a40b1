"""Build bank-template.xlsx from bank-template.csv: the same rows, typed, plus a sheet of help.

    .venv/bin/python docs/templates/make_xlsx_template.py

The importer reads the sheet named ``items``; the ``petunjuk`` (instructions) sheet is ignored.
"""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Font

from item_bank.formats import ParsedItem, open_bank_file
from item_bank.formats.tabular import ALL_COLUMNS, COLUMNS, POINTS_COLUMNS
from item_bank.synthetic import item_row

HERE = Path(__file__).parent
NUMERIC = {"p_value", "irt_a", "irt_b", "irt_c", *POINTS_COLUMNS}

HELP = [
    ("code", "Kode soal unik (huruf, angka, . _ -), maks. 64 karakter", "Unique item code"),
    ("section", "Kode subtes: TWK, TIU, TKP ...", "Section code"),
    ("topic", "Topik/kisi-kisi soal", "Topic of the blueprint"),
    ("stem", "Teks soal (teks biasa atau HTML sederhana)", "Question text (plain or simple HTML)"),
    ("scoring", "single (satu kunci) atau weighted (bobot tiap opsi)", "single or weighted"),
    ("key", "Kunci jawaban A-F (hanya untuk single)", "Correct option A-F (single only)"),
    ("option_a ... option_f", "Teks opsi; minimal 2, maksimal 6, berurutan", "Option texts, 2-6"),
    ("points_a ... points_f", "Bobot opsi 0-5 (hanya untuk weighted)", "Option points (weighted)"),
    ("p_value", "Tingkat kesukaran 0-1 (boleh kosong)", "Difficulty 0-1 (optional)"),
    ("level", "easy/mudah, medium/sedang, hard/sulit (boleh kosong)", "Level (optional)"),
    ("irt_a, irt_b, irt_c", "Parameter IRT (boleh kosong)", "IRT parameters (optional)"),
    ("status", "draft, active (bawaan) atau retired", "draft, active (default) or retired"),
    ("media", "Nama berkas gambar dalam paket ZIP", "Image files in the ZIP package"),
    (
        "shuffle",
        "tidak/no: urutan opsi tidak diacak (benar/salah, bilangan berurutan); kosong: diacak",
        "no: options keep their order on every form; blank: shuffled",
    ),
    (
        "fixed",
        'Opsi yang tetap di tempatnya saat opsi lain diacak, mis. E ("Tidak ada di atas")',
        "Options that keep their place while the others shuffle, e.g. E",
    ),
]


def main() -> None:
    source = HERE / "bank-template.csv"
    with source.open("rb") as stream:
        records = list(open_bank_file(source.name, stream).records())
    problems = [r for r in records if not isinstance(r, ParsedItem)]
    if problems:
        raise SystemExit("\n".join(str(p) for p in problems))
    book = Workbook()
    items = book.active
    assert items is not None
    items.title = "items"
    items.append(list(ALL_COLUMNS))
    for cell in items[1]:
        cell.font = Font(bold=True)
    for record in records:
        assert isinstance(record, ParsedItem)
        item = record.item
        cells = item_row(item)
        fixed = " ".join(o.label for o in item.options if o.fixed)
        items.append(
            [
                float(value) if column in NUMERIC and value else value or None
                for column, value in zip(COLUMNS, cells, strict=True)
            ]
            + [None if item.shuffle else "tidak", fixed or None]
        )
    items.freeze_panes = "B2"
    guide = book.create_sheet("petunjuk")
    guide.append(["kolom / column", "petunjuk", "guide"])
    for row in HELP:
        guide.append(list(row))
    for column, width in zip("ABC", (24, 60, 40), strict=True):
        guide.column_dimensions[column].width = width
    book.save(HERE / "bank-template.xlsx")


if __name__ == "__main__":
    main()
