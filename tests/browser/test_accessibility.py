"""Keyboard-only use, text size, small screens and the language switch, in a real browser."""

from __future__ import annotations

import pytest

from tests.browser.journey import log_in, server_answers, start, token, wait_saved

pytestmark = pytest.mark.browser

NOMOR = "2026000001"


def focused(page):
    """The id (or, without one, the text) of the element that has the keyboard focus."""
    return page.evaluate(
        "() => document.activeElement.id || document.activeElement.textContent.trim()"
    )


def tab_to(page, selector, *, backwards=False, limit=60):
    """Press Tab (Shift+Tab) until ``selector`` has the focus, as a keyboard user would."""
    for _ in range(limit):
        if page.evaluate("s => document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
    raise AssertionError(f"{selector} never got the focus; focus is on {focused(page)!r}")


def checked(page):
    return page.evaluate(
        "() => document.querySelector('#option-list input:checked')?.value ?? null"
    )


def heading(page):
    return page.inner_text("#question-heading")


def test_the_whole_exam_works_from_the_keyboard_alone(page, server, exam):
    page.goto("/")
    page.wait_for_selector("#view-login:not([hidden])")
    assert focused(page) == "login-nomor"
    page.keyboard.type(NOMOR)
    page.keyboard.press("Tab")
    page.keyboard.type(exam.pin_of(NOMOR))
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-instructions:not([hidden])")
    assert focused(page) == "instructions-heading"

    tab_to(page, "#start-button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-exam:not([hidden]) #option-list .option")
    assert focused(page) == "question-heading"
    assert heading(page) == "Soal Nomor 1 dari 5"

    # Letters choose, Enter saves and goes on.
    page.keyboard.press("b")
    assert checked(page) == "B"
    page.keyboard.press("Enter")
    assert heading(page) == "Soal Nomor 2 dari 5"
    assert focused(page) == "question-heading"

    # Arrows move the choice (from the question and inside the options).
    page.keyboard.press("ArrowDown")
    assert checked(page) == "A"
    assert focused(page) == "option-A"
    page.keyboard.press("ArrowDown")
    assert checked(page) == "B"
    page.keyboard.press("Enter")
    assert heading(page) == "Soal Nomor 3 dari 5"

    # R marks ragu-ragu.
    page.keyboard.press("r")
    assert page.get_attribute("#flag-button", "aria-pressed") == "true"
    page.keyboard.press("c")
    page.keyboard.press("Enter")
    assert heading(page) == "Soal Nomor 4 dari 5"

    # The grid is one tab stop; arrows move inside it and Enter opens the item.
    tab_to(page, "#item-grid .cell")
    assert page.evaluate("() => document.activeElement.dataset.position") == "4"
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert page.evaluate("() => document.activeElement.dataset.position") == "2"
    page.keyboard.press("Enter")
    assert heading(page) == "Soal Nomor 2 dari 5"
    assert checked(page) == "B"

    # The ragu-ragu button and Sebelumnya work with Space and Enter too.
    tab_to(page, "#flag-button")
    page.keyboard.press("Space")
    assert page.get_attribute("#flag-button", "aria-pressed") == "true"
    tab_to(page, "#prev-button", backwards=True)
    page.keyboard.press("Enter")
    assert heading(page) == "Soal Nomor 1 dari 5"

    # The text can be made larger from the keyboard.
    size = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    tab_to(page, '[data-text-size-step="1"]', backwards=True, limit=120)
    page.keyboard.press("Enter")
    assert page.get_attribute("html", "data-text-size") == "2"
    larger = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert larger > size

    wait_saved(page)
    assert server_answers(server.url, token(page)) == {
        1: ("B", False),
        2: ("B", True),
        3: ("C", True),
    }

    # Selesai Ujian: the dialog opens on "Tidak", Escape closes it, then Ya finishes.
    tab_to(page, "#finish-button")
    page.keyboard.press("Enter")
    assert page.is_visible("#finish-dialog")
    assert focused(page) == "finish-no"
    assert page.inner_text("#finish-unanswered") == "2"
    assert page.inner_text("#finish-flagged") == "2"
    page.keyboard.press("Escape")
    assert not page.is_visible("#finish-dialog")
    tab_to(page, "#finish-button")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) == "finish-yes"
    page.keyboard.press("Enter")
    page.wait_for_selector("#view-result:not([hidden])")
    assert focused(page) == "result-heading"
    tab_to(page, "#slip-link")
    page.keyboard.press("Enter")
    page.wait_for_selector("#slip:not([hidden])")
    assert focused(page) == "slip-heading"


def test_the_exam_fits_1024_and_1366_screens_at_every_text_size(page, server, exam):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    for width in (1024, 1366):
        page.set_viewport_size({"width": width, "height": 768})
        for size in ("4", "3", "2", "1"):
            page.evaluate("s => { document.documentElement.dataset.textSize = s; }", size)
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{width}px, text size {size}: {overflow}px too wide"
            timer = page.locator("#timer").bounding_box()
            assert timer["x"] + timer["width"] <= width
            assert timer["y"] + timer["height"] <= 768
        # At normal size the familiar CAT layout is on one screen: the timer on top, the
        # question left, the number grid right, the buttons without scrolling.
        question = page.locator(".question-panel").bounding_box()
        grid = page.locator(".grid-panel").bounding_box()
        assert grid["x"] >= question["x"] + question["width"]
        assert page.locator("#timer").bounding_box()["y"] < question["y"]
        nav = page.locator("#next-button").bounding_box()
        assert nav["y"] + nav["height"] <= 768


def test_bahasa_indonesia_by_default_english_on_request_and_remembered(page, server):
    page.goto("/")
    assert page.get_attribute("html", "lang") == "id"
    assert page.inner_text("#login-heading") == "Masuk Peserta"
    page.click('[data-lang-link][lang="en"]')
    page.wait_for_selector("#view-login:not([hidden])")
    assert page.get_attribute("html", "lang") == "en"
    assert page.inner_text("#login-heading") == "Candidate Login"
    page.goto("/proctor")
    assert page.inner_text("#staff-login-heading") == "Proctor Login"
    page.goto("/?lang=id")
    assert page.inner_text("#login-heading") == "Masuk Peserta"
    page.goto("/")
    assert page.inner_text("#login-heading") == "Masuk Peserta"
