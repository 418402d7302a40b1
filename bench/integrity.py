"""Benchmark and power simulations of the integrity analytics (``scoring.integrity``, ``scoring.dif``).

Speed: every integrity index (response times, answer changes, seat similarity, person fit, the
evidence ranking) on **100,000 attempts × 110 items** in sittings of 300 seats, and seat
similarity alone on **1,000 sittings of 300 seats** (300,000 attempts). Targets: under 10 s
each. Power: the simulations of :mod:`scoring.integrity_sim` at full size, printed as markdown
tables (the tables of ``docs/integrity.md``).

    .venv/bin/python -m bench.integrity [--attempts 100000] [--sittings 1000] [--seats 300]
        [--replications 100] [--dif-replications 200] [--repeat 3] [--seed 20261202]
        [--skip-speed] [--skip-power]

(As a module: run as a file, the ``bench/scoring.py`` beside it would shadow the package.)
"""

from __future__ import annotations

import argparse
import platform
import resource
import sys
import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from scoring.integrity.common import score_responses
from scoring.integrity.erasure import erasure_index
from scoring.integrity.evidence import analyse_integrity
from scoring.integrity.person_fit import person_fit
from scoring.integrity.similarity import answer_similarity, neighbour_pairs
from scoring.integrity.timing import timing_indices
from scoring.integrity_sim import (
    DetectionRow,
    dif_markdown_table,
    dif_power,
    integrity_power,
    markdown_table,
    simulate_responses,
    simulate_sitting,
)

T = TypeVar("T")
#: Rows of the per-index breakdown, filled by :func:`all_indices`.
BREAKDOWN: list[str] = []

ROW_LENGTH = 10
CHANGES_PER_ATTEMPT = 3.0


def answer_events(
    responses: NDArray[np.int16], keys: NDArray[np.int64], rng: np.random.Generator
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]:
    """Every saved answer: one per answered item, plus about three earlier answers changed later."""
    n, n_items = responses.shape
    attempt, item = np.nonzero(responses >= 0)
    option = responses[attempt, item].astype(np.int64)
    when = attempt * 1000.0 + item * 5.0 + 1.0
    n_changes = rng.poisson(CHANGES_PER_ATTEMPT, n)
    changed_attempt = np.repeat(np.arange(n), n_changes)
    changed_item = rng.integers(0, n_items, changed_attempt.size)
    earlier = rng.integers(0, 5, changed_attempt.size)
    return (
        np.concatenate([attempt, changed_attempt]),
        np.concatenate([item, changed_item]),
        np.concatenate([option, earlier]),
        np.concatenate([when, changed_attempt * 1000.0 + changed_item * 5.0]),
    )


def timed(call: Callable[[], T], repeat: int) -> tuple[float, float, T]:
    """Best wall time, the CPU time of that run, and the call's result."""
    best_wall, best_cpu = float("inf"), float("inf")
    result = call()  # a warm-up run in the process, not timed
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        result = call()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if wall < best_wall:
            best_wall, best_cpu = wall, cpu
    return best_wall, best_cpu, result


def all_indices(args: argparse.Namespace, rng: np.random.Generator) -> tuple[float, float, int]:
    """Time :func:`analyse_integrity` with every input on a simulated national sitting."""
    data = simulate_sitting(args.attempts, 110, rng)
    sitting = np.arange(args.attempts) // args.seats
    seat = np.arange(args.attempts) % args.seats + 1
    events = answer_events(data.responses, data.keys, rng)
    moves = rng.poisson(0.01, args.attempts)

    def run() -> int:
        analysis = analyse_integrity(
            data.responses,
            keys=data.keys,
            times=data.times,
            events=events,
            sitting=sitting,
            seat=seat,
            row_length=ROW_LENGTH,
            guessing=0.2,
            device_moves=moves,
        )
        return len(analysis.ranking)

    wall, cpu, flagged = timed(run, args.repeat)
    scored = score_responses(data.responses, keys=data.keys)
    parts = {
        "response times": lambda: timing_indices(data.times, scored.correct),
        "answer changes": lambda: erasure_index(
            *events, best_option=data.keys, total_score=scored.number_correct
        ),
        "seat similarity (pairs included)": lambda: answer_similarity(
            data.responses,
            neighbour_pairs(sitting, seat, row_length=ROW_LENGTH),
            keys=data.keys,
        ),
        "person fit": lambda: person_fit(scored, guessing=0.2),
    }
    for name, call in parts.items():
        part_wall, part_cpu, _ = timed(call, 1)
        BREAKDOWN.append(f"| of which {name} | {part_wall:.2f} s | {part_cpu:.2f} s |")
    return wall, cpu, flagged


def speed(args: argparse.Namespace) -> list[str]:
    rng = np.random.default_rng(args.seed)
    wall_all, cpu_all, n_flagged = all_indices(args, rng)
    responses, keys = simulate_responses(args.sittings * args.seats, 110, rng)
    big_sitting = np.arange(responses.shape[0]) // args.seats
    big_seat = np.arange(responses.shape[0]) % args.seats + 1
    wall_pairs, cpu_pairs, pairs = timed(
        lambda: neighbour_pairs(big_sitting, big_seat, row_length=ROW_LENGTH), args.repeat
    )
    wall_sim, cpu_sim, similar = timed(
        lambda: answer_similarity(responses, pairs, keys=keys),
        args.repeat,
    )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [
        "| measure | wall (best of runs) | CPU of that run |",
        "|---|---|---|",
        f"| all indices + ranking, {args.attempts:,} attempts × 110 items "
        f"| **{wall_all:.2f} s** | {cpu_all:.2f} s |",
        *BREAKDOWN,
        f"| neighbour pairs, {args.sittings:,} sittings × {args.seats} seats "
        f"({len(pairs):,} pairs) | {wall_pairs:.2f} s | {cpu_pairs:.2f} s |",
        f"| similarity of those pairs | **{wall_sim:.2f} s** | {cpu_sim:.2f} s |",
        "",
        f"Attempts with at least one flag in the 100,000: {n_flagged:,}; pairs flagged among "
        f"the {len(pairs):,}: {int(similar.flag.sum()):,} "
        f"(honest data: the false-alarm rate). Process max RSS {peak:,.0f} MiB.",
    ]


def power(args: argparse.Namespace) -> list[str]:
    rows: list[DetectionRow] = []
    for share in (0.2, 0.3, 0.4):
        for row in integrity_power(
            "copying", share=share, replications=args.replications, seed=args.seed
        ):
            rows.append(
                DetectionRow(
                    f"copying {share:.0%}",
                    row.index,
                    row.replications,
                    row.planted,
                    row.detected,
                    row.uninvolved,
                    row.false_alarms,
                )
            )
    for scenario in ("preknowledge", "rapid_guessing"):
        rows += integrity_power(scenario, share=0.2, replications=args.replications, seed=args.seed)
    dif_rows = tuple(
        dif_power(dif_shift=shift, replications=args.dif_replications, seed=args.seed)
        for shift in (0.0, 0.7, 0.9)
    )
    return [
        f"N = 500 candidates × 110 items, 10 planted per sitting, {args.replications} "
        "sittings per row:",
        "",
        markdown_table(tuple(rows)),
        "",
        f"DIF: 40 items, {args.dif_replications} replications per row:",
        "",
        dif_markdown_table(dif_rows),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--attempts", type=int, default=100_000)
    parser.add_argument("--sittings", type=int, default=1_000)
    parser.add_argument("--seats", type=int, default=300)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--dif-replications", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-power", action="store_true")
    args = parser.parse_args()
    out = [
        "    .venv/bin/python -m bench.integrity " + " ".join(sys.argv[1:]),
        "",
        f"Python {platform.python_version()}, numpy {np.__version__}, {platform.machine()}",
        "",
    ]
    if not args.skip_speed:
        out += [*speed(args), ""]
    if not args.skip_power:
        started = time.perf_counter()
        out += power(args)
        out += ["", f"(simulations took {time.perf_counter() - started:.0f} s)"]
    print("\n".join(out))


if __name__ == "__main__":
    main()
