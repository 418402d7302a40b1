"""One candidate cannot flood the answer history: saves per attempt are limited (a rate with a
burst); more are refused with 429, ``Retry-After`` and ``retryable`` true, through the answer
path's shortcut and through the route alike, and other candidates are not slowed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from app.api.answer_path import AnswerPath
from app.main import create_app
from tests.conftest import make_settings
from tests.support.factory import candidate_login, mini_exam, start_attempt

BURST = 5
RATE = 0.01  # one save per 100 s: no refill while the test runs


@pytest.fixture(params=["shortcut", "route"])
def limited(request, database_url, tmp_path, db, clock) -> Iterator[TestClient]:
    settings = make_settings(
        database_url, tmp_path / "var", save_burst=BURST, save_rate_per_second=RATE
    )
    app = create_app(settings, db=db, clock=clock)
    if request.param == "route":
        app.user_middleware = [m for m in app.user_middleware if m.cls is not AnswerPath]
    with TestClient(app) as client:
        yield client


def save(client: TestClient, headers: dict[str, str], seq: int):
    return client.put(
        "/api/v1/attempts/current/responses/1",
        json={"option": "ABCDE"[seq % 5], "flagged": False, "seq": seq},
        headers=headers,
    )


def test_a_flood_of_saves_is_refused_with_retry_after(limited, db, clock):
    exam = mini_exam(db, clock, limited.app.state.secret, candidates=2)
    flooder = candidate_login(limited, exam, "2026000001")
    other = candidate_login(limited, exam, "2026000002")
    start_attempt(limited, flooder)
    start_attempt(limited, other)
    # The burst is spent, then the next save must wait for the bucket to refill.
    statuses = [save(limited, flooder, seq).status_code for seq in range(1, BURST + 3)]
    assert statuses[:BURST] == [200] * BURST
    refused = save(limited, flooder, 100)
    assert refused.status_code == 429, refused.text
    body = refused.json()
    assert body["error"] == "TooManyRequests"
    assert body["retryable"] is True
    assert 1 <= int(refused.headers["Retry-After"]) <= 1 / RATE
    # Another candidate is not slowed by it.
    assert save(limited, other, 1).status_code == 200
    # After the wait, the same save goes through.
    clock.advance(timedelta(seconds=int(refused.headers["Retry-After"])))
    assert save(limited, flooder, 100).status_code == 200
