"""No leaks: what a candidate can reach carries no answer key, no option points, nothing of
another candidate; public answers carry no personal data at all; the shown option order does
not give the key away; image links are signed per attempt; error bodies carry no stack trace
and no SQL.

One candidate (``j``) goes through the whole journey (login, start, state, clock, a save per
item, images, finish, slip, public ranking, live board, the pages) while the others of the world
sit the same exam, and every answer the journey meets is kept and checked.
"""

from __future__ import annotations

import contextlib
import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.security.hostile import hostile_requests, send_all
from tests.security.world import World, build_world, stream_start

#: JSON keys that would carry the key or the scoring to a candidate.
FORBIDDEN_KEYS = frozenset(
    {
        "key",
        "keys",
        "answer_key",
        "key_index",
        "correct",
        "is_correct",
        "points",
        "option_points",
        "original_label",
        "labels",
        "scoring",
        "p_value",
        "irt",
        "irt_a",
        "irt_b",
        "irt_c",
    }
)
#: Substrings that mean an error body tells how the server is built.
INTERNALS = (
    "Traceback",
    'File "',
    ".py",
    "sqlalchemy",
    "psycopg",
    "sqlite3",
    "OperationalError",
    "IntegrityError",
    "DataError",
    "OverflowError",
    "UnicodeEncodeError",
    "UnicodeDecodeError",
    "TypeError",
    "SELECT ",
    "INSERT INTO",
    "UPDATE ",
    "DELETE FROM",
    " WHERE ",
    "[SQL:",
    "Background on this error",
)


@dataclass
class Seen:
    """One answer the journey met."""

    what: str
    status_code: int
    text: str
    public: bool

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.text)
        except ValueError:
            return None


@pytest.fixture(scope="module")
def crowd(module_client: Any, module_db: Any, module_clock: Any, module_app: Any) -> World:
    """The world with four more candidates in the main sitting (more forms to compare)."""
    return build_world(
        module_client, module_db, module_clock, module_app.state.secret, extra_candidates=4
    )


@pytest.fixture(scope="module")
def journey(crowd: World) -> list[Seen]:
    """Candidate j's journey, every answer kept (``public``: reachable without logging in)."""
    client, seen = crowd.client, []

    def keep(what: str, response: Any, *, public: bool = False) -> Any:
        seen.append(Seen(what, response.status_code, response.text, public))
        return response

    j = crowd.candidates["j"]
    login = keep(
        "login",
        client.post("/api/v1/candidate/login", json={"nomor_peserta": j.nomor, "pin": j.pin}),
    )
    assert login.status_code == 200, login.text
    j.headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    j.attempt_id = login.json()["attempt_id"]
    h = j.headers
    keep("state before start", client.get("/api/v1/attempts/current", headers=h))
    keep("start", client.post("/api/v1/attempts/current/start", headers=h))
    state = keep("state", client.get("/api/v1/attempts/current", headers=h)).json()
    keep("clock", client.get("/api/v1/attempts/current/clock", headers=h))
    for seq, item in enumerate(state["items"], start=1):
        keep(
            f"save {item['position']}",
            client.put(
                f"/api/v1/attempts/current/responses/{item['position']}",
                json={"option": "C", "flagged": seq == 1, "seq": seq},
                headers=h,
            ),
        )
    # Refused saves: their error bodies are checked for leaks like every other response.
    for label, position, option, seq in (
        ("stale save", 1, "D", 1),
        ("bad position", 999, "A", 99),
        ("bad option", 1, "Z", 100),
    ):
        keep(
            label,
            client.put(
                f"/api/v1/attempts/current/responses/{position}",
                json={"option": option, "flagged": False, "seq": seq},
                headers=h,
            ),
        )
    keep("state after saves", client.get("/api/v1/attempts/current", headers=h))
    for link in sorted(set(media_links(state))):
        keep(f"image {link}", client.get(html.unescape(link)))
    keep(
        "finish unconfirmed",
        client.post("/api/v1/attempts/current/finish", json={"confirm": False}, headers=h),
    )
    finished = keep(
        "finish",
        client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=h),
    ).json()
    keep(
        "save after finish",
        client.put(
            "/api/v1/attempts/current/responses/1",
            json={"option": "A", "flagged": False, "seq": 500},
            headers=h,
        ),
    )
    keep("state after finish", client.get("/api/v1/attempts/current", headers=h))
    keep("clock after finish", client.get("/api/v1/attempts/current/clock", headers=h))
    code = finished["result"]["slip_code"]
    sitting = crowd.sitting_id
    for what, path in (
        ("slip", f"/api/v1/public/slips/{code}"),
        ("slip qr", f"/api/v1/public/slips/{code}/qr.svg"),
        ("forged slip", f"/api/v1/public/slips/{code[:-3]}AAA"),
        ("rankings", f"/api/v1/public/rankings/{crowd.exam_code}"),
        ("rankings csv", f"/api/v1/public/rankings/{crowd.exam_code}?format=csv"),
        ("rankings search", f"/api/v1/public/rankings/{crowd.exam_code}?q=AAAAA-AAAAA-A"),
        ("live board", f"/api/v1/public/live/{sitting}/board"),
        ("page /", "/"),
        ("page /?lang=en", "/?lang=en"),
        ("page /slip", "/slip"),
        ("page /verify", f"/verify/{code}"),
        ("page /rankings", f"/rankings/{crowd.exam_code}"),
        ("page /live", f"/live/{sitting}"),
    ):
        keep(what, client.get(path), public=True)
    stream = stream_start(client, f"/api/v1/public/live/{sitting}")
    seen.append(Seen("live stream", stream.status_code, stream.text, public=True))
    return seen


def media_links(state: dict[str, Any]) -> list[str]:
    """Every image link of a candidate's state."""
    texts = [i["stem"] for i in state["items"]] + [
        o["text"] for i in state["items"] for o in i["options"]
    ]
    return re.findall(r'src="(/api/v1/media/[^"]+)"', "\n".join(texts))


def json_keys(value: Any) -> Iterator[str]:
    """Every key of a JSON value, at any depth."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key
            yield from json_keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from json_keys(inner)


def readable(text: str) -> str:
    """``text`` with JSON and HTML escapes undone too, so nothing hides behind an escape."""
    variants = [text, html.unescape(text)]
    with contextlib.suppress(ValueError):
        variants.append(json.dumps(json.loads(text), ensure_ascii=False))
    return "\n".join(variants)


def test_the_journey_went_through(journey: list[Seen]) -> None:
    statuses = {s.what: s.status_code for s in journey}
    assert statuses["finish"] == 200
    assert statuses["slip"] == 200
    assert statuses["rankings"] == 200
    assert statuses["live stream"] == 200
    assert any(w.startswith("image ") for w in statuses), "the form shows images"
    assert all(statuses[w] == 200 for w in statuses if w.startswith("image "))


def test_no_key_points_or_scoring_reach_the_candidate(journey: list[Seen]) -> None:
    problems = []
    for seen in journey:
        keys = set(json_keys(seen.json)) & FORBIDDEN_KEYS
        if keys:
            problems.append(f"{seen.what}: fields {sorted(keys)}")
        for marker in ('"key"', '"points"', '"correct"', '"original_label"'):
            if marker in readable(seen.text):
                problems.append(f"{seen.what}: {marker} in the body")
    assert not problems, "\n".join(problems)


def test_no_bank_labels_or_item_codes_reach_the_candidate(
    crowd: World, journey: list[Seen]
) -> None:
    # The bank's own labels would map the shown letters back to the key ("A" is every
    # single-key item's key in this bank); its item codes identify items across forms.
    problems = []
    for seen in journey:
        text = readable(seen.text)
        if re.search(r"\b(TWK|TKP)-\d{3}\b", text):
            problems.append(f"{seen.what}: an item code")
        if re.search(r'"(label|original_label)"\s*:\s*"[A-F]"', text):
            problems.append(f"{seen.what}: a bank option label")
    assert not problems, "\n".join(problems)


def test_nothing_of_another_candidate_reaches_the_candidate(
    crowd: World, journey: list[Seen]
) -> None:
    j = crowd.candidates["j"]
    others = [c for c in crowd.candidates.values() if c.key != "j"]
    problems = []
    for seen in journey:
        text = readable(seen.text)
        for other in others:
            for value in (other.nomor, other.name):
                if value in text:
                    problems.append(f"{seen.what}: {value!r} of candidate {other.key}")
        for found in re.findall(r'"attempt_id"\s*:\s*(\d+)', text):
            if int(found) != j.attempt_id:
                problems.append(f"{seen.what}: attempt_id {found}")
        for found in re.findall(r"[?&](?:amp;)?a=(\d+)", text):
            if int(found) != j.attempt_id:
                problems.append(f"{seen.what}: an image link of attempt {found}")
    assert not problems, "\n".join(problems)


def test_public_answers_carry_no_personal_data(crowd: World, journey: list[Seen]) -> None:
    problems = []
    for seen in (s for s in journey if s.public):
        text = readable(seen.text)
        if {"nomor_peserta", "name_of_candidate", "nik"} & set(json_keys(seen.json)):
            problems.append(f"{seen.what}: a personal field")
        for candidate in crowd.candidates.values():
            for value in (candidate.nomor, candidate.name):
                if value in text:
                    problems.append(f"{seen.what}: {value!r} of candidate {candidate.key}")
    assert not problems, "\n".join(problems)


def test_the_option_order_does_not_give_the_key_away(crowd: World, journey: list[Seen]) -> None:
    # Where the key (single-key items) and the best option (weighted items) are shown, over
    # every started form of the sitting, from the committee's replay.
    key_letters, best_letters, forms = [], [], 0
    for candidate in crowd.candidates.values():
        if candidate.attempt_id is None or candidate.sitting_id != crowd.sitting_id:
            continue
        forms += 1
        for item in crowd.replay(candidate.attempt_id)["items"]:
            if item["key"] is not None:
                key_letters.append(item["key"])
            else:
                best_letters.append(max(item["options"], key=lambda o: o["points"])["id"])
    assert forms >= 8
    # 8+ forms x 3 keyed items: with shuffled options, two letters or fewer has odds below
    # 1e-8; without shuffling it is certain (every key of this bank is its option "A").
    assert len(set(key_letters)) >= 3, key_letters
    assert len(set(best_letters)) >= 2, best_letters
    assert key_letters.count("A") < len(key_letters), key_letters


def test_image_links_open_only_for_their_own_attempt(crowd: World, journey: list[Seen]) -> None:
    client = crowd.client
    state = client.get("/api/v1/attempts/current", headers=crowd.candidates["a"].headers).json()
    a, b = crowd.candidates["a"].attempt_id, crowd.candidates["b"].attempt_id
    links = sorted({html.unescape(link) for link in media_links(state)})
    assert len({link.split("?")[0] for link in links}) >= 2, "two different images"
    for link in links:
        assert f"a={a}&" in link, link
        assert client.get(link).status_code == 200, link
        # the same signature with another attempt's id
        assert client.get(link.replace(f"a={a}&", f"a={b}&")).status_code == 401, link
        # no signature, a mangled one, none at all
        path, query = link.split("?")
        signature = query.split("s=")[1]
        assert client.get(f"{path}?a={a}&s={signature[::-1]}").status_code == 401
        assert client.get(f"{path}?a={a}").status_code == 401
        assert client.get(path).status_code == 401
        # a candidate's bearer token opens no image either (only the signed link does)
        assert client.get(path, headers=crowd.candidates["a"].headers).status_code == 401
    # a's signature for one image does not open another
    first, second = links[0], next(x for x in links if x.split("?")[0] != links[0].split("?")[0])
    assert client.get(second.split("?")[0] + "?" + first.split("?")[1]).status_code == 401


def test_image_links_end_with_the_exam(crowd: World, journey: list[Seen]) -> None:
    # j's links opened while j sat the exam (the journey); j has finished since.
    links = [s.what.removeprefix("image ") for s in journey if s.what.startswith("image ")]
    assert links
    assert all(s.status_code == 200 for s in journey if s.what.startswith("image "))
    for link in links:
        response = crowd.client.get(html.unescape(link))
        assert response.status_code == 401, link
        assert response.json()["detail"] == "this image link ended with the exam"


def test_candidate_b_sees_only_b(crowd: World) -> None:
    b = crowd.candidates["b"]
    for path in ("/api/v1/attempts/current", "/api/v1/attempts/current/start"):
        method = "GET" if path.endswith("current") else "POST"
        body = crowd.client.request(method, path, headers=b.headers).json()
        assert body["attempt_id"] == b.attempt_id
        assert (body["nomor_peserta"], body["name"]) == (b.nomor, b.name)
        assert f"a={b.attempt_id}&" in json.dumps(body)


def test_error_answers_carry_no_stack_trace_or_sql(crowd: World, journey: list[Seen]) -> None:
    answers = [(s.what, s.status_code, s.text) for s in journey if s.status_code >= 400]
    for case in hostile_requests():
        for label, response in send_all(crowd, case):
            answers.append((f"{case.id} {label}", response.status_code, response.text))
    for path in ("/api/v1/no-such-route", "/api/v1/attempts/current/responses/x"):
        response = crowd.client.get(path)
        answers.append((path, response.status_code, response.text))
    assert len(answers) > 50
    problems = []
    for what, status, text in answers:
        if status < 400:
            continue
        leaked = [marker for marker in INTERNALS if marker in readable(text)]
        if leaked:
            problems.append(f"{what} -> {status}: {leaked}: {text[:200]}")
        try:
            body = json.loads(text)
        except ValueError:
            problems.append(f"{what} -> {status}: not JSON: {text[:100]}")
            continue
        if not isinstance(body, dict) or not {"error", "detail"} <= body.keys():
            problems.append(f"{what} -> {status}: outside the error envelope: {text[:100]}")
    assert not problems, "\n".join(problems)


# --- Explanations (pembahasan): stored with the items, shown only on a practice review.

EXPLANATION_MARKER = "PEMBAHASAN-RAHASIA"


def test_no_explanation_reaches_a_live_candidate_before_or_after_finishing(
    client: Any, db: Any, clock: Any
) -> None:
    from tests.conftest import TEST_SECRET
    from tests.support.factory import bank_json, mini_exam

    document = json.loads(bank_json())
    for item in document["items"]:
        # Codes of its own: this module's database already holds the journey's bank, and an
        # upload never silently versions someone else's item.
        item["code"] = f"EXPL-{item['code']}"
        item["explanation"] = f"<p>{EXPLANATION_MARKER} {item['code']}</p>"
    [pin] = mini_exam(
        db,
        clock,
        TEST_SECRET.encode(),
        candidates=1,
        bank=("bank.json", json.dumps(document).encode()),
    ).pins
    login = client.post(
        "/api/v1/candidate/login", json={"nomor_peserta": pin.nomor_peserta, "pin": pin.pin}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    bodies = [
        ("ready state", client.get("/api/v1/attempts/current", headers=headers)),
        ("start", client.post("/api/v1/attempts/current/start", headers=headers)),
        ("running state", client.get("/api/v1/attempts/current", headers=headers)),
        (
            "save",
            client.put(
                "/api/v1/attempts/current/responses/1",
                json={"option": "A", "flagged": True, "seq": 1},
                headers=headers,
            ),
        ),
        ("clock", client.get("/api/v1/attempts/current/clock", headers=headers)),
        (
            "finish",
            client.post("/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers),
        ),
        ("finished state", client.get("/api/v1/attempts/current", headers=headers)),
        ("review", client.get("/api/v1/practice/attempts/current/review", headers=headers)),
        ("page", client.get("/")),
        ("practice list", client.get("/api/v1/practice/exams")),
    ]
    assert bodies[1][1].status_code == 200, bodies[1][1].text
    assert bodies[5][1].status_code == 200, bodies[5][1].text
    assert bodies[7][1].status_code == 404  # the review is only ever a practice attempt's
    problems = []
    for what, response in bodies:
        if EXPLANATION_MARKER in readable(response.text):
            problems.append(f"{what}: an explanation in the body")
        keys = set(json_keys(_json_or_none(response.text))) & (FORBIDDEN_KEYS | {"explanation"})
        if keys:
            problems.append(f"{what}: fields {sorted(keys)}")
    assert not problems, "\n".join(problems)
    # ... while the bank did store them (the marker is not missing for a dull reason).
    with db.session() as session:
        from sqlalchemy import select

        from app.models.bank import ItemVersion

        stored = session.scalars(
            select(ItemVersion.explanation).where(ItemVersion.code.startswith("EXPL-"))
        ).all()
        assert stored
        assert all(EXPLANATION_MARKER in (text or "") for text in stored)


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None
