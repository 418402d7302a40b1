"""Take the screenshots of docs/screens.md from the demo exam in headless Chromium.

    python -m tests.browser.screenshots [--out docs/screenshots]

Builds the demo (``ujian demo``) in a temporary SQLite database, serves it with ``ujian serve``,
brings a few candidates to different points of the exam through the API so the proctor console
has something to show, and photographs each main screen at 1366×768 (and the exam at 1024×768).
Then every candidate finishes (most answering like prepared candidates, a few guessing) for the
live score board, slip verification, the committee console and the published rankings.
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

    def finish(self, headers: dict[str, str]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        ).json()
        return result

    def sit(
        self, headers: dict[str, str], committee: dict[str, str], skill: float, rng: random.Random
    ) -> dict[str, Any]:
        """Start and answer every item like a candidate of ``skill`` (the chance of the key, or
        of the best TKP option), leaving a few blank; finish. The key comes from the replay."""
        state = self.client.post("/api/v1/attempts/current/start", headers=headers).json()
        replay = self.client.get(
            f"/api/v1/attempts/{state['attempt_id']}/replay", headers=committee
        ).json()
        seq = 0
        for item in replay["items"]:
            if rng.random() < 0.03:
                continue
            ranked = sorted(item["options"], key=lambda o: -(o.get("points") or 0))
            best = item["key"] or ranked[0]["id"]
            others = [o["id"] for o in item["options"] if o["id"] != best]
            seq += 1
            self.client.put(
                f"/api/v1/attempts/current/responses/{item['position']}",
                json={
                    "option": best if rng.random() < skill else rng.choice(others),
                    "flagged": False,
                    "seq": seq,
                },
                headers=headers,
            )
        return self.finish(headers)


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


def finish_everyone(
    api: Api, logins: dict[str, Any], proctor: dict[str, str], committee: dict[str, str]
) -> dict[str, dict[str, Any]]:
    """Every candidate who started finishes; the others sit the exam now (one stays absent).
    Returns the results by nomor peserta."""
    rng = random.Random(11)
    results: dict[str, dict[str, Any]] = {}
    sitting = logins["sittings"][0]["id"]
    seats = api.client.get(f"/api/v1/sittings/{sitting}/seats", headers=proctor)
    by_nomor = {s["nomor_peserta"]: s for s in seats.json()["seats"]}
    # The PIN sheet photographed above replaced every PIN: issue the ones to use from here on.
    issued = api.client.post(
        f"/api/v1/sittings/{sitting}/pins",
        json={"reason": "lembar PIN baru untuk sesi lanjutan"},
        headers=proctor,
    ).json()
    pins = {p["nomor_peserta"]: p["pin"] for p in issued}
    candidates = [{**c, "pin": pins[c["nomor_peserta"]]} for c in logins["candidates"]]
    logins["candidates"] = candidates
    for index, candidate in enumerate(candidates[:-1]):
        nomor = candidate["nomor_peserta"]
        seat = by_nomor[nomor]
        if seat["status"] == "finished" or index == 8:
            continue  # finished already; candidate 9 logged in and never started (TH)
        if seat["status"] == "paused":
            api.client.post(
                f"/api/v1/attempts/{seat['attempt_id']}/resume",
                json={"reason": "PC pengganti siap"},
                headers=proctor,
            )
        headers = api.candidate(nomor, candidate["pin"])
        if seat["status"] in ("in_progress", "paused"):
            results[nomor] = api.finish(headers)["result"]
        else:
            results[nomor] = api.sit(headers, committee, rng.uniform(0.45, 0.92), rng)["result"]
    return results


def live_screen(
    browser: Any, base: str, out: Path, api: Api, logins: dict[str, Any], committee: dict[str, str]
) -> None:
    """The board with most of the room finished, the last candidate arriving on screen."""
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto(f"/live/{logins['sittings'][0]['id']}")
    page.wait_for_selector('#live-connection[data-state="live"]')
    last = logins["candidates"][-1]
    headers = api.candidate(last["nomor_peserta"], last["pin"])
    result = api.sit(headers, committee, 0.88, random.Random(5))["result"]
    page.wait_for_selector(f'#live-body tr[data-pseudonym="{result["pseudonym"]}"]')
    page.mouse.move(0, 0)
    shoot(page, out, "18-live-board")
    context.close()


def verify_screens(browser: Any, base: str, out: Path, code: str) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto(f"/verify/{code}")
    page.wait_for_selector("#verdict:not([hidden])")
    page.set_viewport_size({"width": 1366, "height": 1000})
    shoot(page, out, "19-verify-authentic")
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    page.goto(f"/verify/{forged}")
    page.wait_for_selector("#verdict:not([hidden])")
    shoot(page, out, "20-verify-forged")
    context.close()


def committee_screens(browser: Any, base: str, out: Path, staff: dict[str, str]) -> None:
    """Publish the rankings, open the item analysis, dry-run and apply a key correction on the
    most often drawn TWK item (its most chosen wrong option made the key)."""
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto("/committee")
    page.fill("#staff-username", staff["username"])
    page.fill("#staff-password", staff["password"])
    page.click("#staff-login-form button[type=submit]")
    page.wait_for_selector("#view-exams:not([hidden]) #exams-body tr")
    page.click('[data-publish="SKD-CPNS"]')
    page.wait_for_selector("#publish-outcome:not([hidden])")
    page.mouse.move(0, 0)
    shoot(page, out, "21-committee-exams")
    page.click('[data-analysis="SKD-CPNS"]')
    page.wait_for_selector("#report-frame:not([hidden])")
    page.frame_locator("#report-frame").locator("h1").wait_for()
    page.set_viewport_size({"width": 1366, "height": 1000})
    shoot(page, out, "22-item-analysis")
    page.set_viewport_size(WIDE)
    # The correction to show: of the most often drawn TWK items and their wrong options, the
    # one whose dry run changes the most pass/fail outcomes.
    target = page.evaluate(
        """async () => {
            const token = sessionStorage.getItem('ujian.committee.token');
            const headers = {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'};
            const analysis = await (await fetch('/api/v1/exams/SKD-CPNS/item-analysis',
                {headers})).json();
            const items = analysis.items.filter((i) => i.section === 'TWK' && i.key_index !== null);
            items.sort((a, b) => b.exposure_count - a.exposure_count);
            let best = null;
            for (const item of items.slice(0, 8)) {
                for (const option of item.options.filter((o) => !o.is_key)) {
                    const body = {item_code: item.code, kind: 'correct_key', key: option.label,
                                  reason: 'uji'};
                    const plan = await (await fetch('/api/v1/exams/SKD-CPNS/corrections/dry-run',
                        {method: 'POST', headers, body: JSON.stringify(body)})).json();
                    const score = plan.pass_changes * 100 + plan.attempts_changed;
                    if (!best || score > best[2]) best = [item.code, option.index, score];
                }
            }
            return best;
        }"""
    )
    page.goto(f"/committee/corrections?exam=SKD-CPNS&item={target[0]}&key_index={target[1]}")
    page.wait_for_selector("#view-correction:not([hidden])")
    page.wait_for_selector("#item-info:not([hidden])")
    page.fill(
        "#correction-reason", "Kunci tertukar saat penyusunan soal; dikonfirmasi tim penelaah"
    )
    page.click("#dry-run-button")
    page.wait_for_selector("#plan:not([hidden])")
    page.mouse.move(0, 0)
    page.wait_for_timeout(300)
    page.screenshot(path=str(out / "23-correction-dry-run.png"), full_page=True)
    print("  23-correction-dry-run.png")
    page.click("#apply-button")
    page.wait_for_selector("#apply-dialog[open]")
    page.click("#apply-confirm")
    page.wait_for_selector("#applied-box:not([hidden])")
    context.close()


def rankings_screen(browser: Any, base: str, out: Path) -> None:
    context = browser.new_context(base_url=base, viewport=WIDE)
    page = context.new_page()
    page.goto("/rankings/SKD-CPNS")
    page.wait_for_selector(".ranking-table tbody tr")
    page.set_viewport_size({"width": 1366, "height": 1400})
    page.mouse.move(0, 0)
    shoot(page, out, "24-rankings")
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
                panel = next(s for s in logins["staff"] if s["role"] == "committee")
                committee = api.staff(panel["username"], panel["password"])
                results = finish_everyone(api, logins, proctor, committee)
                live_screen(browser, server.url, args.out, api, logins, committee)
                passed = next(r for r in results.values() if r["passed"])
                verify_screens(browser, server.url, args.out, passed["slip_code"])
                committee_screens(browser, server.url, args.out, panel)
                rankings_screen(browser, server.url, args.out)
                browser.close()
        finally:
            server.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
