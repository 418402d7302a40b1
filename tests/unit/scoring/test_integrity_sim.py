"""The simulations behind the power targets, in small fixed-seed versions of the bench's runs."""

from __future__ import annotations

import pytest

from scoring.integrity_sim import (
    dif_markdown_table,
    dif_power,
    integrity_power,
    markdown_table,
)


def test_copiers_of_30_percent_are_found_at_under_1_percent_false_alarms():
    (row,) = integrity_power(
        "copying", n_candidates=500, n_cheaters=10, share=0.3, replications=10, seed=0
    )
    assert row.planted == 100
    assert row.power >= 0.90
    assert row.false_positive_rate <= 0.01


@pytest.mark.parametrize("scenario", ["preknowledge", "rapid_guessing"])
def test_fast_answers_on_a_fifth_of_the_items_are_found(scenario):
    rows = {row.index: row for row in integrity_power(scenario, share=0.2, replications=3, seed=1)}
    speed = rows["speed index (fast side)"]
    assert speed.power >= 0.90
    assert speed.false_positive_rate <= 0.01
    assert rows["any of them"].false_positive_rate <= 0.01
    if scenario == "rapid_guessing":
        assert rows["rapid responses"].power >= 0.90


def test_a_c_level_dif_item_is_found_and_clean_items_are_left_alone():
    row = dif_power(n_per_group=1000, dif_shift=0.9, replications=30, seed=2)
    assert row.mean_delta == pytest.approx(-2.35 * 0.9, abs=0.25)
    assert row.power >= 0.90
    assert row.power_c >= 0.90
    assert row.false_positive_rate <= 0.05


def test_tables_render_counts_beside_rates():
    rows = integrity_power("rapid_guessing", n_candidates=200, n_items=40, replications=1)
    table = markdown_table(rows)
    assert table.splitlines()[0] == "| scenario | index | power | false-positive rate |"
    assert "| rapid_guessing | rapid responses | 100.0% (10/10) |" in table
    dif = dif_markdown_table((dif_power(n_per_group=300, replications=2),))
    assert "| 2 × 300 | 0.90 |" in dif
