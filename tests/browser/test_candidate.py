"""The candidate's exam in a real browser: the whole journey with a reload in the middle, a
network cut while answering, the clock reaching zero, and the page never holding a key."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from app.models.attempt import Attempt, Response
from tests.browser.journey import (
    answer,
    go_to,
    log_in,
    queued,
    server_answers,
    server_state,
    start,
    timer_seconds,
    token,
    wait_saved,
)

pytestmark = pytest.mark.browser

NOMOR = "2026000001"


def test_full_journey_survives_a_reload(page, server, exam):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    assert page.inner_text("#instructions-heading") == "Petunjuk Ujian"
    facts = page.inner_text("#view-instructions .facts")
    assert "Ujian Mini" in facts
    assert "Peserta 1" in facts
    assert "10 menit" in facts
    rows = page.locator("#instructions-sections tr").all_inner_texts()
    assert [re.sub(r"\s+", " ", row).strip() for row in rows] == [
        "Tes Wawasan Kebangsaan 3",
        "Tes Karakteristik Pribadi 2",
    ]

    start(page)
    assert page.inner_text("#question-heading") == "Soal Nomor 1 dari 5"
    assert 590 <= timer_seconds(page) <= 600
    answer(page, "B")
    cell = page.locator('#item-grid .cell[data-position="1"]')
    assert cell.get_attribute("data-state") == "answered"
    assert cell.inner_text().split() == ["1", "B"]
    page.click("#next-button")
    assert page.inner_text("#question-heading") == "Soal Nomor 2 dari 5"
    answer(page, "C")
    page.click("#flag-button")
    assert page.get_attribute("#flag-button", "aria-pressed") == "true"
    assert page.get_attribute('#item-grid .cell[data-position="2"]', "data-state") == "flagged"
    wait_saved(page)
    assert page.inner_text("#save-state-text") == "Tersimpan"
    before_reload = timer_seconds(page)

    page.reload()
    page.wait_for_selector("#view-exam:not([hidden]) #option-list .option")
    # Back on the same item, with the answers and the flag, and the clock not reset.
    assert page.inner_text("#question-heading") == "Soal Nomor 2 dari 5"
    assert page.is_checked("#option-C")
    assert page.get_attribute("#flag-button", "aria-pressed") == "true"
    assert page.get_attribute('#item-grid .cell[data-position="1"]', "data-state") == "answered"
    after_reload = timer_seconds(page)
    assert before_reload - 5 <= after_reload <= before_reload

    go_to(page, 4)
    answer(page, "A")
    go_to(page, 5)
    answer(page, "E")
    page.click("#prev-button")
    assert page.inner_text("#question-heading") == "Soal Nomor 4 dari 5"
    wait_saved(page)
    bearer = token(page)
    assert server_answers(server.url, bearer) == {
        1: ("B", False),
        2: ("C", True),
        4: ("A", False),
        5: ("E", False),
    }

    page.click("#finish-button")
    dialog = page.locator("#finish-dialog")
    assert dialog.is_visible()
    assert page.inner_text("#finish-answered") == "4"
    assert page.inner_text("#finish-unanswered") == "1"
    assert page.inner_text("#finish-flagged") == "1"
    page.click("#finish-no")
    assert not dialog.is_visible()
    assert page.is_visible("#view-exam")

    page.click("#finish-button")
    page.click("#finish-yes")
    page.wait_for_selector("#view-result:not([hidden])")
    assert page.inner_text("#result-heading") == "Hasil Ujian"
    sections = page.locator("#result-sections tr").all_inner_texts()
    assert [row.split("\t")[0] for row in sections] == [
        "Tes Wawasan Kebangsaan",
        "Tes Karakteristik Pribadi",
    ]
    state = server_state(server.url, bearer)
    assert state["status"] == "finished"
    result = state["result"]
    assert page.inner_text("#result-max-total") == "25"
    assert page.inner_text("#result-total") == f"{result['total']:g}".replace(".", ",")
    rules = page.locator("#result-rules tr")
    assert rules.count() == len(result["rules"]) > 0
    for index, rule in enumerate(result["rules"]):
        outcome = "Lulus" if rule["passed"] else "Tidak Lulus"
        assert rules.nth(index).locator(".badge").inner_text() == outcome
    verdict = page.inner_text("#result-verdict")
    assert verdict.startswith("Memenuhi" if result["passed"] else "Tidak Memenuhi")
    code = result["slip_code"]
    assert page.inner_text('[data-field="slip-code"]') == code

    page.click("#slip-link")
    page.wait_for_selector("#slip:not([hidden])")
    assert page.inner_text("#slip-code") == code
    assert page.inner_text('#slip [data-field="nomor"]') == NOMOR
    assert page.inner_text('#slip [data-field="name"]') == "Peserta 1"
    assert page.inner_text("#slip-verify-url").endswith(f"/verify/{code}")
    assert page.get_attribute("#slip-qr", "src") == f"/api/v1/public/slips/{code}/qr.svg"
    assert page.locator("#slip-rules tr").count() == len(result["rules"])


def test_answers_given_offline_arrive_when_the_network_returns(page, context, server, exam):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    bearer = token(page)

    context.set_offline(True)
    answer(page, "A")
    page.click("#next-button")
    answer(page, "B")
    page.click("#flag-button")
    page.click("#next-button")
    answer(page, "C")
    page.wait_for_selector('#save-state[data-state="offline"]')
    assert page.inner_text("#save-state-text").startswith("Offline — akan dikirim ulang")
    assert [(e["position"], e["option"], e["flagged"]) for e in queued(page)] == [
        (1, "A", False),
        (2, "B", True),
        (3, "C", False),
    ]
    # The grid shows the answers even though the server has none of them yet.
    states = page.locator("#item-grid .cell").evaluate_all("cs => cs.map(c => c.dataset.state)")
    assert states == ["answered", "flagged", "answered", "unanswered", "unanswered"]
    assert server_answers(server.url, bearer) == {}

    context.set_offline(False)
    wait_saved(page)
    assert queued(page) == []
    assert server_answers(server.url, bearer) == {1: ("A", False), 2: ("B", True), 3: ("C", False)}

    # Saves that keep failing survive a reload of the page and go out afterwards.
    page.route("**/api/v1/attempts/current/responses/**", lambda route: route.abort("failed"))
    go_to(page, 4)
    answer(page, "D")
    page.wait_for_selector('#save-state[data-state="offline"]')
    page.reload()
    page.wait_for_selector("#view-exam:not([hidden]) #option-list .option")
    assert page.inner_text("#question-heading") == "Soal Nomor 4 dari 5"
    assert page.is_checked("#option-D")
    assert [(e["position"], e["option"]) for e in queued(page)] == [(4, "D")]
    assert 4 not in server_answers(server.url, bearer)
    page.unroute("**/api/v1/attempts/current/responses/**")
    wait_saved(page, timeout=20_000)
    assert server_answers(server.url, bearer)[4] == ("D", False)


def test_the_exam_ends_by_itself_when_the_clock_reaches_zero(page, server, exam, db, clock):
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    page.evaluate(
        """() => {
            window.announced = [];
            new MutationObserver(() => {
                const text = document.querySelector('#announcer').textContent;
                if (text) window.announced.push(text);
            }).observe(document.querySelector('#announcer'),
                       {childList: true, characterData: true, subtree: true});
        }"""
    )
    assert page.get_attribute("#timer", "aria-live") == "off"

    def set_remaining(seconds: int) -> None:
        with db.session() as session:
            attempt = session.scalars(select(Attempt)).one()
            attempt.deadline_at = clock.now() + timedelta(seconds=seconds)

    # Sixty-three seconds left: the next save re-syncs the clock, and crossing one minute is
    # announced once (and nothing else about the time is).
    set_remaining(63)
    answer(page, "A")
    wait_saved(page)
    assert 60 <= timer_seconds(page) <= 63
    page.wait_for_function(
        "() => window.announced.some(t => t.startsWith('Sisa waktu'))", timeout=8000
    )
    page.wait_for_timeout(1500)
    timed = page.evaluate("() => window.announced.filter(t => t.startsWith('Sisa waktu'))")
    assert timed == ["Sisa waktu 1 menit"]

    set_remaining(4)
    page.click("#next-button")
    answer(page, "B")
    wait_saved(page)
    assert timer_seconds(page) <= 4
    page.wait_for_selector("#ended-dialog[open]", timeout=8000)
    assert page.inner_text("#timer") == "00:00:00"
    page.wait_for_selector("#view-result:not([hidden])", timeout=15_000)
    assert page.is_visible("#result-verdict")
    with db.read_session() as session:
        attempt = session.scalars(select(Attempt)).one()
        assert attempt.status == "finished"
        assert attempt.finish_reason == "deadline"
        # Both answers given before zero were kept for scoring.
        saved = session.scalars(select(Response).where(Response.attempt_id == attempt.id)).all()
        assert sorted(r.position for r in saved if r.option is not None) == [1, 2]


FORBIDDEN_FIELDS = {"key", "keys", "points", "correct", "answer_key"}
FIELD_IN_TEXT = re.compile(r"""["']?\b(key|keys|points|answer_key)\b["']?\s*:""")


def _fields(value, found):
    if isinstance(value, dict):
        for name, inner in value.items():
            found.add(name)
            _fields(inner, found)
    elif isinstance(value, list):
        for inner in value:
            _fields(inner, found)
    return found


def test_the_candidate_never_receives_a_key_or_points(page, server, exam):
    bodies = []

    def keep(response):
        if response.request.resource_type in ("document", "fetch", "xhr"):
            # A response without a body (a redirect, a 204) has nothing to leak.
            with contextlib.suppress(PlaywrightError):
                kind = response.headers.get("content-type", "")
                bodies.append((response.url, kind, response.text()))

    page.on("response", keep)
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    sources = [page.content()]
    for position in range(1, 6):
        go_to(page, position)
        answer(page, "ABCDE"[position - 1])
        sources.append(page.content())
    wait_saved(page)
    page.click("#finish-button")
    page.click("#finish-yes")
    page.wait_for_selector("#view-result:not([hidden])")
    sources.append(page.content())
    page.click("#slip-link")
    page.wait_for_selector("#slip:not([hidden])")
    sources.append(page.content())

    api_bodies = [body for url, kind, body in bodies if "json" in kind]
    states = [json.loads(b) for b in api_bodies if '"items"' in b]
    assert any(state["items"] for state in states), "the exam's items were never captured"
    for body in api_bodies:
        assert not (_fields(json.loads(body), set()) & FORBIDDEN_FIELDS), body[:300]
    for source in sources + [body for url, kind, body in bodies if "html" in kind]:
        assert not FIELD_IN_TEXT.search(source)
        assert "points" not in source.lower()
