"""The public practice exam (simulasi) in a real browser: the list page, a start without a PIN
on the real candidate screen (instructions, timer, grid, ragu-ragu, autosave, finish) and the
review with the keys and the explanations of the demo's practice bank."""

from __future__ import annotations

import re

import pytest

from app.demo.loader import PRACTICE_EXAM, load_practice
from tests.browser.journey import answer, server_answers, timer_seconds, token, wait_saved

pytestmark = pytest.mark.browser


def test_a_practice_exam_sat_end_to_end(page, server, db, clock):
    load_practice(db, clock)

    page.goto("/simulasi")
    card = page.locator(f'.practice-exam[data-code="{PRACTICE_EXAM}"]')
    card.wait_for()
    assert card.locator("h2").inner_text() == "Simulasi SKD CPNS"
    assert "15 menit · 12 soal" in card.inner_text()
    card.locator("button").click()

    # The real candidate screen, entered by the practice start instead of the login form (the
    # start has begun the attempt: the screen opens on the first item, the clock running).
    page.wait_for_selector("#view-exam:not([hidden]) #option-list .option")
    assert page.inner_text("#view-exam .exam-candidate") == "Peserta Simulasi · SIMULASI"
    assert page.inner_text("#question-heading") == "Soal Nomor 1 dari 12"
    assert 890 <= timer_seconds(page) <= 900
    answer(page, "A")
    page.click("#next-button")
    answer(page, "B")
    page.click("#flag-button")
    assert page.get_attribute('#item-grid .cell[data-position="2"]', "data-state") == "flagged"
    page.click('#item-grid .cell[data-position="9"]')
    answer(page, "C")
    wait_saved(page)
    bearer = token(page)
    assert server_answers(server.url, bearer) == {
        1: ("A", False),
        2: ("B", True),
        9: ("C", False),
    }

    page.click("#finish-button")
    assert page.inner_text("#finish-answered") == "3"
    assert page.inner_text("#finish-flagged") == "1"
    page.click("#finish-yes")
    page.wait_for_selector("#view-result:not([hidden])")
    assert page.is_hidden("#slip-link")
    page.click("#review-link")

    # The review: the score against the thresholds, then each item with its key and pembahasan.
    page.wait_for_selector("#review-body:not([hidden])")
    assert page.inner_text("#review-max-total") == "60"
    assert page.locator("#review-rules tr").count() == 3
    items = page.locator("#review-items > li")
    assert items.count() == 12
    first = items.nth(0)
    assert "Jawaban Anda: A" in first.inner_text()
    assert first.locator('.review-option[data-chosen="true"] .option-letter').inner_text() == "A"
    single_items = page.locator('#review-items > li:has(.review-option[data-key="true"])')
    assert single_items.count() == 8  # TWK and TIU; the 4 TKP items show points instead
    assert re.search(r"Kunci: [A-E]", single_items.nth(0).inner_text())
    explanations = page.locator("#review-items .explanation-text").all_inner_texts()
    assert len(explanations) == 12
    assert all(len(text) > 40 for text in explanations)  # every demo item has its pembahasan
    assert any("Sutasoma" in text for text in explanations)
    tkp = page.locator('#review-items > li:has-text("(SIM-TKP)")').first
    assert "5 poin" in tkp.inner_text()
    assert page.locator(".review-item .explanation h4").first.inner_text() == "Pembahasan"

    page.click("#practice-again")
    page.wait_for_selector(f'.practice-exam[data-code="{PRACTICE_EXAM}"]')
