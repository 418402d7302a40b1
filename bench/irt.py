"""Benchmark: IRT calibration, adaptive testing and IRT-matched forms, against girth, mirt, catsim.

    .venv/bin/python -m bench.irt [--forms 10000] [--no-write]

Peers run in the same process on the same data, so the ratios hold even on a busy machine:
``pip install girth==0.8.0 mirt==1.2.0 catsim==0.21.0`` into the venv first (bench only; the
app never imports them).

1. Calibration: 2PL data, ``a ~ lognormal(0, 0.25)``, ``b ~ N(0, 1)``, ``θ ~ N(0, 1)``, 100 items
   and 5,000 / 20,000 candidates (seed 20240601); also 20,000 candidates who each saw a random
   half of the items. ``scoring.irt.calibrate`` (41 nodes over ±6, tolerance 1e-4, SQUAREM,
   SEs and item fit included) against girth's ``twopl_mml`` (its defaults: 41 nodes over ±4.5)
   and mirt's ``fit_mirt(model="2PL", n_quadpts=41)`` (Rust backend; with and without its
   standard errors). Time (best of three for ours, one run for the peers), r(a), RMSE of a and b.
2. Adaptive: catsim's own set-up, a 1,000-item 3PL bank from ``ItemBank.generate_item_bank``
   and 1,000 examinees, 30 items by maximum information, catsim's ``NumericalSearchEstimator``;
   ours (``scoring.simulate.run``: EAP, the same bank and abilities) vectorized over examinees,
   and one candidate at a time through ``next_item`` + ``record`` (the serving path).
3. Serving: the median cost of one ``next_item`` (and of ``record``, and of ``restore`` from 34
   stored answers) on 5,000- and 50,000-item banks with three topic quotas, randomesque k = 5.
4. Parallel forms: SKD-shaped forms (``bench.forms`` spec) from a 50,000-item bank whose TWK and
   TIU items carry 3PL parameters; the expected score ``Σ P(θ)`` of the 65 dichotomous items at
   θ = -1, 0, 1 and the information at 0, over 10,000 forms of each kind: IRT-matched
   (``item_bank.irt_forms``), stratified (``assembly.draw_forms``), plain random; and the
   overlap of a 300-seat sitting.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from bench.forms import SPEC_YAML, TWK_TOPICS, proportional_sizes
from bench.readme import write_section
from item_bank.assembly import (
    Form,
    draw_forms,
    exposure_counts,
    mean_pairwise_overlap,
    random_form,
)
from item_bank.blueprint import BankEntry, BankSnapshot
from item_bank.exam_spec import ExamSpec, parse_exam_spec
from item_bank.irt_forms import MatchSettings, draw_matched_forms
from item_bank.models import IRTParams
from scoring.cat import (
    AdaptiveBank,
    AdaptiveRules,
    next_item,
    record,
    restore,
    start,
)
from scoring.irt import (
    CalibrationSettings,
    ItemParams,
    calibrate,
    information,
    marginal_log_likelihood,
    normal_quadrature,
    probability,
)
from scoring.rules import SectionScoringKind
from scoring.simulate import SimulationConfig, report, run

SEED = 20_240_601
FloatArray = NDArray[np.float64]


def timed(function: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


# --------------------------------------------------------------------------------------------
# 1. Calibration
# --------------------------------------------------------------------------------------------


def two_pl_data(n: int, j: int = 100) -> tuple[FloatArray, FloatArray, FloatArray]:
    rng = np.random.default_rng(SEED)
    a = rng.lognormal(0.0, 0.25, j)
    b = rng.normal(0.0, 1.0, j)
    theta = rng.normal(0.0, 1.0, n)
    p = 1.0 / (1.0 + np.exp(-a * (theta[:, None] - b)))
    return (rng.random((n, j)) < p).astype(np.float64), a, b


def recovery(
    x: FloatArray, a: FloatArray, b: FloatArray, est_a: FloatArray, est_b: FloatArray
) -> str:
    """r(a), RMSE a, RMSE b, and the marginal log-likelihood of the estimates (41 points, ±6)."""
    r = np.corrcoef(est_a, a)[0, 1]
    rmse_a = np.sqrt(np.mean((est_a - a) ** 2))
    rmse_b = np.sqrt(np.mean((est_b - b) ** 2))
    log_lik = marginal_log_likelihood(x, ItemParams(est_a, est_b))
    return f"{r:.4f} | {rmse_a:.3f} | {rmse_b:.3f} | {log_lik:,.2f}"


def calibration() -> tuple[str, dict[str, float]]:
    import girth
    import mirt

    rows = []
    ratios: dict[str, float] = {}
    for n, missing in ((5_000, False), (20_000, False), (20_000, True)):
        x, a, b = two_pl_data(n)
        label = f"{n:,} × 100" + (", half missing" if missing else "")
        first_row = len(rows)
        if missing:
            rng = np.random.default_rng(SEED + 1)
            keep = np.argsort(rng.random(x.shape), axis=1) < 50
            x = np.where(keep, x, np.nan)
        best: dict[bool, float] = {}
        for diagnostics in (True, False):
            settings = CalibrationSettings(diagnostics=diagnostics)
            times = []
            ours = None
            for _ in range(3):
                seconds, ours = timed(lambda x=x, s=settings: calibrate(x, s))
                times.append(seconds)
            assert ours is not None
            best[diagnostics] = min(times)
            what = "with SEs and item fit" if diagnostics else "estimates only"
            rows.append(
                f"| {label} | **ours** (`scoring.irt`), {what} | **{best[diagnostics]:.2f}** | "
                f"{recovery(x, a, b, ours.params.a, ours.params.b)} | "
                f"{ours.convergence.iterations} E-steps |"
            )
        mirt_data = np.where(np.isnan(x), -1, x).astype(np.int64)
        for with_se in (True, False):
            seconds, fit = timed(
                lambda d=mirt_data, se=with_se: mirt.fit_mirt(
                    d, model="2PL", n_quadpts=41, compute_standard_errors=se
                )
            )
            pars = fit.model.parameters
            est_a = np.ravel(pars["discrimination"])
            est_b = np.ravel(pars["difficulty"])
            note = "with SEs (its default)" if with_se else "no SEs"
            rows.append(
                f"| {label} | mirt 1.2 (Rust), 41 points, {note} | {seconds:.2f} | "
                f"{recovery(x, a, b, est_a, est_b)} | {fit.n_iterations} iterations |"
            )
            ours_time = best[with_se]
            ratios[f"{label}: mirt {note} / ours {'with' if with_se else 'without'} SEs"] = (
                seconds / ours_time
            )
        if not missing:
            seconds, fit = timed(lambda x=x: girth.twopl_mml(x.T.astype(np.int64)))
            rows.append(
                f"| {label} | girth 0.8 `twopl_mml` | {seconds:.2f} | "
                f"{recovery(x, a, b, fit['Discrimination'], fit['Difficulty'])} | its defaults |"
            )
            ratios[f"{label}: girth / ours estimates only"] = seconds / best[False]
        print(*rows[first_row:], sep="\n", flush=True)
    header = (
        "| data | estimator | seconds | r(a) | RMSE a | RMSE b | log-likelihood | iterations |\n"
        "|---|---|---|---|---|---|---|---|\n"
    )
    return header + "\n".join(rows), ratios


# --------------------------------------------------------------------------------------------
# 2. Adaptive testing: catsim's set-up
# --------------------------------------------------------------------------------------------


def adaptive() -> str:
    from catsim.estimation import NumericalSearchEstimator
    from catsim.initialization import RandomInitializer
    from catsim.item_bank import ItemBank
    from catsim.selection import MaxInfoSelector
    from catsim.simulation import Simulator
    from catsim.stopping import TestLengthStopper

    bank = ItemBank.generate_item_bank(1000, "3PL", seed=SEED)
    simulator = Simulator(bank, 1000, seed=SEED)
    seconds, _ = timed(
        lambda: simulator.simulate(
            RandomInitializer(),
            MaxInfoSelector(),
            NumericalSearchEstimator(),
            TestLengthStopper(max_items=30),
        )
    )
    steps = sum(len(items) for items in simulator.administered_items)
    catsim_step = seconds / steps
    rows = [
        f"| catsim 0.21: max information, `NumericalSearchEstimator` (MLE) | "
        f"{catsim_step * 1e6:,.0f} | 1× | {simulator.rmse:.3f} | {simulator.bias:+.3f} | "
        f"{bank.exposure_rates.max():.2f} | {simulator.overlap_rate:.3f} |"
    ]
    params = ItemParams(bank.items[:, 0], bank.items[:, 1], bank.items[:, 2])
    truth = np.asarray(simulator.examinees)
    for k in (1, 5):
        config = SimulationConfig(rules=AdaptiveRules(30, randomesque=k), seed=SEED)
        run(config, params=params, true_theta=truth[:50])  # warm-up
        seconds, result = timed(lambda c=config: run(c, params=params, true_theta=truth))
        figures = report(result)
        per_step = seconds / int(result.lengths.sum())
        rows.append(
            f"| ours, k = {k}: EAP, vectorized over examinees (`scoring.simulate`) | "
            f"{per_step * 1e6:,.1f} | **{catsim_step / per_step:,.0f}×** | "
            f"**{figures.rmse:.3f}** | {figures.bias:+.3f} | {figures.max_exposure:.2f} | "
            f"{figures.overlap_rate:.3f} |"
        )
    # One candidate at a time through the serving functions.
    tables = AdaptiveBank.build(params)
    rules = AdaptiveRules(30, randomesque=1)
    rng = np.random.default_rng(SEED)
    started = time.perf_counter()
    count = 0
    errors = []
    for examinee, theta in enumerate(truth[:200]):
        state = start(tables)
        while (choice := next_item(state, tables, rules, examinee)) is not None:
            j = choice.item
            p = params.c[j] + (1 - params.c[j]) / (1 + np.exp(-params.a[j] * (theta - params.b[j])))
            state = record(state, tables, j, bool(rng.random() < p))
            count += 1
        errors.append(state.theta - theta)
    per_step = (time.perf_counter() - started) / count
    rmse = float(np.sqrt(np.mean(np.square(errors))))
    rows.append(
        f"| ours, k = 1: one candidate at a time, `next_item` + `record` (200 examinees) | "
        f"{per_step * 1e6:,.1f} | **{catsim_step / per_step:,.0f}×** | {rmse:.3f} | "
        f"{np.mean(errors):+.3f} | – | – |"
    )
    print(*rows, sep="\n", flush=True)
    header = (
        "| selection + estimation | µs per step | speed-up | RMSE θ | bias | max exposure "
        "| overlap |\n|---|---|---|---|---|---|---|\n"
    )
    return header + "\n".join(rows)


# --------------------------------------------------------------------------------------------
# 3. Serving cost of one choice
# --------------------------------------------------------------------------------------------


def serving() -> str:
    rows = []
    for size in (5_000, 50_000):
        rng = np.random.default_rng(SEED + size)
        params = ItemParams(
            rng.lognormal(0.1, 0.3, size), rng.normal(0.0, 1.1, size), rng.uniform(0.1, 0.3, size)
        )
        topics = rng.integers(0, 3, size)
        build, bank = timed(lambda p=params, t=topics: AdaptiveBank.build(p, t))
        rules = AdaptiveRules(
            35, min_items=20, se_target=0.3, randomesque=5, topic_quotas=(12, 12, 11)
        )
        state = start(bank)
        half = state
        for step in range(34):
            if step == 17:
                half = state
            # A fixed-length path, so the SE target cannot end it before 34 answers.
            choice = next_item(state, bank, replace(rules, se_target=None), 42)
            assert choice is not None
            state = record(state, bank, choice.item, step % 3 != 0)
        stored_items, stored_answers = state.items, state.responses

        def median_us(function: Callable[[], Any], repeat: int = 3000) -> tuple[float, float]:
            samples = []
            for _ in range(repeat):
                started = time.perf_counter()
                function()
                samples.append(time.perf_counter() - started)
            samples.sort()
            return statistics.median(samples) * 1e6, samples[int(0.95 * len(samples))] * 1e6

        spare = next(i for i in range(size) if i not in half.items)
        choose = median_us(lambda b=bank, s=half, r=rules: next_item(s, b, r, 42))
        answer = median_us(lambda b=bank, s=half, i=spare: record(s, b, i, True))
        rebuild = median_us(
            lambda b=bank, i=stored_items, r=stored_answers: restore(b, i, r), repeat=300
        )
        rows.append(
            f"| {size:,} | **{choose[0]:.0f}** / {choose[1]:.0f} | {answer[0]:.0f} / "
            f"{answer[1]:.0f} | {rebuild[0]:.0f} / {rebuild[1]:.0f} | {build * 1e3:,.0f} ms |"
        )
    print(*rows, sep="\n", flush=True)
    header = (
        "| bank items | `next_item` µs, median / p95 | `record` µs | `restore` 34 answers µs "
        "| `AdaptiveBank.build` (once per bank version) |\n|---|---|---|---|---|\n"
    )
    return header + "\n".join(rows)


# --------------------------------------------------------------------------------------------
# 4. Parallel forms
# --------------------------------------------------------------------------------------------


def irt_bank(spec: ExamSpec, total: int, seed: int) -> list[BankEntry]:
    """Every cell filled in proportion to its quota; dichotomous items get 3PL parameters
    (``a ~ lognormal(0, 0.3)``, ``b ~ N(0, 1.1²)``, ``c ~ U(0.1, 0.25)``) and the p-value the
    model gives over ``θ ~ N(0, 1)``, which puts them in their difficulty stratum."""
    rng = np.random.default_rng(seed)
    nodes, log_w = normal_quadrature(61, 6.0)
    weights = np.exp(log_w)
    bands = spec.difficulty_bands
    sizes = proportional_sizes(spec, total)
    entries: list[BankEntry] = []
    for section in spec.sections:
        weighted = section.scoring.kind is SectionScoringKind.WEIGHTED
        for number, cell in enumerate(section.blueprint.cells):
            size = sizes[(section.code, number)]
            chosen = np.empty((0, 4))
            while chosen.shape[0] < size:
                m = 4 * size + 64
                a = rng.lognormal(0.0, 0.3, m)
                b = rng.normal(0.0, 1.1, m)
                c = rng.uniform(0.1, 0.25, m)
                p = probability(nodes, ItemParams(a, b, c)).T @ weights
                fits = np.array(
                    [
                        cell.stratum is None or bands.stratum(float(v), None) is cell.stratum
                        for v in p
                    ]
                )
                chosen = np.concatenate([chosen, np.column_stack([a, b, c, p])[fits]])
            topics = (
                rng.choice(TWK_TOPICS, size=size) if cell.topic is None else [cell.topic] * size
            )
            for k in range(size):
                a, b, c, p = chosen[k]
                entries.append(
                    BankEntry(
                        id=len(entries) + 1,
                        section=section.code,
                        topic=str(topics[k]),
                        n_options=5,
                        p_value=None if weighted else float(p),
                        irt=None if weighted else IRTParams(float(a), float(b), float(c)),
                    )
                )
    return entries


def curves(forms: list[Form], snapshot: BankSnapshot, theta: FloatArray) -> FloatArray:
    """Per form: expected score of its dichotomous items at ``theta``, then information at 0."""
    irt = snapshot.irt
    out = np.empty((len(forms), theta.size + 1))
    for i, form in enumerate(forms):
        rows = np.searchsorted(snapshot.ids, np.fromiter(form.entry_ids, np.int64, len(form)))
        rows = rows[~np.isnan(irt[rows, 0])]
        params = ItemParams(irt[rows, 0], irt[rows, 1], irt[rows, 2])
        out[i, :-1] = probability(theta, params).sum(axis=1)
        out[i, -1] = information([0.0], params).sum()
    return out


def parallel_forms(n_forms: int) -> str:
    spec = parse_exam_spec(SPEC_YAML, "bench-skd.yaml")
    snapshot = BankSnapshot.from_entries(irt_bank(spec, 50_000, SEED), spec.difficulty_bands)
    theta = np.array([-1.0, 0.0, 1.0])
    settings = MatchSettings()
    draw_matched_forms(spec, snapshot, 1, 5, settings=settings)  # warm-up
    seconds, matched = timed(
        lambda: draw_matched_forms(spec, snapshot, 42, n_forms, settings=settings)
    )
    per_form_ms = seconds / n_forms * 1e3
    stratified = draw_forms(spec, snapshot, 42, n_forms)
    rng = np.random.default_rng(42)
    plain = [random_form(spec, snapshot, rng) for _ in range(n_forms)]
    rows = []
    spreads = {}
    for name, forms in (
        ("**IRT-matched** (`irt_forms.draw_matched_forms`)", [m.form for m in matched]),
        ("stratified (`assembly.draw_forms`)", stratified),
        ("plain random (`assembly.random_form`)", plain),
    ):
        values = curves(forms, snapshot, theta)
        sd = values.std(axis=0, ddof=1)
        width = values.max(axis=0) - values.min(axis=0)
        spreads[name] = sd
        cells = " | ".join(f"{s:.3f} / {w:.2f}" for s, w in zip(sd[:-1], width[:-1], strict=True))
        rows.append(
            f"| {name} | {cells} | {5 * sd[1]:.2f} / {5 * width[1]:.1f} | "
            f"{sd[-1]:.2f} / {width[-1]:.1f} ({values[:, -1].mean():.1f}) |"
        )
    seats = 300
    matched_sitting = [
        m.form for m in draw_matched_forms(spec, snapshot, 7, seats, settings=settings)
    ]
    plain_sitting = draw_forms(spec, snapshot, 7, seats)
    overlap_matched = mean_pairwise_overlap(exposure_counts(matched_sitting, snapshot), seats)
    overlap_plain = mean_pairwise_overlap(exposure_counts(plain_sitting, snapshot), seats)
    first, second = list(spreads.values())[:2]
    print(*rows, sep="\n", flush=True)
    header = (
        "| drawing | E-score at θ=-1: sd / range | θ=0 | θ=+1 | θ=0 in points (×5) "
        "| information at 0: sd / range (mean) |\n|---|---|---|---|---|---|\n"
    )
    return (
        header
        + "\n".join(rows)
        + f"\n\nIRT-matched forms take {per_form_ms:.1f} ms each (blueprint draw included); "
        f"their expected-score sd is {first[1] / second[1]:.2f} of the stratified forms' at θ = 0 "
        f"and their information sd {first[-1] / second[-1]:.2f} of it. Mean pairwise overlap of a "
        f"{seats}-seat sitting (whole 110-item form): {overlap_matched:.2f} items matched, "
        f"{overlap_plain:.2f} stratified — swapped-in items come from a per-form pool, not from "
        "the sitting's permutation stream."
    )


# --------------------------------------------------------------------------------------------


def machine() -> str:
    from importlib.metadata import version

    import mirt

    load = os.getloadavg()
    return (
        f"{os.cpu_count()} vCPU ({platform.processor() or platform.machine()}), Python "
        f"{platform.python_version()}, numpy {np.__version__}; peers girth {version('girth')}, "
        f"mirt {version('mirt')} (Rust backend: {mirt.is_rust_available()}), catsim "
        f"{version('catsim')}. Load average at the end {load[0]:.1f} / {load[1]:.1f} / "
        f"{load[2]:.1f}: the machine was shared with other jobs, so absolute times vary between "
        "runs; ratios come from one run."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forms", type=int, default=10_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    print("## calibration", flush=True)
    calib, ratios = calibration()
    print("## adaptive", flush=True)
    cat_table = adaptive()
    print("## serving", flush=True)
    serve = serving()
    print("## forms", flush=True)
    forms_table = parallel_forms(args.forms)
    ratio_text = "; ".join(f"{k}: {v:.1f}×" for k, v in ratios.items())
    body = f"""
`scoring.irt` (calibration by marginal maximum likelihood), `scoring.cat` and `scoring.simulate`
(adaptive sections), `item_bank.irt_forms` (IRT-matched parallel forms), with girth, mirt and
catsim run in the same process on the same data.

    .venv/bin/pip install girth==0.8.0 mirt==1.2.0 catsim==0.21.0   # bench only
    .venv/bin/python -m bench.irt [--forms 10000]

{machine()}

### Calibration (2PL, 100 items)

Data: `a ~ lognormal(0, 0.25)`, `b ~ N(0, 1)`, `θ ~ N(0, 1)`, seed {SEED}. Ours: 2PL, 41 nodes
over ±6, tolerance 1e-4 on the largest parameter change, SQUAREM; timed with item SEs (Louis)
and item fit (RMSD, Q1), as a calibration is stored, and with estimates only
(`diagnostics=False`). Ours is the best of three runs, peers one run each. The
log-likelihood column is the marginal log-likelihood of each program's estimates on the same
data and quadrature (`scoring.irt.marginal_log_likelihood`), the quantity all three maximize:
the highest is the closest to the maximum-likelihood estimate, and RMSE differences between
estimates of (nearly) equal likelihood are the sampling noise of one data set.

{calib}

Peer time over ours, like for like (SEs against SEs): {ratio_text}.

### Adaptive testing, catsim's set-up

1,000-item 3PL bank (`ItemBank.generate_item_bank(1000, "3PL")`), 1,000 examinees drawn by
catsim's simulator, 30 items, no exposure control for k = 1. Our time includes building the bank
tables. The serving row is the same algorithm one candidate at a time through the functions a
request calls.

{cat_table}

### Serving: one next-item choice

State after 17 answers; rules 35 items, SE 0.30 after 20, three topic quotas (12/12/11) with
balancing, randomesque k = 5. `restore` rebuilds the state from stored answers (what a stateless
server does per request if it keeps no posterior).

{serve}

### IRT-matched parallel forms, {args.forms:,} forms each

SKD-shaped exam (`bench.forms` spec: TWK 30 by strata, TIU 35 topic × stratum grid, TKP 45
weighted, no IRT) from a 50,000-item bank; matched on TWK and TIU to the mean form at θ = -2..2
(expected score and information, 24 pool items per cell). Figures over the 65 dichotomous items:
expected number correct at θ = -1, 0, +1 (sd / range over forms), in points at θ = 0, and
information at θ = 0.

{forms_table}
"""
    if not args.no_write:
        write_section("IRT and adaptive testing", body)
        print("bench/README.md updated", flush=True)


if __name__ == "__main__":
    main()
