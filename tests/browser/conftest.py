"""Browser tests: Debian's headless Chromium driven by Playwright against a real ``ujian serve``
on the suite's database. Without Chromium they are skipped with a plain reason, except under
``UJIAN_REQUIRE_BROWSER=1`` (CI), where a missing browser fails them."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.journey import CHROMIUM_ARGS, server_env
from tests.conftest import TEST_SECRET
from tests.support.browser_check import chromium_path
from tests.support.factory import MiniExam, mini_exam
from tests.support.server import ServerProcess, running_server


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Where Chromium is; skips (or fails under UJIAN_REQUIRE_BROWSER=1) when it is missing."""
    path = chromium_path()
    if path is None:
        reason = (
            "no Chromium found; install Debian's package to run the browser tests: "
            "apt-get install chromium"
        )
        if os.environ.get("UJIAN_REQUIRE_BROWSER") == "1":
            pytest.fail(f"UJIAN_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return path


@pytest.fixture(scope="session")
def browser(chromium_executable: str) -> Iterator[object]:
    """One headless Chromium for the whole run (each test gets fresh contexts)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def server(db, database_url: str, tmp_path: Path) -> Iterator[ServerProcess]:
    """A real ``ujian serve`` on the suite's database (stopped before the tables are emptied)."""
    with running_server(server_env(database_url, tmp_path), tmp_path) as process:
        yield process


@pytest.fixture
def exam(db, clock) -> MiniExam:
    """The five-item mini exam (10 minutes) with an open sitting of two candidates."""
    return mini_exam(db, clock, TEST_SECRET.encode(), candidates=2, duration=10)


@pytest.fixture
def context(browser, server: ServerProcess) -> Iterator[object]:
    """A fresh browser profile at 1366×768 whose pages fail the test on any script error."""
    ctx = browser.new_context(base_url=server.url, viewport={"width": 1366, "height": 768})
    errors: list[str] = []
    ctx.on("weberror", lambda error: errors.append(str(error.error)))
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()
    assert errors == [], f"uncaught script errors: {errors}"


@pytest.fixture
def page(context) -> object:
    """A page in the fresh profile."""
    return context.new_page()
