"""A second PC in a real browser: it waits on "Menunggu persetujuan pengawas" while the first
keeps saving; the proctor's console shows the request with both PCs; a refusal is shown with
its reason, an approval continues into the exam with the answers kept."""

from __future__ import annotations

import pytest

from tests.browser.journey import answer, log_in, server_answers, start, token, wait_saved
from tests.browser.test_proctor import open_console, proctor_login, seat, seat_action

pytestmark = pytest.mark.browser

NOMOR = "2026000001"
__all__ = ["proctor_login"]  # the fixture, imported so this module can use it


def second_pc_login(browser, server, pin):
    """Another PC's browser that has just sent the candidate's login."""
    context = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    context.set_default_timeout(15_000)
    pc = context.new_page()
    pc.goto("/")
    pc.fill("#login-nomor", NOMOR)
    pc.fill("#login-pin", pin)
    pc.click("#login-form button[type=submit]")
    return context, pc


def test_a_second_pc_waits_for_the_proctor_who_refuses_then_approves(
    browser, page, server, exam, proctor_login
):
    pin = exam.pin_of(NOMOR)
    log_in(page, NOMOR, pin)
    start(page)
    answer(page, "A")
    wait_saved(page)
    first_token = token(page)

    other, pc = second_pc_login(browser, server, pin)
    pc.wait_for_selector("#view-move:not([hidden])")
    assert pc.inner_text("#move-heading") == "Menunggu persetujuan pengawas"

    # The first PC keeps working while the second waits.
    page.click("#next-button")
    answer(page, "B")
    wait_saved(page)

    context, console = open_console(browser, server, proctor_login)
    console.wait_for_selector("#move-alert:not([hidden])")
    assert "Peserta 1" in console.inner_text("#move-alert")
    badge = seat(console, 1).locator('.badge[data-status="move_pending"]')
    assert badge.inner_text() == "Minta pindah PC"
    assert badge.get_attribute("title").startswith("Dari ")

    seat_action(console, 1, "refuse_move", "peserta tetap di PC 3")
    pc.wait_for_selector("#move-refused:not([hidden])")
    assert "peserta tetap di PC 3" in pc.inner_text("#move-refused")
    console.wait_for_selector("#move-alert", state="hidden")

    pc.click("#move-back")
    pc.fill("#login-nomor", NOMOR)
    pc.fill("#login-pin", pin)
    pc.click("#login-form button[type=submit]")
    pc.wait_for_selector("#view-move:not([hidden])")
    assert pc.is_hidden("#move-refused")  # a new request, waiting again
    console.wait_for_selector("#move-alert:not([hidden])")
    seat_action(console, 1, "approve_move", "PC 3 rusak, pindah ke PC 12")

    pc.wait_for_selector("#view-exam:not([hidden]) #option-list .option")
    assert server_answers(server.url, token(pc)) == {1: ("A", False), 2: ("B", False)}
    # The first PC's session ended with the approval: its next save sends it to the login.
    assert first_token != token(pc)
    answer(page, "C")
    page.wait_for_selector("#view-login:not([hidden])")
    context.close()
    other.close()
