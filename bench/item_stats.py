"""Benchmark of item analysis: 100,000 candidates x 110 positions drawn from a 2,000-item bank.

Every candidate sits their own form, drawn per section without replacement (SKD shape: TWK 30
of 550, TIU 35 of 650, TKP 45 of 800 option-weighted items), answered under a 3PL model with a
nominal-style choice among distractors. Prints the time of ``analyse_items`` (best of
``--repeat`` runs) and its peak traced memory.

    .venv/bin/python -m bench.item_stats [--candidates 100000] [--repeat 3]

(As a module: run as a file, the ``bench/scoring.py`` beside it would shadow the package.)
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np
from numpy.typing import NDArray

from scoring.rules import SectionRule, SectionScoring, SectionScoringKind
from scoring.stats import ItemSpec, analyse_items

#: (code, positions per form, items in the bank, weighted)
SECTIONS = (("TWK", 30, 550, False), ("TIU", 35, 650, False), ("TKP", 45, 800, True))
N_OPTIONS = 5
CHUNK = 10_000


def build_exam(
    n_candidates: int, seed: int
) -> tuple[NDArray[np.int32], NDArray[np.int8], list[ItemSpec], list[SectionRule]]:
    """Sparse forms, responses, the item table and the sections of a simulated SKD sitting."""
    rng = np.random.default_rng(seed)
    theta = rng.standard_normal(n_candidates)
    items: list[ItemSpec] = []
    sections: list[SectionRule] = []
    form_blocks: list[NDArray[np.int32]] = []
    response_blocks: list[NDArray[np.int8]] = []
    offset = 0
    for code, per_form, bank, weighted in SECTIONS:
        kind = SectionScoringKind.WEIGHTED if weighted else SectionScoringKind.DICHOTOMOUS
        sections.append(SectionRule(code, code, per_form, SectionScoring(kind)))
        a = np.clip(rng.lognormal(0.0, 0.3, bank), 0.4, 2.5)
        b = np.clip(rng.normal(0.0, 1.0, bank), -2.5, 2.5)
        c = rng.uniform(0.1, 0.25, bank)
        key = rng.integers(0, N_OPTIONS, bank)
        points = np.argsort(rng.random((bank, N_OPTIONS)), axis=1) + 1.0
        for i in range(bank):
            if weighted:
                items.append(
                    ItemSpec(f"{code}-{i:04d}", code, N_OPTIONS, None, tuple(points[i].tolist()))
                )
            else:
                items.append(ItemSpec(f"{code}-{i:04d}", code, N_OPTIONS, int(key[i])))
        local = np.empty((n_candidates, per_form), dtype=np.int32)
        chosen = np.empty((n_candidates, per_form), dtype=np.int8)
        for start in range(0, n_candidates, CHUNK):
            rows = slice(start, min(start + CHUNK, n_candidates))
            n = rows.stop - rows.start
            drawn = np.argpartition(rng.random((n, bank)), per_form, axis=1)[:, :per_form]
            t = theta[rows, None]
            if weighted:
                logits = a[drawn][..., None] * t[..., None] * (points[drawn] - 3.0) / 2.0
                logits += rng.gumbel(size=logits.shape)
                answer = logits.argmax(axis=2)
            else:
                p = c[drawn] + (1 - c[drawn]) / (1 + np.exp(-1.7 * a[drawn] * (t - b[drawn])))
                wrong = (key[drawn] + rng.integers(1, N_OPTIONS, drawn.shape)) % N_OPTIONS
                answer = np.where(rng.random(drawn.shape) < p, key[drawn], wrong)
            answer = np.where(rng.random(drawn.shape) < 0.01, -1, answer)
            local[rows] = drawn + offset
            chosen[rows] = answer
        form_blocks.append(local)
        response_blocks.append(chosen)
        offset += bank
    return (
        np.concatenate(form_blocks, axis=1),
        np.concatenate(response_blocks, axis=1),
        items,
        sections,
    )


def main() -> None:
    """Build the sitting, then time and measure ``analyse_items`` on it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    forms, responses, items, sections = build_exam(args.candidates, args.seed)
    print(
        f"{args.candidates:,} candidates x {forms.shape[1]} positions, "
        f"{len(items):,}-item bank ({int(np.unique(forms).size):,} items seen)"
    )
    times, cpu_times = [], []
    for _ in range(args.repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        analysis = analyse_items(forms, responses, items, sections)
        times.append(time.perf_counter() - started)
        cpu_times.append(time.process_time() - cpu_started)
    print(f"analyse_items: best {min(times):.2f} s, runs {', '.join(f'{t:.2f}' for t in times)} s")
    # CPU time tells the cost apart from other load on a shared machine.
    print(f"analyse_items CPU time: best {min(cpu_times):.2f} s")

    tracemalloc.start()
    analyse_items(forms, responses, items, sections)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory during analyse_items: {peak / 2**20:,.0f} MiB")
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:,.0f} MiB")
    flagged = analysis.flagged
    reliabilities = [
        f"{s.code} {s.reliability_method} {s.reliability:.3f}" for s in analysis.sections
    ]
    print("sections: " + ", ".join(reliabilities))
    print(f"items analysed: {len(analysis.items):,}, needing review: {len(flagged):,}")


if __name__ == "__main__":
    main()
