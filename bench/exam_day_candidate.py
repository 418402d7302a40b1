"""Simulated candidates of the exam-day rehearsal: one asyncio task per candidate, run in a
client process with a shard of the roster.

A candidate behaves like the real candidate screen (``app/web/static/js/save-queue.js``):
saves go out one at a time with a growing ``seq``; a save is *acknowledged* only when its 200
arrives; a save whose request got no response (the server died with it in flight) has an
unknown outcome and is sent again, same ``seq``, until a response comes; a 409
``AttemptPaused`` holds the queue and the screen polls the state every 3 s until the proctor
resumes; ``DeadlinePassed`` or ``AttemptNotActive`` ends the exam and the screen polls every
1.5 s until the result is there. Every request is logged (endpoint, server, start, end,
status, error name) for the report and for classifying errors against the kill window.
"""

from __future__ import annotations

import asyncio
import random
import re
import resource
import ssl
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.exam_day_setup import CandidatePlan

LETTERS = "ABCDEF"
PAUSED_POLL_S = 3.0  # candidate.js PAUSED_POLL_MS
ENDING_POLL_S = 1.5  # candidate.js ENDING_POLL_MS
BACKOFF_S = (0.25, 0.5, 1.0, 2.0, 4.0)  # save-queue.js backs off 1-15 s; time is compressed
GIVE_UP_S = 120.0
HOLD_LIMIT_S = 600.0  # a pause the rehearsal's proctor never ended
MOVE_POLL_S = 1.0  # candidate.js MOVE_POLL_MS, compressed like the rest
MOVE_WAIT_LIMIT_S = 300.0  # a move the rehearsal's proctor never answered
STEM = re.compile(r"Soal (\w+) nomor (\d+)")
OPTION = re.compile(r"Pilihan ([A-F]) untuk")

#: A request log row: endpoint, server index, wall start, wall end, status (0: no response),
#: error name ("" for success; the envelope's ``error``, or the transport exception's class),
#: candidate index (-1: staff).
Record = tuple[str, int, float, float, int, str, int]


@dataclass(frozen=True)
class Behaviour:
    """How often candidates do what (per action), and the pace."""

    think_mean: float
    change: float = 0.12
    clear: float = 0.03
    flag: float = 0.05
    flag_on_answer: float = 0.08
    reload: float = 0.012
    drop: float = 0.012


@dataclass
class Shard:
    """What one client process runs."""

    servers: list[str]
    t0: float
    plans: list[CandidatePlan]
    bank: dict[str, dict[str, Any]]
    behaviour: Behaviour
    timeout: float = 60.0


@dataclass
class Outcome:
    """What one candidate saw, for the checks after the run."""

    index: int
    nomor: str
    attempt_id: int | None = None
    #: position -> (seq, letter or None, flagged) of the newest acknowledged save.
    acked: dict[int, tuple[int, str | None, bool]] = field(default_factory=dict)
    #: position -> saves whose outcome stayed unknown (no response ever; may or may not be stored).
    unknown: dict[int, list[tuple[int, str | None, bool]]] = field(default_factory=dict)
    sent_finish: bool = False
    final_status: str | None = None
    result_total: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    anomalies: list[str] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] = self.counts.get(what, 0) + n


@dataclass
class ShardResult:
    """A client process's outcomes, request log and peak memory."""

    outcomes: list[Outcome]
    records: list[Record]
    peak_rss_kib: int


class Ended(Exception):
    """The attempt is over (deadline, finished, or gave up)."""


class Reply:
    """A response, or none at all after the retries gave up."""

    def __init__(self, status: int, body: Any, uncertain: bool) -> None:
        self.status = status
        self.body = body
        self.uncertain = uncertain  # some try got no response after the request may have left

    @property
    def error(self) -> str:
        if isinstance(self.body, dict):
            return str(self.body.get("error", ""))
        return ""


_SSL = ssl.create_default_context()


#: Idle connections are dropped after this long, well before the server closes them
#: (uvicorn: 5 s). Reusing one at the moment the server closes it fails with no response; a
#: browser resends such a request by itself, this client cannot tell a reused connection
#: apart, so it avoids the race instead (docs/rehearsal.md, "Keep-alive").
KEEPALIVE_EXPIRY_S = 2.0


def _new_http(timeout: float) -> httpx.AsyncClient:
    # Each candidate is a PC with its own connections; the TLS context is shared only because
    # building one per client costs milliseconds of CPU that a real PC would not share with
    # 500 others (no TLS is used here).
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout, connect=10.0),
        limits=httpx.Limits(
            max_connections=4, max_keepalive_connections=2, keepalive_expiry=KEEPALIVE_EXPIRY_S
        ),
        verify=_SSL,
        trust_env=False,
    )


class Candidate:
    """One simulated candidate at one PC (or several, if their PC dies)."""

    def __init__(self, shard: Shard, plan: CandidatePlan, records: list[Record]) -> None:
        self.shard = shard
        self.plan = plan
        self.records = records
        self.rng = random.Random(plan.seed)
        self.out = Outcome(plan.index, plan.nomor)
        self.http = _new_http(shard.timeout)
        self.rr = plan.index % len(shard.servers)
        self.token: str | None = None
        self.seq = 0
        self.items: list[dict[str, Any]] = []
        #: position -> (letter, flagged) as this screen shows it (acknowledged or not).
        self.screen: dict[int, tuple[str | None, bool]] = {}
        self.deadline = 0.0  # monotonic moment the server's remaining time runs out
        self.duration = 0
        self.paused = False
        self.moved = False

    # -- transport ---------------------------------------------------------------------------
    async def call(
        self, endpoint: str, method: str, path: str, body: Any = None, *, auth: bool = True
    ) -> Reply:
        """Send until a response comes: connection failures and 5xx are retried (after a
        failure on one of two servers, at once on the other), exactly like the client's queue."""
        failures = 0
        uncertain = False
        first = time.monotonic()
        while True:
            server = self.rr
            self.rr = (self.rr + 1) % len(self.shard.servers)
            headers = {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}
            start = time.time()
            try:
                response = await self.http.request(
                    method, self.shard.servers[server] + path, json=body, headers=headers
                )
            except httpx.TransportError as exc:
                self.log(endpoint, server, start, 0, type(exc).__name__)
                if not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout):
                    uncertain = True
                failures += 1
                if time.monotonic() - first > GIVE_UP_S:
                    return Reply(0, None, uncertain)
                if failures > 1 or len(self.shard.servers) == 1:
                    await asyncio.sleep(BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)])
                continue
            try:
                payload = response.json()
            except ValueError:
                payload = None
            name = ""
            if response.status_code >= 400:
                name = str(payload.get("error", "?")) if isinstance(payload, dict) else "?"
            self.log(endpoint, server, start, response.status_code, name)
            if response.status_code >= 500 or response.status_code == 429:
                # A 503 from the answer path means its batch rolled back; any other 5xx may
                # have come after a commit.
                uncertain = uncertain or response.status_code not in (429, 503)
                failures += 1
                if time.monotonic() - first > GIVE_UP_S:
                    return Reply(response.status_code, payload, uncertain)
                await asyncio.sleep(BACKOFF_S[min(failures - 1, len(BACKOFF_S) - 1)])
                continue
            return Reply(response.status_code, payload, uncertain)

    def log(self, endpoint: str, server: int, start: float, status: int, name: str) -> None:
        self.records.append((endpoint, server, start, time.time(), status, name, self.plan.index))

    async def drop_connection(self) -> None:
        """The PC's network drops: every open connection goes, new ones are made."""
        await self.http.aclose()
        self.http = _new_http(self.shard.timeout)
        self.out.count("drops")

    # -- the exam ----------------------------------------------------------------------------
    async def run(self) -> Outcome:
        try:
            await self._run()
        except Ended:
            pass
        except Exception as exc:  # a bug in the rehearsal itself must not hide the others
            trace = traceback.format_exc(limit=-4).replace("\n", " | ")
            self.out.anomalies.append(f"client crashed: {type(exc).__name__}: {exc}: {trace}")
        finally:
            await self.http.aclose()
        return self.out

    async def _run(self) -> None:
        plan = self.plan
        await asyncio.sleep(max(0.0, self.shard.t0 + plan.arrive - time.time()))
        await self.login()
        started = await self.call("start", "POST", "/api/v1/attempts/current/start")
        if started.status != 200:
            self.out.anomalies.append(f"start answered {started.status} {started.body}")
            raise Ended
        self.take_state(started.body, first=True)
        move_at = self.shard.t0 + plan.move_at if plan.move_at is not None else None
        while True:
            left = self.deadline - time.monotonic()
            if left <= 0:
                break
            if plan.finish_fraction is not None and left <= (1 - plan.finish_fraction) * (
                self.duration
            ):
                await self.finish()
                return
            await asyncio.sleep(min(left, self.think()))
            if time.monotonic() >= self.deadline:
                break
            if move_at is not None and time.time() >= move_at:
                move_at = None
                await self.move()
            roll = self.rng.random()
            if roll < self.shard.behaviour.reload:
                await self.reload()
            elif roll < self.shard.behaviour.reload + self.shard.behaviour.drop:
                await self.drop_connection()
            if not await self.act():
                break
        await self.wait_for_result()

    def think(self) -> float:
        mean = self.shard.behaviour.think_mean * self.plan.pace
        return self.rng.lognormvariate(0, 0.5) * mean / 1.1331  # E[lognormal(0, .5)] = 1.1331

    async def login(self) -> None:
        reply = await self.call(
            "login",
            "POST",
            "/api/v1/candidate/login",
            {"nomor_peserta": self.plan.nomor, "pin": self.plan.pin},
            auth=False,
        )
        if (
            reply.status == 409
            and isinstance(reply.body, dict)
            and reply.body.get("error") == "DeviceMovePending"
        ):
            reply = await self.wait_for_approval(str(reply.body["move_token"]))
        if reply.status != 200:
            self.out.anomalies.append(f"login answered {reply.status} {reply.body}")
            raise Ended
        self.token = reply.body["access_token"]
        self.out.attempt_id = int(reply.body["attempt_id"])

    async def wait_for_approval(self, move_token: str) -> Reply:
        """The attempt runs on the dead PC: this one waits on "menunggu persetujuan pengawas",
        polling like the screen does, until the proctor approves (its token) or refuses."""
        self.out.count("moves_waited")
        limit = time.monotonic() + MOVE_WAIT_LIMIT_S
        while time.monotonic() < limit:
            await asyncio.sleep(MOVE_POLL_S)
            reply = await self.call(
                "move_status",
                "POST",
                "/api/v1/candidate/move-status",
                {"move_token": move_token},
                auth=False,
            )
            if reply.status != 200:
                return reply
            state = reply.body["state"]
            if state == "approved":
                self.out.count("moves_approved")
                return Reply(200, reply.body, reply.uncertain)
            if state != "pending":
                return Reply(409, reply.body, reply.uncertain)
        return Reply(0, f"no answer to the move after {MOVE_WAIT_LIMIT_S:.0f} s", False)

    async def move(self) -> None:
        """The PC dies; the candidate logs in on another one with the same PIN."""
        await self.drop_connection()
        await self.login()
        self.screen.clear()  # a fresh PC knows only what the server says
        self.out.count("moves")
        await self.reload(count=False)

    async def reload(self, *, count: bool = True) -> None:
        """The page reloads: the screen is rebuilt from the server's state."""
        reply = await self.call("state", "GET", "/api/v1/attempts/current")
        if reply.status != 200:
            self.out.anomalies.append(f"state answered {reply.status} {reply.body}")
            raise Ended
        if count:
            self.out.count("reloads")
        self.take_state(reply.body)

    def take_state(self, state: dict[str, Any], *, first: bool = False) -> None:
        if state["status"] != "in_progress":
            self.out.final_status = state["status"]
            self.note_result(state)
            raise Ended
        if first:
            self.items = [self.describe(item) for item in state["items"]]
            self.duration = int(state["duration_seconds"])
        self.seq = max(self.seq, int(state["last_seq"]))
        self.paused = bool(state["paused"])
        self.deadline = time.monotonic() + int(state["remaining_seconds"])
        shown = {
            item["position"]: (item["option"], bool(item["flagged"])) for item in state["items"]
        }
        # Read-your-acknowledged-writes: what the server shows must be what it acknowledged.
        for position, (seq, letter, flagged) in self.out.acked.items():
            if position in self.out.unknown:
                continue  # a later save's outcome is unknown: either may be showing
            got = shown.get(position, (None, False))
            if got != (letter, flagged):
                self.out.anomalies.append(
                    f"state shows {got} at position {position}, acknowledged {(letter, flagged)} "
                    f"(seq {seq})"
                )
        self.screen = {p: v for p, v in shown.items() if v != (None, False)}

    def describe(self, item: dict[str, Any]) -> dict[str, Any]:
        """Which bank item this is and which shown letter is which original option."""
        match = STEM.search(item["stem"])
        assert match, item["stem"]
        code = f"B-{match.group(1)}-{int(match.group(2)):05d}"
        originals = []
        for option in item["options"]:
            found = OPTION.search(option["text"])
            assert found, option["text"]
            originals.append(found.group(1))
        return {"code": code, "section": item["section"], "originals": originals}

    # -- answering ---------------------------------------------------------------------------
    def choose(self, position: int, avoid: str | None = None) -> str:
        """The option this candidate picks: right (or the most points) with a probability that
        grows with ability and with the item's easiness."""
        item = self.items[position - 1]
        bank = self.shard.bank[item["code"]]
        originals: list[str] = item["originals"]
        if bank["scoring"] == "single":
            chance = min(0.97, max(0.05, self.plan.ability + float(bank["p_value"]) - 0.55))
            best = originals.index(str(bank["key"]))
        else:
            chance = self.plan.ability
            points = {o["label"]: o["points"] for o in bank["options"]}
            best = max(range(len(originals)), key=lambda k: points[originals[k]])
        pick = best if self.rng.random() < chance else self.rng.randrange(len(originals))
        if avoid is not None and LETTERS[pick] == avoid:
            pick = (pick + 1 + self.rng.randrange(len(originals) - 1)) % len(originals)
        return LETTERS[pick]

    def next_unanswered(self) -> int | None:
        """Front to back in the candidate's section order, or (those who jump around the grid)
        any item not answered yet."""
        blank = [p for p in range(1, len(self.items) + 1) if self.screen.get(p, (None,))[0] is None]
        if not blank:
            return None
        if self.plan.jumps:
            return self.rng.choice(blank)
        rank = {section: k for k, section in enumerate(self.plan.section_order)}
        return min(blank, key=lambda p: (rank[self.items[p - 1]["section"]], p))

    async def act(self) -> bool:
        """One action on the screen; False when the exam is over for this candidate."""
        b = self.shard.behaviour
        answered = [p for p, (letter, _f) in self.screen.items() if letter is not None]
        roll = self.rng.random()
        target = self.next_unanswered()
        if answered and (roll < b.change or target is None):
            position = self.rng.choice(answered)
            old, flagged = self.screen[position]
            letter, flagged = self.choose(position, avoid=old), self.rng.random() < 0.3
            self.out.count("changes")
        elif answered and roll < b.change + b.clear:
            position, letter, flagged = self.rng.choice(answered), None, False
            self.out.count("clears")
        elif answered and roll < b.change + b.clear + b.flag:
            position = self.rng.choice(answered)
            letter, flagged = self.screen[position][0], not self.screen[position][1]
            self.out.count("flag_toggles")
        else:
            assert target is not None
            position = target
            letter, flagged = self.choose(position), self.rng.random() < b.flag_on_answer
            self.out.count("answers")
        return await self.save(position, letter, flagged)

    async def save(self, position: int, letter: str | None, flagged: bool) -> bool:
        self.seq += 1
        seq = self.seq
        self.screen[position] = (letter, flagged)
        body = {"option": letter, "flagged": flagged, "seq": seq}
        path = f"/api/v1/attempts/current/responses/{position}"
        entry = (seq, letter, flagged)
        while True:
            reply = await self.call("save", "PUT", path, body)
            if reply.uncertain:
                pending = self.out.unknown.setdefault(position, [])
                if entry not in pending:
                    pending.append(entry)
            if reply.status == 200:
                ack = reply.body
                if ack["seq"] == seq:
                    self.out.acked[position] = entry
                    self.forget_unknown(position, seq)
                    if not ack["applied"]:
                        self.out.count("acked_not_applied")  # a retry of a stored save
                else:
                    self.out.anomalies.append(
                        f"save seq {seq} at {position} acknowledged with seq {ack['seq']} "
                        f"(applied={ack['applied']})"
                    )
                self.out.count("saves_acked")
                self.deadline = time.monotonic() + int(ack["remaining_seconds"])
                return True
            if reply.status == 409 and reply.error == "AttemptPaused":
                self.out.count("paused_409")
                await self.hold()
                continue
            if reply.status == 409 and reply.error in ("DeadlinePassed", "AttemptNotActive"):
                self.out.count("refused_after_deadline")
                return False
            if reply.status == 0:
                self.out.anomalies.append(f"save seq {seq} got no response for {GIVE_UP_S:.0f} s")
                return False
            self.out.anomalies.append(f"save seq {seq} answered {reply.status} {reply.body}")
            return False

    def forget_unknown(self, position: int, acked_seq: int) -> None:
        """An acknowledgement settles every earlier unknown save of the position."""
        pending = [e for e in self.out.unknown.get(position, []) if e[0] > acked_seq]
        if pending:
            self.out.unknown[position] = pending
        else:
            self.out.unknown.pop(position, None)

    async def hold(self) -> None:
        """Paused by the proctor: poll the state like the screen does, until resumed."""
        self.paused = True
        limit = time.monotonic() + HOLD_LIMIT_S
        while self.paused:
            if time.monotonic() > limit:
                self.out.anomalies.append(f"still paused after {HOLD_LIMIT_S:.0f} s")
                raise Ended
            await asyncio.sleep(PAUSED_POLL_S)
            await self.reload(count=False)
            self.out.count("paused_polls")

    async def finish(self) -> None:
        """Selesai Ujian, then Ya."""
        self.out.sent_finish = True
        reply = await self.call(
            "finish", "POST", "/api/v1/attempts/current/finish", {"confirm": True}
        )
        if reply.status != 200:
            self.out.anomalies.append(f"finish answered {reply.status} {reply.body}")
            return
        self.out.final_status = reply.body["status"]
        self.note_result(reply.body)
        if reply.body["status"] != "finished":
            self.out.anomalies.append(f"finish left the attempt {reply.body['status']}")

    async def wait_for_result(self) -> None:
        """Time is up: poll like the ending screen until the server has finished the attempt."""
        limit = time.monotonic() + GIVE_UP_S
        while time.monotonic() < limit:
            reply = await self.call("state", "GET", "/api/v1/attempts/current")
            if reply.status != 200:
                self.out.anomalies.append(f"state answered {reply.status} {reply.body}")
                return
            if reply.body["status"] != "in_progress":
                self.out.final_status = reply.body["status"]
                self.note_result(reply.body)
                return
            if reply.body["paused"]:
                await self.hold()
                continue
            await asyncio.sleep(ENDING_POLL_S)
        self.out.anomalies.append(f"still in progress {GIVE_UP_S:.0f} s after time ran out")

    def note_result(self, state: dict[str, Any]) -> None:
        result = state.get("result")
        if state["status"] == "finished":
            if result is None:
                self.out.anomalies.append("finished without a result on screen")
            else:
                self.out.result_total = float(result["total"])


async def _run_shard(shard: Shard) -> ShardResult:
    records: list[Record] = []
    candidates = [Candidate(shard, plan, records) for plan in shard.plans if not plan.absent]
    outcomes = await asyncio.gather(*(c.run() for c in candidates))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return ShardResult(list(outcomes), records, peak)


def run_shard(shard: Shard) -> ShardResult:
    """Entry point of a client process."""
    try:
        import uvloop

        return uvloop.run(_run_shard(shard))
    except ImportError:
        return asyncio.run(_run_shard(shard))
