"""``ujian calibrate`` and ``ujian simulate``: item calibration and adaptive simulations."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli.common import cli_actor, database, fail, out
from app.clock import Clock
from app.errors import AppError


def calibrate(
    exam: str,
    model: Annotated[str, typer.Option(help="rasch, 1pl, 2pl or 3pl")] = "2pl",
    apply: Annotated[
        bool, typer.Option("--apply", help="set the items' IRT parameters from it")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="print every item's estimates as JSON")
    ] = False,
) -> None:
    """Calibrate an exam's items (IRT, marginal maximum likelihood) from its finished attempts."""
    from app.services import calibration

    with database() as db:
        try:
            with db.unit_of_work() as session:
                record = calibration.calibrate_exam(
                    session, exam, model=model, apply=apply, actor=cli_actor(), now=Clock().now()
                )
                summary = calibration.summary(record)
                items = record.result.get("items", [])
        except AppError as exc:
            raise fail(exc) from exc
    if as_json:
        print(json.dumps({**summary, "item_estimates": items}, default=str, ensure_ascii=False))  # noqa: T201
        return
    out.print(
        f"calibration {summary['id']}: {summary['model']} on {summary['candidates']} candidates "
        f"x {summary['items']} items, {'converged' if summary['converged'] else 'NOT converged'} "
        f"in {summary['iterations']} iterations; "
        f"{summary['misfitting']} item(s) misfit (RMSD > 0.12)"
    )
    out.print("applied to the items" if apply else "not applied (rerun with --apply to use it)")


def simulate(
    examinees: Annotated[int, typer.Option(help="simulated candidates")] = 1000,
    bank: Annotated[int, typer.Option(help="items in the simulated 3PL bank")] = 1000,
    max_items: Annotated[int, typer.Option(help="most items per candidate")] = 30,
    min_items: Annotated[int, typer.Option(help="fewest items before the SE target may stop")] = 1,
    se_target: Annotated[
        float | None, typer.Option(help="stop once SE(theta) is at most this")
    ] = None,
    randomesque: Annotated[
        int, typer.Option(help="draw each item from the k most informative")
    ] = 5,
    seed: Annotated[int, typer.Option(help="seed of the whole run")] = 0,
    scenarios: Annotated[
        bool, typer.Option("--scenarios", help="run the standard comparison set instead")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the reports as JSON")] = False,
) -> None:
    """Simulate an adaptive section: choose its length and stopping rule (RMSE, bias, exposure)."""
    from rich.table import Table

    from scoring.cat import AdaptiveRules
    from scoring.simulate import BankDesign, SimulationConfig, standard_scenarios
    from scoring.simulate import simulate as run_simulation

    if scenarios:
        configs = standard_scenarios(seed=seed, n_examinees=examinees)
    else:
        rules = AdaptiveRules(
            max_items, min_items=min_items, se_target=se_target, randomesque=randomesque
        )
        configs = (
            SimulationConfig(
                name="custom",
                n_examinees=examinees,
                rules=rules,
                bank=BankDesign(n_items=bank),
                seed=seed,
            ),
        )
    reports = [run_simulation(config) for config in configs]
    if as_json:
        print(json.dumps([r.as_dict() for r in reports], default=str))  # noqa: T201
        return
    table = Table(
        "scenario", "RMSE θ", "bias", "mean items", "max exposure", "never used", "overlap"
    )
    for report in reports:
        data = report.as_dict()
        table.add_row(
            data["name"],
            f"{data['rmse']:.3f}",
            f"{data['bias']:+.3f}",
            f"{data['mean_length']:.1f}",
            f"{data['max_exposure']:.0%}",
            f"{data['never_used']:.0%}",
            f"{data['overlap_rate']:.0%}",
        )
    out.print(table)
