"""``ujian simulate``: simulations that choose and prove a design before it meets candidates.

Without a subcommand it simulates an adaptive section (as it always has); ``integrity`` and
``dif`` run the integrity indices' and Mantel-Haenszel's power simulations and print their
power and false-positive tables (the tables in docs/integrity.md come from these commands).
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from app.cli import psychometrics
from app.cli.common import out
from app.web.i18n import translate

group = typer.Typer(
    help="Simulations: an adaptive section (default), integrity indices, DIF.",
    invoke_without_command=True,
)


def _both(key: str) -> str:
    """A heading in Bahasa Indonesia with English."""
    return f"{translate('id', key)} / {translate('en', key)}"


@group.callback()
def cat(
    ctx: typer.Context,
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
    if ctx.invoked_subcommand is not None:
        return
    psychometrics.simulate(
        examinees=examinees,
        bank=bank,
        max_items=max_items,
        min_items=min_items,
        se_target=se_target,
        randomesque=randomesque,
        seed=seed,
        scenarios=scenarios,
        as_json=as_json,
    )


@group.command("integrity")
def integrity(
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="copying, preknowledge or rapid_guessing (repeatable; default all)"),
    ] = None,
    candidates: Annotated[int, typer.Option(help="candidates per simulated sitting")] = 500,
    items: Annotated[int, typer.Option(help="items per form")] = 110,
    cheaters: Annotated[int, typer.Option(help="planted attempts per sitting")] = 10,
    share: Annotated[float, typer.Option(help="share of answers copied / items known")] = 0.3,
    replications: Annotated[int, typer.Option(help="simulated sittings per scenario")] = 20,
    seed: Annotated[int, typer.Option(help="seed of the whole run")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the rows as JSON")] = False,
) -> None:
    """Power and false-positive rate of the integrity indices on simulated sittings."""
    from rich.table import Table

    from scoring.integrity_sim import Scenario, integrity_power

    wanted = scenario or [s.value for s in Scenario]
    unknown = [s for s in wanted if s not in {x.value for x in Scenario}]
    if unknown:
        names = ", ".join(s.value for s in Scenario)
        raise typer.BadParameter(f"unknown scenario {unknown[0]!r}; expected {names}")
    rows = [
        row
        for name in wanted
        for row in integrity_power(
            name,
            n_candidates=candidates,
            n_items=items,
            n_cheaters=cheaters,
            share=share,
            replications=replications,
            seed=seed,
        )
    ]
    if as_json:
        print(  # noqa: T201
            json.dumps(
                [
                    {
                        "scenario": r.scenario,
                        "index": r.index,
                        "power": r.power,
                        "false_positive_rate": r.false_positive_rate,
                        "detected": r.detected,
                        "planted": r.planted,
                        "false_alarms": r.false_alarms,
                        "uninvolved": r.uninvolved,
                    }
                    for r in rows
                ]
            )
        )
        return
    table = Table(
        _both("simulate.scenario"),
        _both("simulate.index"),
        _both("simulate.power"),
        _both("simulate.false_positive_rate"),
    )
    for r in rows:
        table.add_row(
            r.scenario,
            r.index,
            f"{r.power:.1%} ({r.detected}/{r.planted})",
            f"{r.false_positive_rate:.2%} ({r.false_alarms}/{r.uninvolved})",
        )
    out.print(table)


@group.command("dif")
def dif(
    per_group: Annotated[int, typer.Option(help="candidates in each group")] = 1000,
    items: Annotated[int, typer.Option(help="items of the test")] = 40,
    shift: Annotated[float, typer.Option(help="DIF of item 0 in logits (0: no DIF)")] = 0.9,
    replications: Annotated[int, typer.Option(help="simulated tests")] = 100,
    seed: Annotated[int, typer.Option(help="seed of the whole run")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print the row as JSON")] = False,
) -> None:
    """How often Mantel-Haenszel with purification finds a planted DIF item, and how often it
    flags items without DIF."""
    from rich.table import Table

    from scoring.integrity_sim import dif_power

    row = dif_power(
        n_per_group=per_group,
        n_items=items,
        dif_shift=shift,
        replications=replications,
        seed=seed,
    )
    if as_json:
        print(  # noqa: T201
            json.dumps(
                {
                    "n_per_group": row.n_per_group,
                    "dif_shift": row.dif_shift,
                    "mean_delta": row.mean_delta,
                    "power_c": row.power_c,
                    "power": row.power,
                    "false_positive_rate": row.false_positive_rate,
                }
            )
        )
        return
    table = Table(
        _both("simulate.groups"),
        _both("simulate.shift"),
        "Δ_MH",
        _both("simulate.dif_c"),
        _both("simulate.dif_bc"),
        _both("simulate.null_bc"),
    )
    table.add_row(
        f"2 × {row.n_per_group:,}",
        f"{row.dif_shift:.2f}",
        f"{row.mean_delta:.2f}",
        f"{row.power_c:.1%} ({row.dif_item_c}/{row.replications})",
        f"{row.power:.1%} ({row.dif_item_flagged}/{row.replications})",
        f"{row.false_positive_rate:.2%} ({row.null_flagged}/{row.null_items})",
    )
    out.print(table)
