"""The browser's save queue resends an answer only when the server says the same request may
succeed (``retryable``) or the network failed, and never before the server's ``Retry-After``.

The answer path's replies are replaced in the browser (Playwright's request routing) by the
envelopes the server sends in those cases; everything else is the real candidate page and
server.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.browser.journey import answer, log_in, queued, server_answers, start, token, wait_saved

pytestmark = pytest.mark.browser

NOMOR = "2026000001"
SAVES = "**/api/v1/attempts/current/responses/**"


Reply = tuple[int, dict[str, Any], dict[str, str]]


class Replies:
    """Answers the first ``len(replies)`` saves with the given (status, body, headers); lets
    every later one through to the server. Records when each save arrived."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.arrivals: list[float] = []

    def __call__(self, route: Any) -> None:
        self.arrivals.append(time.monotonic())
        if len(self.arrivals) > len(self.replies):
            route.continue_()
            return
        status, body, headers = self.replies[len(self.arrivals) - 1]
        route.fulfill(
            status=status,
            content_type="application/json",
            headers=headers,
            body=json.dumps(body),
        )


def settle(page: Any, replies: Replies, count: int, quiet_ms: int) -> None:
    """Wait until ``count`` saves arrived, then ``quiet_ms`` more (in which none may follow)."""
    deadline = time.monotonic() + 10
    while len(replies.arrivals) < count and time.monotonic() < deadline:
        page.wait_for_timeout(50)
    assert len(replies.arrivals) == count
    page.wait_for_timeout(quiet_ms)


def sitting_with_saves_answered(page: Any, exam: Any, *replies: Reply) -> Replies:
    """Log the candidate in and start; the first saves then get ``replies`` (see `Replies`)."""
    log_in(page, NOMOR, exam.pin_of(NOMOR))
    start(page)
    routed = Replies(*replies)
    page.route(SAVES, routed)
    return routed


def envelope(error: str, detail: str, *, retryable: bool) -> dict[str, Any]:
    """The server's error body."""
    return {"error": error, "detail": detail, "retryable": retryable}


def test_a_refusal_is_not_sent_again(page, server, exam):
    locked = envelope(
        "AdaptiveLocked",
        "this item is answered; an adaptive section does not go back",
        retryable=False,
    )
    replies = sitting_with_saves_answered(page, exam, (409, locked, {}))
    answer(page, "A")
    # The old queue retried what no list named after 1 s, 2 s, 4 s...: in 3.5 s, twice.
    settle(page, replies, 1, 3_500)
    assert len(replies.arrivals) == 1
    assert queued(page) == []  # dropped: the server will never take it

    # The queue keeps moving: the next answer goes out (to the real server) and is stored.
    answer(page, "B")
    wait_saved(page)
    assert len(replies.arrivals) == 2
    assert server_answers(server.url, token(page))[1] == ("B", False)


def test_an_outage_is_sent_again_after_retry_after(page, server, exam):
    down = envelope(
        "Unavailable",
        "the answer could not be stored right now; it will be retried",
        retryable=True,
    )
    replies = sitting_with_saves_answered(
        page, exam, (503, down, {"Retry-After": "2"}), (503, down, {})
    )
    answer(page, "C")
    page.wait_for_selector('#save-state[data-state="offline"]')
    wait_saved(page, timeout=20_000)
    assert len(replies.arrivals) == 3
    first, second, third = replies.arrivals
    # Retry-After (2 s) outweighs the first backoff step (1 s); then the backoff (2 s) applies.
    assert second - first >= 1.9
    assert third - second >= 1.9
    assert server_answers(server.url, token(page))[1] == ("C", False)


def test_an_internal_error_keeps_the_answer_for_the_next_change(page, server, exam):
    broken = envelope(
        "InternalError",
        "an unexpected error occurred; it has been logged with this request's id",
        retryable=False,
    )
    replies = sitting_with_saves_answered(page, exam, (500, broken, {}))
    answer(page, "D")
    settle(page, replies, 1, 2_500)
    # Not resent in a loop, not lost either: it waits, and the candidate sees it is not saved.
    assert [(e["position"], e["option"]) for e in queued(page)] == [(1, "D")]
    assert page.get_attribute("#save-state", "data-state") == "offline"
    page.click("#flag-button")  # the next change sends what waits
    wait_saved(page)
    assert server_answers(server.url, token(page))[1] == ("D", True)
