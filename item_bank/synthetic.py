"""Synthetic item banks of realistic shape (SKD's TWK/TIU/TKP) for tests, templates and benchmarks.

The items are valid as they come (text already sanitized), so writing them to any format and
reading them back gives the same content hashes. The writers stream: a 50,000-item CSV or XLSX
is written without holding the items together.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import IO, TextIO

import numpy as np

from item_bank.formats.tabular import COLUMNS, OPTION_COLUMNS, POINTS_COLUMNS
from item_bank.models import (
    OPTION_LABELS,
    DifficultyLevel,
    IRTParams,
    Item,
    ItemStatus,
    Option,
    ScoringKind,
)
from item_bank.sanitize import sanitize_html


@dataclass(frozen=True, slots=True)
class SyntheticSection:
    """A section to generate: its code, how its items score, and its topics."""

    code: str
    scoring: ScoringKind
    topics: tuple[str, ...]
    options: int = 5


#: The SKD's three sections with topics as the BKN grid names them.
SKD_SECTIONS: tuple[SyntheticSection, ...] = (
    SyntheticSection(
        "TWK",
        ScoringKind.SINGLE,
        (
            "pancasila",
            "uud_1945",
            "nkri",
            "bhinneka_tunggal_ika",
            "nasionalisme",
            "integritas",
            "bela_negara",
            "bahasa_negara",
        ),
    ),
    SyntheticSection(
        "TIU",
        ScoringKind.SINGLE,
        (
            "analogi",
            "silogisme",
            "analitis",
            "deret_angka",
            "perbandingan_kuantitatif",
            "soal_cerita",
            "figural",
        ),
    ),
    SyntheticSection(
        "TKP",
        ScoringKind.WEIGHTED,
        (
            "pelayanan_publik",
            "jejaring_kerja",
            "sosial_budaya",
            "teknologi_informasi",
            "profesionalisme",
            "anti_radikalisme",
        ),
    ),
)

_SUBJECTS = (
    "Seorang pegawai", "Kepala bidang", "Masyarakat desa", "Tim kerja", "Pemerintah daerah",
    "Seorang warga", "Panitia seleksi", "Rekan kerja Anda", "Atasan Anda", "Petugas layanan",
)  # fmt: skip
_VERBS = (
    "menerima keluhan tentang", "diminta menyusun", "menemukan kesalahan pada", "membahas",
    "menolak usulan mengenai", "menyampaikan pendapat tentang", "mengevaluasi", "menunda",
)  # fmt: skip
_OBJECTS = (
    "laporan keuangan", "pelayanan administrasi", "program kerja tahunan", "data kependudukan",
    "aturan kepegawaian", "anggaran kegiatan", "jadwal rapat koordinasi", "sistem informasi",
)  # fmt: skip
_QUESTIONS = (
    "Apa yang sebaiknya dilakukan?", "Manakah pernyataan yang paling tepat?",
    "Sikap Anda adalah ...", "Makna yang terkandung di dalamnya adalah ...",
    "Kesimpulan yang benar adalah ...",
)  # fmt: skip
_ANSWERS = (
    "menyelesaikan tugas sesuai prosedur", "berkoordinasi dengan atasan", "menunda pekerjaan",
    "meminta bantuan rekan", "mengabaikan masalah tersebut", "mencari informasi tambahan",
    "melaporkan kepada pihak berwenang", "mengutamakan kepentingan umum",
    "menjelaskan aturan dengan sopan", "menggunakan teknologi informasi",
)  # fmt: skip


def _stem(rng: np.random.Generator, index: int) -> str:
    subject = _SUBJECTS[rng.integers(len(_SUBJECTS))]
    verb = _VERBS[rng.integers(len(_VERBS))]
    thing = _OBJECTS[rng.integers(len(_OBJECTS))]
    question = _QUESTIONS[rng.integers(len(_QUESTIONS))]
    shape = index % 4
    if shape == 0:
        return f"<p>{subject} {verb} {thing}.</p><p><strong>{question}</strong></p>"
    if shape == 1:
        # Plain text with characters that must stay readable (what spreadsheet authors write).
        x, y = int(rng.integers(2, 50)), int(rng.integers(51, 99))
        return (
            f"Jika x = {x} dan y = {y}, maka x < y & {subject.lower()} {verb} {thing}. {question}"
        )
    if shape == 2:
        return f"<p>{subject} {verb} {thing} (nomor {index}).</p><p>{question}</p>"
    return f"{subject} {verb} {thing}. {question}"


def synthetic_items(
    n: int,
    *,
    seed: int,
    sections: Sequence[SyntheticSection] = SKD_SECTIONS,
    irt: bool = False,
    start: int = 1,
) -> Iterator[Item]:
    """Generate ``n`` valid items, cycling through ``sections``.

    Parameters
    ----------
    n
        How many items.
    seed
        Seed of the ``numpy`` generator: the same seed gives the same bank.
    sections
        Sections to draw from, in turn (default: SKD's TWK, TIU and TKP).
    irt
        Also give 3PL IRT parameters: ``a`` ~ lognormal(0, 0.3), ``b`` ~ N(0, 1),
        ``c`` ~ U(0, 0.25).
    start
        Number of the first item (codes are ``<section>-<number>``, six digits).

    Yields
    ------
    Item
        Single items with one key, weighted items whose options carry 1-5 points each;
        p-values ~ Beta(5, 3) with the matching level; about 3 % drafts.
    """
    rng = np.random.default_rng(seed)
    for offset in range(n):
        number = start + offset
        section = sections[offset % len(sections)]
        topic = section.topics[int(rng.integers(len(section.topics)))]
        count = section.options
        answers = rng.choice(len(_ANSWERS), size=count, replace=False)
        labels = OPTION_LABELS[:count]
        texts = [
            f"{_ANSWERS[a].capitalize()} ({number}-{label})"
            for a, label in zip(answers, labels, strict=True)
        ]
        p_value = round(float(rng.beta(5, 3)), 3)
        level = (
            DifficultyLevel.EASY
            if p_value >= 0.7
            else DifficultyLevel.HARD
            if p_value < 0.4
            else DifficultyLevel.MEDIUM
        )
        params = None
        if irt:
            params = IRTParams(
                a=round(float(rng.lognormal(0.0, 0.3)), 3),
                b=round(float(rng.normal(0.0, 1.0)), 3),
                c=round(float(rng.uniform(0.0, 0.25)), 3),
            )
        status = ItemStatus.DRAFT if rng.random() < 0.03 else ItemStatus.ACTIVE
        if section.scoring is ScoringKind.WEIGHTED:
            points = rng.permutation(np.arange(1, count + 1))
            options = tuple(
                Option(label=label, text=sanitize_html(text), points=float(p))
                for label, text, p in zip(labels, texts, points, strict=True)
            )
            key = None
        else:
            options = tuple(
                Option(label=label, text=sanitize_html(text))
                for label, text in zip(labels, texts, strict=True)
            )
            key = labels[int(rng.integers(count))]
        yield Item(
            code=f"{section.code}-{number:06d}",
            section=section.code,
            topic=topic,
            stem=sanitize_html(_stem(rng, number)),
            options=options,
            scoring=section.scoring,
            key=key,
            status=status,
            p_value=p_value,
            level=level,
            irt=params,
        )


def _number(value: float | None, decimal_comma: bool) -> str:
    if value is None:
        return ""
    text = str(int(value)) if float(value).is_integer() else repr(value)
    return text.replace(".", ",") if decimal_comma else text


def item_row(item: Item, *, decimal_comma: bool = False) -> list[str]:
    """One item as a row of the CSV template (`COLUMNS` order), every cell text."""
    cells = dict.fromkeys(COLUMNS, "")
    cells |= {
        "code": item.code,
        "section": item.section,
        "topic": item.topic,
        "stem": item.stem,
        "scoring": str(item.scoring),
        "key": item.key or "",
        "p_value": _number(item.p_value, decimal_comma),
        "level": str(item.level) if item.level else "",
        "status": str(item.status),
        "media": " ".join(m.name for m in item.media),
    }
    if item.irt is not None:
        cells["irt_a"] = _number(item.irt.a, decimal_comma)
        cells["irt_b"] = _number(item.irt.b, decimal_comma)
        cells["irt_c"] = _number(item.irt.c, decimal_comma)
    for option, text_column, points_column in zip(
        item.options, OPTION_COLUMNS, POINTS_COLUMNS, strict=False
    ):
        cells[text_column] = option.text
        cells[points_column] = _number(option.points, decimal_comma)
    return [cells[c] for c in COLUMNS]


def write_csv(
    items: Iterable[Item],
    out_text: TextIO,
    *,
    delimiter: str = ",",
    decimal_comma: bool = False,
) -> int:
    """Write items as a CSV bank file of the template's columns (streamed).

    Parameters
    ----------
    items
        The items; options are written by position (``option_a`` holds the first option).
    out_text
        A text stream opened with ``newline=""``.
    delimiter
        ``,`` or ``;`` (as an Indonesian-locale spreadsheet saves).
    decimal_comma
        Write ``0,62`` for 0.62 (pair with ``;``).

    Returns
    -------
    int
        How many items were written.
    """
    writer = csv.writer(out_text, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    for item in items:
        writer.writerow(item_row(item, decimal_comma=decimal_comma))
        count += 1
    return count


def write_xlsx(items: Iterable[Item], out_binary: IO[bytes]) -> int:
    """Write items as an XLSX bank file (sheet ``items``, numbers typed), streamed.

    Parameters
    ----------
    items
        The items.
    out_binary
        A binary stream for the workbook.

    Returns
    -------
    int
        How many items were written.
    """
    from openpyxl import Workbook  # imported here: only XLSX writing pays for it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("items")
    sheet.append(list(COLUMNS))
    numeric = {"p_value", "irt_a", "irt_b", "irt_c", *POINTS_COLUMNS}
    count = 0
    for item in items:
        row: list[object] = []
        for column, cell in zip(COLUMNS, item_row(item), strict=True):
            row.append(float(cell) if column in numeric and cell else cell or None)
        sheet.append(row)
        count += 1
    workbook.save(out_binary)
    return count
