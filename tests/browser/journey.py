"""Steps of the candidate and proctor journeys shared by the browser tests and the screenshot
script: log in, start, answer, read what the server holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import TEST_SECRET

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN_KEY = "ujian.candidate.token"


def server_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment of a test server: the suite's database and key, a short answer grace."""
    return {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_SQLITE_SYNCHRONOUS": "NORMAL",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
        "UJIAN_SAVE_GRACE_SECONDS": "1",
        "UJIAN_SWEEPER_INTERVAL_SECONDS": "0.5",
    }


def log_in(page: Any, nomor: str, pin: str, *, path: str = "/") -> None:
    """Open the candidate page and log in; waits for the instructions or the exam."""
    page.goto(path)
    page.fill("#login-nomor", nomor)
    page.fill("#login-pin", pin)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#view-instructions:not([hidden]), #view-exam:not([hidden])")


def start(page: Any) -> None:
    """Press Mulai Ujian and wait for the first item."""
    page.click("#start-button")
    page.wait_for_selector("#view-exam:not([hidden]) #option-list .option")


def answer(page: Any, letter: str) -> None:
    """Click option ``letter`` of the item on screen."""
    page.click(f'#option-list .option[data-option="{letter}"]')


def go_to(page: Any, position: int) -> None:
    """Jump to item ``position`` through the grid."""
    page.click(f'#item-grid .cell[data-position="{position}"]')
    page.wait_for_function(
        "n => document.querySelector('#question-heading').textContent.includes(' ' + n + ' ')",
        arg=position,
    )


def wait_saved(page: Any, timeout: float = 10_000) -> None:
    """Until every answer is acknowledged by the server."""
    page.wait_for_selector('#save-state[data-state="saved"]', timeout=timeout)


def timer_seconds(page: Any) -> int:
    """The countdown on screen, in seconds."""
    text = page.inner_text("#timer")
    hours, minutes, seconds = (int(part) for part in re.findall(r"\d+", text))
    return hours * 3600 + minutes * 60 + seconds


def token(page: Any) -> str:
    """The candidate token of the page's tab."""
    value = page.evaluate("key => sessionStorage.getItem(key)", TOKEN_KEY)
    assert value, "the page holds no candidate token"
    return str(value)


def server_state(base_url: str, bearer: str) -> dict[str, Any]:
    """The attempt as the server holds it."""
    response = httpx.get(
        f"{base_url}/api/v1/attempts/current",
        headers={"Authorization": f"Bearer {bearer}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    state: dict[str, Any] = response.json()
    return state


def server_answers(base_url: str, bearer: str) -> dict[int, tuple[str | None, bool]]:
    """Position -> (option, flagged) of every item the server holds an answer or a flag for."""
    state = server_state(base_url, bearer)
    return {
        item["position"]: (item["option"], item["flagged"])
        for item in state["items"]
        if item["option"] is not None or item["flagged"]
    }


def queued(page: Any) -> list[dict[str, Any]]:
    """The answers the page keeps for resending (its localStorage queue)."""
    entries: list[dict[str, Any]] = page.evaluate(
        """() => {
            const key = Object.keys(localStorage).find((k) => k.startsWith('ujian.saves.'));
            return key ? JSON.parse(localStorage.getItem(key)).pending : [];
        }"""
    )
    return entries
