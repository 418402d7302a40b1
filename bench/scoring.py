"""Benchmark: score, threshold and rank a national SKD (1,000,000 attempts of 110 items).

Synthetic exam: TWK 30 and TIU 35 items (5 / 0 / 0), TKP 45 items weighted 1-5, drawn from a
50,000-row points table; five candidate categories with the 2021-2024 SKD thresholds; 2,000
formations; 2 % of registered candidates absent (TH). The same rules written in plain Python
run on the first 100,000 attempts, and both pipelines must agree row for row on those.

    .venv/bin/python -m bench.scoring [--attempts 1000000] [--python-attempts 100000] [--repeat 3]

(As a module: run as a file, its own name would shadow the ``scoring`` package.)
"""

from __future__ import annotations

import argparse
import gc
import resource
import sys
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from scoring.ranking import (
    SKD_TIE_BREAKS,
    Formation,
    Ranking,
    RankInput,
    rank_formations,
)
from scoring.rules import (
    ItemScoringRow,
    PointsTable,
    SectionRule,
    SectionScoring,
    SectionScoringKind,
    build_points_table,
    score_attempts,
)
from scoring.thresholds import Minimum, ThresholdRuleSet, evaluate_thresholds

SECTIONS = (
    SectionRule(
        "TWK", "Tes Wawasan Kebangsaan", 30, SectionScoring(SectionScoringKind.DICHOTOMOUS)
    ),
    SectionRule("TIU", "Tes Intelegensia Umum", 35, SectionScoring(SectionScoringKind.DICHOTOMOUS)),
    SectionRule(
        "TKP", "Tes Karakteristik Pribadi", 45, SectionScoring(SectionScoringKind.WEIGHTED)
    ),
)
RULE_SETS = (
    ThresholdRuleSet(
        "umum", (Minimum(("TWK",), 65), Minimum(("TIU",), 80), Minimum(("TKP",), 166))
    ),
    ThresholdRuleSet("cumlaude", (Minimum((), 311), Minimum(("TIU",), 85))),
    ThresholdRuleSet("diaspora", (Minimum((), 311), Minimum(("TIU",), 85))),
    ThresholdRuleSet("disabilitas", (Minimum((), 286), Minimum(("TIU",), 60))),
    ThresholdRuleSet("papua", (Minimum((), 286), Minimum(("TIU",), 60))),
)
CATEGORY_SHARE = (0.90, 0.03, 0.01, 0.02, 0.04)
TABLE_ROWS = 50_000
ROWS_PER_SECTION = (14_000, 16_000, 20_000)
N_FORMATIONS = 2_000
ABSENT_SHARE = 0.02


@dataclass
class Exam:
    """The synthetic exam and its candidates."""

    table: PointsTable
    keys_of_rows: NDArray[np.int8]
    forms: NDArray[np.int32]
    responses: NDArray[np.int8]
    categories: NDArray[np.str_]
    formation_of: NDArray[np.int32]
    absent_formation_of: NDArray[np.int32]
    formations: tuple[Formation, ...]


def build_exam(n_attempts: int, seed: int = 2024) -> Exam:
    """Generate the exam block by block so generation never needs much more than the result."""
    rng = np.random.default_rng(seed)
    rows: list[ItemScoringRow] = []
    keys = np.full(TABLE_ROWS, -1, dtype=np.int8)
    tkp_points = []
    for section, count in zip(SECTIONS, ROWS_PER_SECTION, strict=True):
        for _ in range(count):
            if section.scoring.kind is SectionScoringKind.DICHOTOMOUS:
                key = int(rng.integers(5))
                keys[len(rows)] = key
                rows.append(ItemScoringRow(section.scoring, 5, key, None))
            else:
                points = tuple(float(p) for p in rng.permutation(5) + 1)
                tkp_points.append(points)
                rows.append(ItemScoringRow(section.scoring, 5, None, points))
    table = build_points_table(rows)
    best_option = np.argmax(table.points[:, :5], axis=1).astype(np.int8)

    forms = np.empty((n_attempts, 110), dtype=np.int32)
    responses = np.empty((n_attempts, 110), dtype=np.int8)
    starts = np.cumsum((0, *ROWS_PER_SECTION))
    block = 50_000
    for lo in range(0, n_attempts, block):
        hi = min(lo + block, n_attempts)
        m = hi - lo
        ability = rng.normal(0.0, 1.0, size=(m, 1))
        column = 0
        for k, section in enumerate(SECTIONS):
            count = section.item_count
            rows_k = rng.integers(starts[k], starts[k + 1], size=(m, count), dtype=np.int32)
            forms[lo:hi, column : column + count] = rows_k
            # P(best answer) rises with ability; the rest spread over other options and blank.
            p_best = 1 / (1 + np.exp(-(ability * 1.2 + (0.3 if k == 2 else 0.1))))
            best = rng.random((m, count)) < p_best
            other = rng.integers(-1, 5, size=(m, count), dtype=np.int8)
            responses[lo:hi, column : column + count] = np.where(best, best_option[rows_k], other)
            column += count
    categories = np.array([r.category for r in RULE_SETS])[
        rng.choice(len(RULE_SETS), size=n_attempts, p=CATEGORY_SHARE)
    ]
    openings = rng.integers(1, 25, size=N_FORMATIONS)
    formations = tuple(
        Formation(f"F{k:04d}", f"Instansi {k % 300}", f"Jabatan {k}", int(openings[k]))
        for k in range(N_FORMATIONS)
    )
    # Popular formations draw far more candidates than others, as in real selections.
    weight = 1.0 / np.arange(1, N_FORMATIONS + 1) ** 0.6
    weight /= weight.sum()
    formation_of = rng.choice(N_FORMATIONS, size=n_attempts, p=weight).astype(np.int32)
    n_absent = int(n_attempts * ABSENT_SHARE)
    absent_formation_of = rng.choice(N_FORMATIONS, size=n_absent, p=weight).astype(np.int32)
    return Exam(
        table,
        keys,
        forms,
        responses,
        categories,
        formation_of,
        absent_formation_of,
        formations,
    )


def numpy_pipeline(exam: Exam, n: int) -> dict[str, Ranking]:
    """Score, apply thresholds and rank the first ``n`` attempts plus the absent candidates."""
    scores = score_attempts(exam.table, exam.forms[:n], exam.responses[:n], SECTIONS)
    outcome = evaluate_thresholds(
        scores.section_codes, scores.section_scores, scores.total, RULE_SETS, exam.categories[:n]
    )
    n_absent = exam.absent_formation_of.shape[0]
    total = n + n_absent
    candidates = RankInput(
        keys=np.arange(total, dtype=np.int64),
        section_codes=scores.section_codes,
        section_scores=np.concatenate(
            (scores.section_scores, np.full((n_absent, len(SECTIONS)), np.nan))
        ),
        total=np.concatenate((scores.total, np.full(n_absent, np.nan))),
        passed=np.concatenate((outcome.passed, np.zeros(n_absent, dtype=np.bool_))),
        sat=np.arange(total) < n,
    )
    formation_of = np.concatenate((exam.formation_of[:n], exam.absent_formation_of))
    return rank_formations(candidates, formation_of, exam.formations, SKD_TIE_BREAKS)


def python_pipeline(
    points: list[list[float]],
    forms: list[list[int]],
    responses: list[list[int]],
    categories: list[str],
    formation_of: list[int],
    absent_formation_of: list[int],
    formations: tuple[Formation, ...],
) -> dict[str, list[tuple[int, int, str, float]]]:
    """The same rules without numpy: rows of (key, rank, status, total) per formation."""
    bounds = []
    start = 0
    for section in SECTIONS:
        bounds.append((start, start + section.item_count))
        start += section.item_count
    rule_sets = {r.category: r.minima for r in RULE_SETS}
    codes = [s.code for s in SECTIONS]
    by_formation: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for i, (form, answer) in enumerate(zip(forms, responses, strict=True)):
        item_points = [
            points[row][option if option >= 0 else 6]
            for row, option in zip(form, answer, strict=True)
        ]
        section_scores = [sum(item_points[a:b]) for a, b in bounds]
        total = sum(section_scores)
        by_code = dict(zip(codes, section_scores, strict=True))
        passed = all(
            (sum(by_code[c] for c in m.sections) if m.sections else total) >= m.minimum
            for m in rule_sets[categories[i]]
        )
        by_formation[formation_of[i]].append((i, total, by_code, passed))
    n = len(forms)
    for j, f in enumerate(absent_formation_of):
        by_formation[f].append((n + j, None, None, None))

    out: dict[str, list[tuple[int, int, str, float]]] = {}
    for k, formation in enumerate(formations):
        entries = by_formation.get(k, [])
        ranked = [e for e in entries if e[3]]
        ranked.sort(key=lambda e: (-e[1], -e[2]["TKP"], -e[2]["TIU"], -e[2]["TWK"]))
        rows = []
        previous = None
        rank = 0
        for position, (key, total, sections, _) in enumerate(ranked, start=1):
            sort_key = (total, sections["TKP"], sections["TIU"], sections["TWK"])
            if sort_key != previous:
                rank, previous = position, sort_key
            status = "P/L" if rank <= formation.cut else "P"
            rows.append((key, rank, status, total))
        failed = [e for e in entries if e[3] is False]
        failed.sort(key=lambda e: (-e[1], -e[2]["TKP"], -e[2]["TIU"], -e[2]["TWK"]))
        rows += [(e[0], 0, "T/L", e[1]) for e in failed]
        rows += [(e[0], 0, "TH", float("nan")) for e in entries if e[3] is None]
        out[formation.code] = rows
    return out


def timed(label: str, action: Callable[[], Any]) -> tuple[Any, float]:
    """Run ``action`` once and print its wall time."""
    gc.collect()
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"{label:<54} {elapsed:8.3f} s")
    return result, elapsed


def split_timings(exam: Exam, n: int) -> None:
    """Time the scoring and threshold steps alone, to see where the time goes."""
    scores, _ = timed(
        "  of which score_attempts",
        lambda: score_attempts(exam.table, exam.forms[:n], exam.responses[:n], SECTIONS),
    )
    timed(
        "  of which evaluate_thresholds",
        lambda: evaluate_thresholds(
            scores.section_codes, scores.section_scores, scores.total, RULE_SETS, exam.categories
        ),
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=1_000_000)
    parser.add_argument("--python-attempts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="numpy runs; the best counts")
    args = parser.parse_args(argv)
    n, n_py = args.attempts, min(args.python_attempts, args.attempts)

    print(f"numpy {np.__version__}, Python {sys.version.split()[0]}")
    exam, _ = timed(f"generate {n:,} attempts x 110 items (not scored)", lambda: build_exam(n))
    inputs_mb = (exam.forms.nbytes + exam.responses.nbytes) / 2**20
    print(f"input arrays: forms int32 + responses int8 = {inputs_mb:,.0f} MiB")

    runs = []
    for run in range(args.repeat):
        rankings, seconds = timed(
            f"numpy: score + thresholds + rank {n:,} (run {run + 1})",
            lambda: numpy_pipeline(exam, n),
        )
        runs.append(seconds)
    elapsed = min(runs)
    ranked = sum(int((r.rank > 0).sum()) for r in rankings.values())
    inside = sum(r.inside_cut for r in rankings.values())
    print(f"  {ranked:,} ranked, {inside:,} P/L across {len(rankings):,} formations")
    del rankings
    split_timings(exam, n)

    tracemalloc.start()
    numpy_pipeline(exam, n)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"numpy pipeline peak allocation (tracemalloc) {peak / 2**20:12,.0f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS so far (inputs included) {rss:15,.0f} MiB")

    # Plain Python gets plain lists, as a pure-Python service would hold them.
    points = [[float(v) for v in row] for row in np.nan_to_num(exam.table.points).tolist()]
    forms_py = exam.forms[:n_py].tolist()
    responses_py = exam.responses[:n_py].tolist()
    n_absent_py = int(n_py * ABSENT_SHARE)
    absent_py = exam.absent_formation_of[:n_absent_py].tolist()
    python_rows, python_elapsed = timed(
        f"plain Python: same rules on {n_py:,}",
        lambda: python_pipeline(
            points,
            forms_py,
            responses_py,
            exam.categories[:n_py].tolist(),
            exam.formation_of[:n_py].tolist(),
            absent_py,
            exam.formations,
        ),
    )
    # The numpy pipeline on the same subset must give the same rows.
    subset = Exam(
        exam.table,
        exam.keys_of_rows,
        exam.forms[:n_py],
        exam.responses[:n_py],
        exam.categories[:n_py],
        exam.formation_of[:n_py],
        exam.absent_formation_of[:n_absent_py],
        exam.formations,
    )
    check = numpy_pipeline(subset, n_py)
    for code, rows in python_rows.items():
        ranking = check[code]
        got = list(
            zip(ranking.keys.tolist(), ranking.rank.tolist(), ranking.status.tolist(), strict=True)
        )
        if got != [(k, r, s) for k, r, s, _ in rows]:
            raise SystemExit(f"numpy and plain Python disagree on formation {code}")
    print(f"  numpy and plain Python agree on all {len(python_rows):,} formations")

    per_numpy = elapsed / n
    per_python = python_elapsed / n_py
    print(f"per attempt: numpy {per_numpy * 1e6:.2f} µs, plain Python {per_python * 1e6:.1f} µs")
    print(f"ratio (plain Python / numpy, per attempt): {per_python / per_numpy:,.0f}x")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"process peak RSS, whole run (plain-Python lists included) {rss:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
