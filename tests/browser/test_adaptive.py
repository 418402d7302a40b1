"""An adaptive section in the browser: choose, Simpan dan Lanjutkan sends and locks the answer,
the next item appears, earlier adaptive items are read-only, the section ends by itself."""

from __future__ import annotations

import pytest

from tests.api.test_irt_exam import ADAPTIVE_SPEC, build
from tests.browser.journey import log_in, start, wait_saved
from tests.conftest import TEST_SECRET

pytestmark = pytest.mark.browser


def test_adaptive_section_in_the_candidate_screen(page, db, clock):
    pins = build(db, clock, TEST_SECRET.encode(), ADAPTIVE_SPEC, "CAT", 1)
    nomor, pin = next(iter(pins.items()))
    log_in(page, nomor, pin)
    start(page)
    page.click('#item-grid .cell[data-position="4"]')
    page.wait_for_selector("#adaptive-note:not([hidden])")
    assert page.is_disabled('#item-grid .cell[data-position="5"]')  # not chosen yet

    seen: list[int] = []
    while len(seen) < 8:
        heading = page.inner_text("#question-heading")
        position = int(heading.split()[2])
        if (
            position in seen
            or page.is_hidden("#adaptive-note")
            or "muncul" in page.inner_text("#adaptive-note")
        ):
            break
        seen.append(position)
        page.click('#option-list .option[data-option="A"]')
        page.click("#next-button")
        # Either the next adaptive item, or (section over) the finish confirmation.
        page.wait_for_function(
            "n => !document.querySelector('#question-heading').textContent.includes(' ' + n + ' ')"
            " || document.querySelector('dialog[open]') !== null",
            arg=position,
        )
        if page.query_selector("dialog[open]") is not None:
            break
    assert 4 <= len(seen) <= 8
    wait_saved(page)
    # An answered adaptive item is read-only.
    if page.query_selector("dialog[open]") is not None:
        page.keyboard.press("Escape")
    page.click('#item-grid .cell[data-position="4"]')
    page.wait_for_function(
        "() => document.querySelector('#question-heading').textContent.includes(' 4 ')"
    )
    assert page.is_disabled('#option-list input[value="A"]')
    assert "final" in page.inner_text("#adaptive-note")
