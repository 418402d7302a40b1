"""Take the screenshots of docs/screens.md from the demo exam in headless Chromium.

    python -m tests.browser.screenshots [--out docs/screenshots]

Builds the demo (``ujian demo``) in a temporary SQLite database, serves it with ``ujian serve``,
brings a few candidates to different points of the exam through the API so the proctor console
has something to show, and photographs each main screen at 1366×768 (and the exam at 1024×768).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from app.db import connect
from app.demo.loader import load_demo
from app.migrate import upgrade
from tests.browser.journey import CHROMIUM_ARGS, answer, go_to, log_in, start, wait_saved
from tests.conftest import TEST_SECRET, make_settings
from tests.support.browser_check import chromium_path
from tests.support.server import start_server

ROOT = Path(__file__).resolve().parents[2]
WIDE = {"width": 1366, "height": 768}
SMALL = {"width": 1024, "height": 768}


def build_demo(folder: Path) -> tuple[str, dict[str, Any]]:
    """A migrated SQLite database with the demo loaded; its URL and the logins."""
    url = f"sqlite:///{folder / 'demo.db'}"
    settings = make_settings(url, folder / "var")
    db = connect(settings)
    upgrade(db.engine)
    logins = load_demo(db, folder / "var", TEST_SECRET.encode()).as_dict()
    db.dispose()
    return url, logins


class Api:
    """Just enough of the API to put candidates in the states the console shows."""

    def __init__(self, base: str) -> None:
        self.client = httpx.Client(base_url=base, timeout=30)

    def candidate(self, nomor: str, pin: str) -> dict[str, str]:
        token = self.client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": pin}
        ).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def staff(self, username: str, password: str) -> dict[str, str]:
        token = self.client.post(
            "/api/v1/auth/token", json={"username": username, "password": password}
        ).json()["access_token"]
        return {"Authorization": f"Bearer {token}"}

    def work(self, headers: dict[str, str], answers: int, rng: random.Random) -> dict[str, Any]:
        state = self.client.post("/api/v1/attempts/current/start", headers=headers).json()
        for seq, position in enumerate(rng.sample(range(1, len(state["items"]) + 1), answers), 1):
            self.client.put(
                f"/api/v1/attempts/current/responses/{position}",
                json={"option": rng.choice("ABCDE"), "flagged": seq % 7 == 0, "seq": seq},
                headers=headers,
            )
        return state


def populate(api: Api, logins: dict[str, Any], proctor: dict[str, str]) -> None:
    """Candidates 2-9 at different points: working, paused, finished, logged in, moved."""
    rng = random.Random(7)
    candidates = logins["candidates"]
    for index, candidate in enumerate(candidates[1:9], start=2):
        headers = api.candidate(candidate["nomor_peserta"], candidate["pin"])
        if index == 9:
            continue  # logged in, not started yet
        state = api.work(headers, answers=rng.randint(15, 95), rng=rng)
        attempt = state["attempt_id"]
        if index == 3:
            api.client.post(
                "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
            )
        elif index == 5:
            api.client.post(
                f"/api/v1/attempts/{attempt}/pause",
                json={"reason": "PC mati, pindah ke kursi cadangan"},
                headers=proctor,
            )
        elif index == 7:
            api.client.post(
                f"/api/v1/attempts/{attempt}/extend",
                json={"minutes": 10, "reason": "listrik padam di meja 7"},
                headers=proctor,
            )


def shoot(page: Any, out: Path, name: str, *, top: bool = True) -> None:
    """Save the page as it is now (scrolled to the top unless ``top`` is false)."""
    if top:
        page.evaluate("window.scrollTo(0, 0)")
    page.wait_for_timeout(300)  # let fonts and images settle
    page.screenshot(path=str(out / f"{name}.png"))
    print(f"  {name}.png")


def image_item(page: Any) -> int:
    """The position of the first item on the form with a figure in its stem."""
    found = page.evaluate(
        """async () => {
            const token = sessionStorage.getItem('ujian.candidate.token');
            const state = await (await fetch('/api/v1/attempts/current',
                {headers: {Authorization: 'Bearer ' + token}})).json();
            const item = state.items.find((i) => i.stem.includes('<img'));
            return item ? item.position : 1;
        }"""
    )
    return int(found)


def candidate_screens(browser: Any, base: str, out: Path, candidate: dict[str, Any]) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto("/")
    page.wait_for_selector("#view-login:not([hidden])")
    page.fill("#login-nomor", candidate["nomor_peserta"])
    shoot(page, out, "01-login")
    log_in(page, candidate["nomor_peserta"], candidate["pin"])
    shoot(page, out, "02-instructions")
    start(page)
    rng = random.Random(3)
    for position in (1, 2, 3, 5, 6, 8, 9, 10, 12, 31, 32, 34, 35):
        go_to(page, position)
        answer(page, rng.choice("ABCDE"))
        if position in (3, 9, 32):
            page.click("#flag-button")
    go_to(page, image_item(page))
    answer(page, "C")
    wait_saved(page)
    page.mouse.move(0, 0)
    shoot(page, out, "03-exam")
    page.set_viewport_size(SMALL)
    shoot(page, out, "04-exam-1024x768")
    page.click('[data-text-size-step="1"]')
    page.click('[data-text-size-step="1"]')
    shoot(page, out, "05-exam-large-text-1024x768")
    page.click('[data-text-size-step="-1"]')
    page.click('[data-text-size-step="-1"]')
    page.set_viewport_size(WIDE)

    context.set_offline(True)
    go_to(page, 40)
    answer(page, "B")
    page.click("#next-button")
    answer(page, "D")
    page.wait_for_selector('#save-state[data-state="offline"]')
    page.mouse.move(0, 0)
    shoot(page, out, "06-offline")
    context.set_offline(False)
    wait_saved(page)

    page.click("#finish-button")
    shoot(page, out, "07-finish-confirmation")
    page.click("#finish-yes")
    page.wait_for_selector("#view-result:not([hidden])")
    shoot(page, out, "08-result")
    page.click("#slip-link")
    page.wait_for_selector("#slip:not([hidden])")
    page.wait_for_timeout(500)
    page.set_viewport_size({"width": 1366, "height": 1100})
    shoot(page, out, "09-slip")
    page.emulate_media(media="print")
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shoot(page, out, "10-slip-printed")
    context.close()


def paused_screen(
    browser: Any,
    base: str,
    out: Path,
    api: Api,
    candidate: dict[str, Any],
    proctor: dict[str, str],
) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    log_in(page, candidate["nomor_peserta"], candidate["pin"])
    start(page)
    answer(page, "A")
    wait_saved(page)
    attempt = page.evaluate(
        "() => Number(Object.keys(localStorage)"
        ".find(k => k.startsWith('ujian.saves.')).split('.')[2])"
    )
    api.client.post(
        f"/api/v1/attempts/{attempt}/pause", json={"reason": "gangguan listrik"}, headers=proctor
    )
    page.click("#next-button")
    answer(page, "B")
    page.wait_for_selector("#paused-dialog[open]")
    shoot(page, out, "11-paused")
    api.client.post(
        f"/api/v1/attempts/{attempt}/resume", json={"reason": "listrik pulih"}, headers=proctor
    )
    context.close()


def proctor_screens(browser: Any, base: str, out: Path, staff: dict[str, str]) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto("/proctor")
    page.fill("#staff-username", staff["username"])
    shoot(page, out, "12-proctor-login")
    page.fill("#staff-password", staff["password"])
    page.click("#staff-login-form button[type=submit]")
    page.wait_for_selector("#view-sittings:not([hidden])")
    page.click("#sittings-body a")
    page.wait_for_selector("#view-console:not([hidden]) #seats-body tr")
    page.wait_for_timeout(1200)
    page.set_viewport_size({"width": 1366, "height": 1000})
    shoot(page, out, "13-proctor-console")
    page.set_viewport_size(WIDE)
    page.locator("#seats-body tr").nth(3).locator("button").click()
    page.click('#action-choices [data-choice="extend"]')
    page.fill("#action-minutes", "10")
    page.fill("#action-reason", "komputer hang 8 menit")
    shoot(page, out, "14-proctor-extend")
    page.click("#action-cancel")
    page.click("#pin-sheet-button")
    shoot(page, out, "15-pin-sheet-confirmation")
    page.fill("#action-reason", "lembar PIN tertinggal di ruang panitia")
    page.click("#action-submit")
    page.wait_for_selector("#pin-sheet:not([hidden])")
    page.locator("#pin-sheet").scroll_into_view_if_needed()
    shoot(page, out, "16-pin-sheet", top=False)
    context.close()


def english_screen(browser: Any, base: str, out: Path) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto("/?lang=en")
    page.wait_for_selector("#view-login:not([hidden])")
    shoot(page, out, "17-login-english")
    context.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    chromium = chromium_path()
    if chromium is None:
        print("No Chromium found: apt-get install chromium", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        url, logins = build_demo(Path(folder))
        env = {
            "UJIAN_DATABASE_URL": url,
            "UJIAN_SECRET_KEY": TEST_SECRET,
            "UJIAN_MODE": "production",
            "UJIAN_VAR_DIR": str(Path(folder) / "var"),
            "UJIAN_LOG_LEVEL": "WARNING",
            "UJIAN_PUBLIC_BASE_URL": "https://cat.example.go.id",
        }
        server = start_server(env, Path(folder))
        try:
            api = Api(server.url)
            staff = next(s for s in logins["staff"] if s["role"] == "proctor")
            proctor = api.staff(staff["username"], staff["password"])
            populate(api, logins, proctor)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=chromium, headless=True, args=CHROMIUM_ARGS
                )
                print(f"Screenshots into {args.out}:")
                candidate_screens(browser, server.url, args.out, logins["candidates"][0])
                paused_screen(browser, server.url, args.out, api, logins["candidates"][9], proctor)
                proctor_screens(browser, server.url, args.out, staff)
                english_screen(browser, server.url, args.out)
                browser.close()
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
