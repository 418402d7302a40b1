"""A realistic exam world for the security tests, built once per module.

One published exam (with images), two open sittings, staff of every role and candidates in
every state: started, finished with a slip, a ranking published. The authorization table, the
schema fuzz run and the leak checks all send real identifiers from here, so that a route's
answer is decided by who is asking, not by a missing row.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from app.clock import Clock
from app.db import Database
from app.models.attempt import Attempt
from app.models.bank import MediaBlob
from app.models.staff import Role
from app.services import bank as bank_service
from app.services import exams as exam_service
from app.services import proctoring
from app.services import staff as staff_service
from tests.support.factory import SMALL_SPEC, bank_json, live_replay, roster_csv

EXAM_CODE = "MINI"
ITEM_CODE = "TWK-000"
MEDIA_DIR = Path(__file__).parents[1] / "fixtures" / "banks" / "media"
#: A second image, so a link signed for one image can be tried on another.
BOX_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
    b'<rect width="20" height="20" fill="#345"/></svg>'
)


@dataclass
class Staff:
    """A staff account and a live token of it."""

    username: str
    password: str
    role: Role
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Candidate:
    """A registered candidate; ``headers`` carry their candidate token once they logged in."""

    key: str
    nomor: str
    name: str
    sitting_id: int
    pin: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    attempt_id: int | None = None


@dataclass
class World:
    """Everything the security tests send requests about."""

    client: TestClient
    sitting_id: int
    other_sitting_id: int
    staff: dict[str, Staff]
    candidates: dict[str, Candidate]
    media: list[str]
    slip_code: str = ""
    exam_code: str = EXAM_CODE
    item_code: str = ITEM_CODE

    def fresh_headers(self, who: str) -> dict[str, str]:
        """A new token of staff account ``who`` (for routes that end the token they are sent)."""
        account = self.staff[who]
        return staff_login(self.client, account.username, account.password)

    def login(self, key: str) -> Candidate:
        """Log candidate ``key`` in (again): a new token for their attempt."""
        candidate = self.candidates[key]
        response = self.client.post(
            "/api/v1/candidate/login", json={"nomor_peserta": candidate.nomor, "pin": candidate.pin}
        )
        assert response.status_code == 200, response.text
        body = response.json()
        candidate.headers = {"Authorization": f"Bearer {body['access_token']}"}
        candidate.attempt_id = body["attempt_id"]
        return candidate

    def current_token(self, key: str) -> dict[str, str]:
        """A token for ``key``'s attempt on its current device, issued by the server's token
        service directly: still usable when other requests moved the attempt or re-issued
        the PINs."""
        candidate = self.candidates[key]
        assert candidate.attempt_id is not None
        services = self.client.app.state.services  # type: ignore[attr-defined]
        with services.db.read_session() as session:
            attempt = session.get(Attempt, candidate.attempt_id)
            assert attempt is not None
            generation = attempt.device_generation
        token = services.tokens.issue(
            candidate.attempt_id, generation, int(services.clock.now().timestamp())
        )
        return {"Authorization": f"Bearer {token}"}

    def start(self, key: str) -> dict[str, Any]:
        """Log in and start candidate ``key``; returns the state."""
        candidate = self.login(key)
        response = self.client.post("/api/v1/attempts/current/start", headers=candidate.headers)
        assert response.status_code == 200, response.text
        return response.json()

    def replay(self, attempt_id: int) -> dict[str, Any]:
        """The replay of an attempt: where each key is among the shown options (read past the
        route, which refuses a replay while the candidate sits)."""
        return live_replay(self.client, attempt_id)

    def answer_all(self, key: str, *, correct: bool = True) -> list[dict[str, Any]]:
        """Save an answer at every position of ``key``'s form; returns the acknowledgements."""
        candidate = self.candidates[key]
        assert candidate.attempt_id is not None
        acks = []
        for seq, item in enumerate(self.replay(candidate.attempt_id)["items"], start=1):
            if item["key"] is not None:
                letter = (
                    item["key"]
                    if correct
                    else next(o["id"] for o in item["options"] if o["id"] != item["key"])
                )
            else:
                best = max if correct else min
                letter = best(item["options"], key=lambda o: o["points"])["id"]
            response = self.client.put(
                f"/api/v1/attempts/current/responses/{item['position']}",
                json={"option": letter, "flagged": seq % 2 == 0, "seq": seq},
                headers=candidate.headers,
            )
            assert response.status_code == 200, response.text
            acks.append(response.json())
        return acks

    def finish(self, key: str) -> dict[str, Any]:
        """Finish candidate ``key``'s attempt; returns the final state."""
        response = self.client.post(
            "/api/v1/attempts/current/finish",
            json={"confirm": True},
            headers=self.candidates[key].headers,
        )
        assert response.status_code == 200, response.text
        return response.json()


def staff_login(client: TestClient, username: str, password: str) -> dict[str, str]:
    """Authorization headers of a new token for a staff account."""
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


#: Option texts that do not name the bank's label (the factory's "Pilihan A" would give the key
#: away to anyone reading the shown text: the single-key items are all keyed A).
OPTION_WORDS = ("merah", "kuning", "hijau", "biru", "ungu")


def illustrated_bank() -> tuple[bytes, dict[str, bytes]]:
    """The factory's small bank with an image in every stem (TWK: a PNG, TKP: an SVG) and
    option texts that say nothing about the option's label."""
    bank = json.loads(bank_json())
    for number, item in enumerate(bank["items"]):
        name = "media/star.png" if item["section"] == "TWK" else "media/box.svg"
        item["stem"] += f'<img src="{name}" alt="gambar">'
        item["media"] = [name]
        for option, word in zip(item["options"], OPTION_WORDS, strict=True):
            option["text"] = f"Jawaban {word} untuk butir {number}"
    files = {"media/star.png": (MEDIA_DIR / "star.png").read_bytes(), "media/box.svg": BOX_SVG}
    return json.dumps(bank).encode(), files


#: Candidates of the main sitting: a (own attempt), b (another attempt of the same sitting),
#: c (finished, with a slip), t (the target of the proctor's destructive actions), j (registered
#: but not logged in: a test takes them through the whole journey).
MAIN_ROSTER = {
    "a": ("2026100001", "Ayu Lestari"),
    "b": ("2026100002", "Budi Santoso"),
    "c": ("2026100003", "Citra Wulandari"),
    "t": ("2026100004", "Teguh Prasetyo"),
    "j": ("2026100005", "Joko Susilo"),
}
EXTRA_NAMES = ("Eka Putri", "Fajar Nugroho", "Gita Permata", "Hadi Kurniawan", "Indah Sari")
#: Candidate of the other sitting: d logs in again and again (the public login route).
OTHER_ROSTER = {"d": ("2026200001", "Dewi Anggraini")}


def build_world(
    client: TestClient,
    db: Database,
    clock: Clock,
    secret: bytes,
    *,
    extra_candidates: int = 0,
) -> World:
    """Build the world; ``extra_candidates`` more candidates (x1, x2...) join the main sitting."""
    now = clock.now()
    main_roster = dict(MAIN_ROSTER)
    for i in range(1, extra_candidates + 1):
        main_roster[f"x{i}"] = (
            f"2026300{i:03d}",
            EXTRA_NAMES[(i - 1) % len(EXTRA_NAMES)] + f" {i}",
        )
    accounts = {
        "admin": Role.ADMIN,
        "committee": Role.COMMITTEE,
        "proctor": Role.PROCTOR,
        "proctor_other": Role.PROCTOR,
        "bystander": Role.PROCTOR,
    }
    staff: dict[str, Staff] = {}
    with db.session() as session:
        for key, role in accounts.items():
            username = f"sec-{key.replace('_', '-')}"
            password = f"kata-sandi-{key}-0123"
            staff_service.create_user(
                session, username=username, password=password, role=role, now=now, actor="test"
            )
            staff[key] = Staff(username, password, role)
    candidates: dict[str, Candidate] = {}
    with db.session() as session:
        data, files = illustrated_bank()
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("bank.json", io.BytesIO(data), files.get)],
            actor="test",
            now=now,
        )
        assert report.ok, report.errors
        exam_service.define_exam(
            session, SMALL_SPEC.format(duration=30), "mini.yaml", actor="test", now=now
        )
        exam_service.publish_exam(session, EXAM_CODE, actor="test", now=now)
        sittings = []
        for name, roster, proctor in (
            ("Sesi Utama", main_roster, "proctor"),
            ("Sesi Lain", OTHER_ROSTER, "proctor_other"),
        ):
            sitting = exam_service.create_sitting(
                session, exam_code=EXAM_CODE, name=name, starts_at=now, actor="test", now=now
            )
            rows = [(nomor, person, "umum", "F1") for nomor, person in roster.values()]
            pins = {
                p.nomor_peserta: p.pin
                for p in exam_service.import_roster(
                    session,
                    sitting.id,
                    roster_csv(rows),
                    "roster.csv",
                    secret=secret,
                    actor="test",
                    now=now,
                )
            }
            proctoring.open_sitting(session, sitting.id, now=now, actor="test")
            exam_service.assign_proctor(
                session, sitting.id, staff[proctor].username, actor="test", now=now
            )
            for key, (nomor, person) in roster.items():
                candidates[key] = Candidate(key, nomor, person, sitting.id, pins[nomor])
            sittings.append(sitting.id)
        media = sorted(session.scalars(select(MediaBlob.sha256)))
    for account in staff.values():
        account.headers = staff_login(client, account.username, account.password)
    world = World(
        client=client,
        sitting_id=sittings[0],
        other_sitting_id=sittings[1],
        staff=staff,
        candidates=candidates,
        media=media,
    )
    # c finishes before anyone else starts, so the ranking can be published (publication
    # waits for running attempts); then everyone else starts and stays in progress.
    world.start("c")
    world.answer_all("c")
    world.slip_code = world.finish("c")["result"]["slip_code"]
    published = client.post(
        f"/api/v1/exams/{EXAM_CODE}/rankings", headers=staff["committee"].headers
    )
    assert published.status_code == 200, published.text
    for key in candidates:
        if key not in ("c", "d", "j"):
            world.start(key)
    return world


@dataclass
class StreamStart:
    """The start of a streamed response: its status, headers and first chunk of body."""

    status_code: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The first chunk as text."""
        return self.body.decode("utf-8", "replace")


def stream_start(
    client: TestClient, path: str, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> StreamStart:
    """GET ``path`` through the app and hang up after the first chunk of the body.

    The test client waits for a response to end, and a server-sent event stream never ends; this
    speaks ASGI directly, on the client's event loop (where the app's lifespan runs), and
    disconnects as soon as the first chunk arrives.
    """
    import anyio

    app = client.app
    assert client.portal is not None, "use the client inside its context manager"

    async def run() -> StreamStart:
        messages: list[dict[str, Any]] = []
        first_chunk = anyio.Event()
        requested = False

        async def receive() -> dict[str, Any]:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            if not first_chunk.is_set():
                await first_chunk.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            messages.append(message)
            if message["type"] == "http.response.body" and (
                message.get("body") or not message.get("more_body", False)
            ):
                first_chunk.set()

        raw_path, _, query = path.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": raw_path,
            "raw_path": raw_path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(b"host", b"testserver")]
            + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
            "client": ("testclient", 50000),
            "server": ("testserver", 80),
            "state": {},
        }
        with anyio.fail_after(timeout):
            await app(scope, receive, send)  # type: ignore[arg-type]
        start = next(m for m in messages if m["type"] == "http.response.start")
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        return StreamStart(
            status_code=start["status"],
            headers={k.decode().lower(): v.decode() for k, v in start.get("headers", [])},
            body=body,
        )

    return client.portal.call(run)
