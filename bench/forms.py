"""Benchmark: draw SKD-shaped forms, measure speed, parallelism (expected-score spread) and overlap.

Synthetic banks built straight from numpy: every blueprint cell of the spec below holds its
share of the bank, p-values drawn from Beta(2.2, 1.8) (mean 0.55) and kept inside the cell's
difficulty band, TKP items (weighted) without a p-value. The spec is SKD's shape with strata:
TWK 30 (9 easy / 12 medium / 9 hard), TIU 35 (topic × difficulty grid of the shipped SKD spec),
TKP 45 (six topic quotas).

    .venv/bin/python -m bench.forms [--spread-forms 10000] [--seats 300]

Figures:

1. Speed on a 50,000-item bank: one ``draw_form`` call (median over 2,000 slots, plan included),
   then ``draw_forms`` for a 1,000-seat sitting.
2. Parallel forms: the expected score of a form, Σ p over its 65 dichotomous items (× 5 for
   points), over ``--spread-forms`` stratified forms of one sitting against as many plain
   random forms (``random_form``: topic quotas kept, strata ignored).
3. Overlap in a ``--seats`` sitting drawn from banks of about 2×, 5× and 20× the section sizes
   (each cell 0.8-1.25 × that multiple of its quota): the mean number of items two forms share
   over all pairs, the floor no drawing can beat (every cell's exposure spread evenly), the
   same for plain random forms, adjacent slots and the worst pair, and each item's exposure
   rate (the share of the sitting's forms that hold it).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time

import numpy as np
from numpy.typing import NDArray

from item_bank.assembly import (
    Form,
    FormSeed,
    draw_form,
    draw_forms,
    exposure_counts,
    mean_pairwise_overlap,
    random_form,
)
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.exam_spec import ExamSpec, parse_exam_spec
from item_bank.models import DifficultyLevel
from scoring.rules import SectionScoringKind

SPEC_YAML = """
code: BENCH-SKD
title: SKD-shaped benchmark exam
duration_minutes: 100
sections:
  - code: TWK
    name: Tes Wawasan Kebangsaan
    item_count: 30
    scoring: {kind: dichotomous, correct: 5}
    blueprint:
      strata: {easy: 9, medium: 12, hard: 9}
  - code: TIU
    name: Tes Intelegensia Umum
    item_count: 35
    scoring: {kind: dichotomous, correct: 5}
    blueprint:
      cells:
        verbal:  {easy: 4, medium: 5, hard: 3}
        numerik: {easy: 3, medium: 5, hard: 4}
        figural: {easy: 3, medium: 5, hard: 3}
  - code: TKP
    name: Tes Karakteristik Pribadi
    item_count: 45
    scoring: {kind: weighted, max_option_points: 5}
    blueprint:
      topics: {pelayanan_publik: 8, jejaring_kerja: 8, sosial_budaya: 8,
               teknologi_informasi: 7, profesionalisme: 7, anti_radikalisme: 7}
"""

TWK_TOPICS = ("pancasila", "uud1945", "nkri", "bhinneka_tunggal_ika", "nasionalisme")
BANK_SIZE = 50_000
BANK_SEED = 20_240_601


def band_p_values(
    rng: np.random.Generator, n: int, stratum: DifficultyLevel | None, spec: ExamSpec
) -> NDArray[np.float64]:
    """``n`` p-values from Beta(2.2, 1.8), kept inside ``stratum``'s band (rejection sampling)."""
    low, high = 0.0, 1.0
    bands = spec.difficulty_bands
    if stratum is DifficultyLevel.EASY:
        low = bands.easy_min_p
    elif stratum is DifficultyLevel.MEDIUM:
        low, high = bands.hard_below_p, bands.easy_min_p
    elif stratum is DifficultyLevel.HARD:
        high = bands.hard_below_p
    out = np.empty(0)
    while out.size < n:
        draw = rng.beta(2.2, 1.8, size=4 * n + 16)
        out = np.concatenate([out, draw[(draw >= low) & (draw < high)]])
    return out[:n]


def synthetic_bank(
    spec: ExamSpec, cell_sizes: dict[tuple[str, int], int], seed: int
) -> list[BankEntry]:
    """Entries for every cell, ``cell_sizes[(section, cell number)]`` items each."""
    rng = np.random.default_rng(seed)
    entries: list[BankEntry] = []
    next_id = 1
    for section in spec.sections:
        weighted = section.scoring.kind is SectionScoringKind.WEIGHTED
        for number, cell in enumerate(section.blueprint.cells):
            size = cell_sizes[(section.code, number)]
            p_values = band_p_values(rng, size, cell.stratum, spec)
            topics = (
                rng.choice(TWK_TOPICS, size=size) if cell.topic is None else [cell.topic] * size
            )
            n_options = rng.choice([4, 5], size=size, p=[0.1, 0.9])
            for k in range(size):
                entries.append(
                    BankEntry(
                        id=next_id,
                        section=section.code,
                        topic=str(topics[k]),
                        n_options=int(n_options[k]),
                        p_value=None if weighted else float(p_values[k]),
                    )
                )
                next_id += 1
    return entries


def proportional_sizes(spec: ExamSpec, total: int) -> dict[tuple[str, int], int]:
    """Cell sizes that split ``total`` items in proportion to the cells' quotas."""
    return {
        (section.code, number): round(total * cell.count / spec.item_count)
        for section in spec.sections
        for number, cell in enumerate(section.blueprint.cells)
    }


def multiple_sizes(spec: ExamSpec, multiple: int) -> dict[tuple[str, int], int]:
    """Cell sizes of ``multiple`` × each cell's quota."""
    return {
        (section.code, number): multiple * cell.count
        for section in spec.sections
        for number, cell in enumerate(section.blueprint.cells)
    }


def expected_scores(forms: list[Form], snapshot: BankSnapshot) -> NDArray[np.float64]:
    """Σ p over each form's items that have a p-value."""
    p_of = snapshot.p_values
    out = np.empty(len(forms))
    for i, form in enumerate(forms):
        rows = np.searchsorted(snapshot.ids, np.fromiter(form.entry_ids, np.int64, len(form)))
        out[i] = np.nansum(p_of[rows])
    return out


def overlap_floor(spec: ExamSpec, snapshot: BankSnapshot, seats: int) -> float:
    """Least possible mean pairwise overlap: every cell's exposures spread evenly."""
    pairs_sum = 0.0
    for section in spec.sections:
        for cell in section.blueprint.cells:
            m = snapshot.available(section.code, cell.topic, cell.stratum)
            q, r = divmod(seats * cell.count, m)
            pairs_sum += r * (q + 1) * q + (m - r) * q * (q - 1)
    return pairs_sum / (seats * (seats - 1))


def speed(spec: ExamSpec, snapshot: BankSnapshot) -> None:
    sitting = 987_654_321
    draw_form(spec, snapshot, FormSeed(sitting, 0))  # warm-up
    times = []
    for slot in range(2_000):
        start = time.perf_counter()
        draw_form(spec, snapshot, FormSeed(sitting, slot))
        times.append(time.perf_counter() - start)
    times.sort()
    start = time.perf_counter()
    forms = draw_forms(spec, snapshot, sitting + 1, 1_000)
    sitting_s = time.perf_counter() - start
    assert all(len(f) == spec.item_count for f in forms)
    print("| measure | value |")
    print("|---|---|")
    print(f"| draw_form, median (ms) | {statistics.median(times) * 1e3:.3f} |")
    print(f"| draw_form, 95th percentile (ms) | {times[int(0.95 * len(times))] * 1e3:.3f} |")
    print(f"| draw_forms, 1,000-seat sitting (s) | {sitting_s:.3f} |")


def spread(spec: ExamSpec, snapshot: BankSnapshot, n: int) -> None:
    stratified = expected_scores(draw_forms(spec, snapshot, 42, n), snapshot)
    rng = np.random.default_rng(42)
    plain = expected_scores([random_form(spec, snapshot, rng) for _ in range(n)], snapshot)
    print("| drawing | mean Σp | std Σp | range Σp | std in points | range in points |")
    print("|---|---|---|---|---|---|")
    for name, values in (("stratified (draw_forms)", stratified), ("plain random", plain)):
        width = values.max() - values.min()
        print(
            f"| {name} | {values.mean():.2f} | {values.std(ddof=1):.3f} | {width:.2f} "
            f"| {5 * values.std(ddof=1):.2f} | {5 * width:.1f} |"
        )
    print(f"\nstd ratio stratified / random: {stratified.std(ddof=1) / plain.std(ddof=1):.2f}")


def pair_overlaps(forms: list[Form], snapshot: BankSnapshot) -> NDArray[np.int64]:
    """Items shared by each pair of forms (upper triangle of the form × form co-occurrence)."""
    incidence = np.zeros((len(forms), len(snapshot)), dtype=np.int64)
    for i, form in enumerate(forms):
        rows = np.searchsorted(snapshot.ids, np.fromiter(form.entry_ids, np.int64, len(form)))
        incidence[i, rows] = 1
    shared = incidence @ incidence.T
    return shared[np.triu_indices(len(forms), k=1)]


def overlap(spec: ExamSpec, seats: int) -> None:
    print(
        "| bank | items | mean overlap: drawn / floor / random | adjacent slots: drawn / random "
        "| worst pair: drawn / random | exposure rate max: drawn / random "
        "| worst cell's exposure spread: drawn / random |"
    )
    print("|---|---|---|---|---|---|---|")
    for multiple in (2, 5, 20):
        # Cells hold 0.8-1.25 × the multiple of their quota (never less than the quota), as
        # banks rarely split evenly.
        rng = np.random.default_rng(multiple)
        sizes = {
            key: max(round(size * rng.uniform(0.8, 1.25)), size // multiple)
            for key, size in multiple_sizes(spec, multiple).items()
        }
        snapshot = BankSnapshot.from_entries(
            synthetic_bank(spec, sizes, BANK_SEED + multiple), spec.difficulty_bands
        )
        forms = draw_forms(spec, snapshot, 7_000 + multiple, seats)
        baseline = [random_form(spec, snapshot, rng) for _ in range(seats)]
        counts = exposure_counts(forms, snapshot)
        base_counts = exposure_counts(baseline, snapshot)
        pairs, base_pairs = pair_overlaps(forms, snapshot), pair_overlaps(baseline, snapshot)
        adjacent = statistics.mean(
            len(set(a.entry_ids) & set(b.entry_ids)) for a, b in itertools.pairwise(forms)
        )
        base_adjacent = statistics.mean(
            len(set(a.entry_ids) & set(b.entry_ids)) for a, b in itertools.pairwise(baseline)
        )
        spread, base_spread = (
            cell_spread(spec, snapshot, counts),
            cell_spread(spec, snapshot, base_counts),
        )
        print(
            f"| {multiple}× | {len(snapshot)} "
            f"| {mean_pairwise_overlap(counts, seats):.2f} / "
            f"{overlap_floor(spec, snapshot, seats):.2f} / "
            f"{mean_pairwise_overlap(base_counts, seats):.2f} "
            f"| {adjacent:.2f} / {base_adjacent:.2f} | {pairs.max()} / {base_pairs.max()} "
            f"| {counts.max() / seats:.3f} / {base_counts.max() / seats:.3f} "
            f"| {spread} / {base_spread} |"
        )


def cell_spread(spec: ExamSpec, snapshot: BankSnapshot, counts: NDArray[np.int64]) -> int:
    """The largest gap between the most and least shown item of one blueprint cell."""
    return max(
        int(np.ptp(counts[snapshot.rows(s.code, c.topic, c.stratum)]))
        for s in spec.sections
        for c in s.blueprint.cells
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spread-forms", type=int, default=10_000)
    parser.add_argument("--seats", type=int, default=300)
    args = parser.parse_args()

    spec = parse_exam_spec(SPEC_YAML, "bench.yaml")
    start = time.perf_counter()
    entries = synthetic_bank(spec, proportional_sizes(spec, BANK_SIZE), BANK_SEED)
    built = time.perf_counter()
    snapshot = BankSnapshot.from_entries(entries, spec.difficulty_bands)
    indexed = time.perf_counter()
    print(
        f"bank: {len(snapshot)} items; entries built in {built - start:.2f} s, "
        f"snapshot indexed in {(indexed - built) * 1e3:.0f} ms\n"
    )
    print("## Speed (50,000-item bank, 110-item form)\n")
    speed(spec, snapshot)
    print(f"\n## Expected-score spread over {args.spread_forms:,} forms (50,000-item bank)\n")
    spread(spec, snapshot, args.spread_forms)
    print(f"\n## Overlap in a {args.seats}-seat sitting\n")
    overlap(spec, args.seats)


if __name__ == "__main__":
    main()
