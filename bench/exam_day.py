"""Exam-day rehearsal: a whole sitting day against real ``ujian serve`` processes, then proof.

Run:  .venv/bin/python -m bench.exam_day --backend sqlite      # 1 server process
      .venv/bin/python -m bench.exam_day --backend postgresql  # 2 server processes
      [--candidates 2000] [--duration 5] [--window 10] [--think auto] [--clients auto]

N candidates (default 2,000) log in and start within the same seconds, answer at a
time-compressed human pace, change answers, clear them, flag ragu-ragu, reload the page, drop
their connection, a few move to another PC; a proctor pauses one sitting and resumes it; one
server process is killed with SIGKILL mid-run and restarted on the same port (with two
processes the candidates' round robin fails over to the other meanwhile); those who do not
press Selesai run out of time and the server finishes them. Then the rehearsal checks,
reading the database directly, that every acknowledged answer is stored, every attempt is
finished and scored, and the published ranking equals a recount from the raw answer history
(see ``bench/exam_day_verify.py`` and docs/rehearsal.md). Any failed check, and any error
outside the kill window, exits non-zero. Figures go to bench/README.md ("Exam-day rehearsal")
and the full report to bench/out/exam_day-<backend>.json.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import httpx

from bench.bank_import import database, drop
from bench.exam_day_candidate import Behaviour, Outcome, Record, Shard, ShardResult, run_shard
from bench.exam_day_setup import Prepared, prepare
from bench.exam_day_verify import Verdict, verify
from bench.readme import write_section
from tests.support.server import ServerProcess, start_server

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
SECTION = "Exam-day rehearsal"
#: Errors a candidate may legitimately meet; each is counted on its own, never as an error.
PAUSED = "AttemptPaused"
AFTER_DEADLINE = ("DeadlinePassed", "AttemptNotActive")
MOVE_PENDING = "DeviceMovePending"


@dataclass
class Config:
    """One rehearsal."""

    backend: str = "sqlite"
    candidates: int = 2000
    duration: int = 5  # minutes of exam time (the real SKD: 100)
    window: float = 10.0  # seconds over which candidates arrive
    think: float | None = None  # mean seconds between a candidate's actions; None: from save_rate
    save_rate: float = 300.0  # aggregate actions per second the pace aims at
    sittings: int | None = None
    servers: int | None = None  # 1 on SQLite, 2 on PostgreSQL
    clients: int | None = None  # client processes
    pause_at: float = 0.3  # share of the exam time after T0
    pause_for: float = 5.0
    kill_at: float = 0.6
    outage: float = 0.0  # seconds the killed process stays down
    replays: int = 40
    seed: int = 20240601
    url: str | None = None  # an existing database (migrated if needed); else a fresh one
    workdir: Path | None = None
    extra_minutes: int = 1
    move_share: float = 0.02  # candidates whose PC dies: the proctor approves their move

    def resolved(self) -> Config:
        out = Config(**asdict(self))
        if out.servers is None:
            out.servers = 1 if out.backend == "sqlite" else 2
        if out.sittings is None:
            out.sittings = max(2, math.ceil(out.candidates / 500))
        if out.think is None:
            out.think = max(0.5, out.candidates / out.save_rate)
        if out.clients is None:
            out.clients = max(1, min(os.cpu_count() or 1, math.ceil(out.candidates / 700)))
        return out


@dataclass
class Timeline:
    """What the proctor and the operator did, in wall-clock seconds."""

    t0: float = 0.0
    pause: tuple[float, float, float, float] | None = None  # sent, done, resume sent, done
    kills: list[tuple[int, float, float]] = field(default_factory=list)  # server, kill, healthy
    problems: list[str] = field(default_factory=list)
    staff: list[Record] = field(default_factory=list)  # the proctor's requests
    approvals: int = 0  # device moves the proctor approved


def vm_hwm_kib(pid: int) -> int:
    """A process's peak resident set (VmHWM), 0 if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Fleet:
    """The server processes, by slot; a killed slot restarts on its own port."""

    def __init__(self, env: dict[str, str], count: int, log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.servers: list[ServerProcess] = [start_server(env, log_dir) for _ in range(count)]
        self.peaks: dict[str, int] = {}

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def note_peak(self, slot: int) -> None:
        name = f"server {slot + 1}"
        peak = vm_hwm_kib(self.servers[slot].process.pid)
        self.peaks[name] = max(self.peaks.get(name, 0), peak)

    def kill_and_restart(self, slot: int, outage: float) -> tuple[float, float]:
        self.note_peak(slot)
        killed = time.time()
        self.servers[slot].kill()
        time.sleep(outage)
        self.servers[slot] = start_server(self.env, self.log_dir, port=self.servers[slot].port)
        return killed, time.time()

    def stop(self) -> None:
        for slot, server in enumerate(self.servers):
            if server.process.poll() is None:
                self.note_peak(slot)
                server.process.terminate()
                try:
                    server.process.wait(timeout=15)
                except Exception:
                    server.kill()


def staff_token(base: str, username: str, password: str) -> str:
    reply = httpx.post(
        f"{base}/api/v1/auth/token", json={"username": username, "password": password}, timeout=30
    )
    reply.raise_for_status()
    return str(reply.json()["access_token"])


def operate(
    config: Config, prepared: Prepared, fleet: Fleet, timeline: Timeline, done: threading.Event
) -> None:
    """The proctor's pause and resume, then the operator's SIGKILL and restart, on schedule."""
    duration = config.duration * 60
    proctor = staff_token(fleet.urls[0], *prepared.proctor)
    headers = {"Authorization": f"Bearer {proctor}"}
    sitting = prepared.paused_sitting

    def wait_until(moment: float) -> bool:
        return not done.wait(max(0.0, moment - time.time()))

    def proctor_call(action: str) -> tuple[float, float]:
        sent = time.time()
        try:
            reply = httpx.post(
                f"{fleet.urls[0]}/api/v1/sittings/{sitting}/{action}",
                json={"reason": f"gladi: listrik padam ({action})"},
                headers=headers,
                timeout=300,
            )
        except httpx.HTTPError as exc:
            timeline.problems.append(
                f"proctor {action}: {type(exc).__name__} after {time.time() - sent:.0f} s"
            )
            timeline.staff.append((action, 0, sent, time.time(), 0, type(exc).__name__, -1))
            return sent, time.time()
        timeline.staff.append((action, 0, sent, time.time(), reply.status_code, "", -1))
        if reply.status_code != 200:
            timeline.problems.append(f"proctor {action}: {reply.status_code} {reply.text[:200]}")
        return sent, time.time()

    if wait_until(timeline.t0 + config.pause_at * duration):
        pause_sent, pause_done = proctor_call("pause")
        if wait_until(pause_done + config.pause_for):
            resume_sent, resume_done = proctor_call("resume")
            timeline.pause = (pause_sent, pause_done, resume_sent, resume_done)
    victim = len(fleet.servers) - 1  # with two, the proctor's server stays up
    if wait_until(timeline.t0 + config.kill_at * duration):
        killed, healthy = fleet.kill_and_restart(victim, config.outage)
        timeline.kills.append((victim, killed, healthy))


def approve_moves(
    prepared: Prepared, fleet: Fleet, timeline: Timeline, done: threading.Event
) -> None:
    """The proctor at the console: every second, approve each pending device move of every
    sitting (a candidate whose PC died waits on the new PC until then). A refused connection
    (the server killed) is tried again at the next look, like the console's poll."""
    proctor = staff_token(fleet.urls[0], *prepared.proctor)
    headers = {"Authorization": f"Bearer {proctor}"}
    while not done.wait(1.0):
        for sitting in prepared.sitting_ids:
            base = fleet.urls[0]
            try:
                listed = httpx.get(
                    f"{base}/api/v1/sittings/{sitting}/move-requests", headers=headers, timeout=30
                )
            except httpx.HTTPError:
                continue
            if listed.status_code != 200:
                if listed.status_code < 500:
                    timeline.problems.append(f"proctor move list: {listed.status_code}")
                continue
            for request in listed.json():
                sent = time.time()
                path = f"/api/v1/attempts/{request['attempt_id']}/move-requests/{request['id']}"
                try:
                    reply = httpx.post(
                        f"{base}{path}/approve",
                        json={"reason": f"gladi: PC rusak, pindah ke {request['new_client']}"},
                        headers=headers,
                        timeout=60,
                    )
                except httpx.HTTPError as exc:
                    timeline.staff.append(
                        ("approve_move", 0, sent, time.time(), 0, type(exc).__name__, -1)
                    )
                    continue
                timeline.staff.append(
                    ("approve_move", 0, sent, time.time(), reply.status_code, "", -1)
                )
                if reply.status_code == 200:
                    timeline.approvals += 1
                elif reply.status_code != 409 and reply.status_code < 500:
                    # 409: answered already (a newer login superseded it); 5xx: tried again
                    timeline.problems.append(
                        f"proctor approve: {reply.status_code} {reply.text[:200]}"
                    )


def _warm(_: int) -> int:
    time.sleep(0.5)  # hold the worker so each warm-up lands in a different process
    return os.getpid()


def drive(
    config: Config, prepared: Prepared, fleet: Fleet, timeline: Timeline
) -> tuple[list[Outcome], list[Record], list[int]]:
    """Run the candidates in client processes while the operator thread does its part."""
    assert config.clients is not None and config.think is not None
    behaviour = Behaviour(think_mean=config.think)
    plans = prepared.candidates
    shards = [plans[k :: config.clients] for k in range(config.clients)]
    done = threading.Event()
    pool = get_context("spawn").Pool(config.clients)
    try:
        pool.map(_warm, range(config.clients), chunksize=1)
        timeline.t0 = time.time() + 1.0
        pending = pool.map_async(
            run_shard,
            [Shard(fleet.urls, timeline.t0, shard, prepared.bank, behaviour) for shard in shards],
            chunksize=1,
        )

        def operator_body() -> None:
            try:
                operate(config, prepared, fleet, timeline, done)
            except Exception as exc:
                timeline.problems.append(f"the operator failed: {type(exc).__name__}: {exc}")

        def approver_body() -> None:
            try:
                approve_moves(prepared, fleet, timeline, done)
            except Exception as exc:
                timeline.problems.append(f"the proctor failed: {type(exc).__name__}: {exc}")

        operator = threading.Thread(target=operator_body, daemon=True)
        operator.start()
        approver = threading.Thread(target=approver_body, daemon=True)
        approver.start()
        results: list[ShardResult] = pending.get()
        done.set()
        operator.join(timeout=600)
        approver.join(timeout=120)
        pool.close()
    finally:
        done.set()
        pool.terminate()
        pool.join()
    outcomes = [o for r in results for o in r.outcomes]
    records = [rec for r in results for rec in r.records] + timeline.staff
    return outcomes, records, [r.peak_rss_kib for r in results]


def publish(
    fleet: Fleet, prepared: Prepared, records: list[Record], verdict_notes: list[str]
) -> tuple[dict[str, Any] | None, str]:
    """Publish the ranking as the committee and read it back as the public."""
    committee = staff_token(fleet.urls[0], *prepared.committee)
    headers = {"Authorization": f"Bearer {committee}"}
    # Refused (409) while an attempt still runs: the sweeper may be finishing the last ones.
    give_up = time.time() + 90
    while True:
        start = time.time()
        reply = httpx.post(
            f"{fleet.urls[0]}/api/v1/exams/{prepared.exam.code}/rankings",
            headers=headers,
            timeout=120,
        )
        records.append(("publish", 0, start, time.time(), reply.status_code, "", -1))
        if reply.status_code != 409 or time.time() > give_up:
            break
        verdict_notes.append(f"RANKING: publishing refused while attempts ran: {reply.text[:200]}")
        time.sleep(1)
    if reply.status_code != 200:
        verdict_notes.append(f"RANKING: publishing answered {reply.status_code} {reply.text[:300]}")
        return None, committee
    start = time.time()
    public = httpx.get(f"{fleet.urls[-1]}/api/v1/public/rankings/{prepared.exam.code}", timeout=120)
    records.append(
        ("public_rankings", len(fleet.urls) - 1, start, time.time(), public.status_code, "", -1)
    )
    if public.status_code != 200:
        verdict_notes.append(f"RANKING: the public ranking answered {public.status_code}")
        return None, committee
    return public.json(), committee


def check_replays(
    fleet: Fleet,
    committee: str,
    outcomes: list[Outcome],
    count: int,
    records: list[Record],
    failures: list[str],
    seed: int,
) -> int:
    """The committee's replay of a sample: the same form, and each answer history ends with
    the acknowledged answer."""
    sample = [o for o in outcomes if o.attempt_id is not None]
    random.Random(seed).shuffle(sample)
    headers = {"Authorization": f"Bearer {committee}"}
    checked = 0
    for k, outcome in enumerate(sample[:count]):
        server = k % len(fleet.urls)
        start = time.time()
        reply = httpx.get(
            f"{fleet.urls[server]}/api/v1/attempts/{outcome.attempt_id}/replay",
            headers=headers,
            timeout=60,
        )
        records.append(("replay", server, start, time.time(), reply.status_code, "", -1))
        if reply.status_code != 200:
            failures.append(f"REPLAY: attempt {outcome.attempt_id}: {reply.status_code}")
            continue
        body = reply.json()
        checked += 1
        if not body["matches_served_form"]:
            failures.append(f"REPLAY: attempt {outcome.attempt_id}: redrawn form differs")
        for item in body["items"]:
            position = item["position"]
            if position in outcome.unknown or position not in outcome.acked:
                continue
            seq, letter, flagged = outcome.acked[position]
            last = item["history"][-1] if item["history"] else None
            if last is None or (last["seq"], last["option"], last["flagged"]) != (
                seq,
                letter,
                flagged,
            ):
                failures.append(
                    f"REPLAY: attempt {outcome.attempt_id} position {position}: history ends "
                    f"{last}, acknowledged {(seq, letter, flagged)}"
                )
    return checked


# -- figures -----------------------------------------------------------------------------------


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``pct`` % at or below it."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(pct / 100 * len(ordered)) - 1))]


def classify(records: list[Record], timeline: Timeline, paused: set[int]) -> dict[str, Any]:
    """Sort every non-2xx outcome: expected (a save of the paused sitting during the pause, a
    save after the deadline, a login on a new PC waiting for the proctor), inside the kill window, or an error. ``paused``: the candidates
    (indices) of the paused sitting."""

    def in_kill_window(server: int, start: float, end: float) -> bool:
        return any(
            s == server and start <= healthy and end >= killed
            for s, killed, healthy in timeline.kills
        )

    pause_end = timeline.pause[3] if timeline.pause else 0.0
    pause_start = timeline.pause[0] if timeline.pause else 0.0
    kinds: dict[str, Counter[str]] = defaultdict(Counter)
    for endpoint, server, start, end, status, name, who in records:
        if 200 <= status < 300:
            continue
        label = f"{endpoint} {status or ''} {name}".replace("  ", " ")
        if status == 409 and name == PAUSED:
            inside = who in paused and pause_start <= end and start <= pause_end + 0.5
            kinds["paused_409" if inside else "errors_outside"][label] += 1
        elif status == 409 and name in AFTER_DEADLINE and endpoint == "save":
            kinds["refused_after_deadline"][label] += 1
        elif status == 409 and name == MOVE_PENDING and endpoint == "login":
            kinds["move_waits"][label] += 1  # a new PC waits for the proctor: by design
        elif in_kill_window(server, start, end):
            kinds["kill_window"][label] += 1
        else:
            kinds["errors_outside"][label] += 1
    return {k: dict(v) for k, v in kinds.items()}


def endpoint_figures(records: list[Record]) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Requests, rate, and latency percentiles per endpoint (responses only)."""
    by_endpoint: dict[str, list[float]] = defaultdict(list)
    counts: Counter[str] = Counter()
    starts = [r[2] for r in records]
    ends = [r[3] for r in records]
    span = max(ends) - min(starts) if records else 1.0
    per_second: Counter[int] = Counter()
    for endpoint, _server, start, end, status, _name, _who in records:
        counts[endpoint] += 1
        per_second[int(start)] += 1
        if status:
            by_endpoint[endpoint].append((end - start) * 1000)
    figures = {}
    for endpoint in sorted(counts, key=lambda e: -counts[e]):
        values = by_endpoint.get(endpoint) or [math.nan]
        figures[endpoint] = {
            "requests": counts[endpoint],
            "per_s": counts[endpoint] / span,
            "p50": percentile(values, 50),
            "p95": percentile(values, 95),
            "p99": percentile(values, 99),
            "max": max(values),
        }
    overall = {
        "requests": float(len(records)),
        "span_s": span,
        "per_s": len(records) / span,
        "peak_1s": float(max(per_second.values(), default=0)),
    }
    return figures, overall


def phase_figures(
    records: list[Record], timeline: Timeline, duration_s: float
) -> list[dict[str, Any]]:
    """Save and state latencies by phase of the day (by request start): the start rush, the
    pause, the 10 s after the resume, the kill window, the 10 s after the restart, the
    deadline and everything else ("steady")."""
    t0 = timeline.t0
    rush_end = max((r[3] for r in records if r[0] == "start"), default=t0) - t0
    phases: list[tuple[str, float, float]] = [("start rush", 0.0, rush_end)]
    if timeline.pause:
        sent, _done, _resume_sent, resumed = (t - t0 for t in timeline.pause)
        phases += [("pause", sent, resumed), ("10 s after the resume", resumed, resumed + 10)]
    for _server, killed, healthy in timeline.kills:
        phases += [
            ("kill to restart", killed - t0, healthy - t0),
            ("10 s after the restart", healthy - t0, healthy - t0 + 10),
        ]
    phases.append(("deadline and after", duration_s, math.inf))
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    for endpoint, _server, start, end, status, _name, _who in records:
        if endpoint not in ("save", "state") or not status:
            continue
        moment = start - t0
        phase = next((name for name, lo, hi in phases if lo <= moment < hi), "steady")
        latencies[(phase, endpoint)].append((end - start) * 1000)
    rows = []
    for name in [n for n, _lo, _hi in phases] + ["steady"]:
        bounds = next(((lo, hi) for n, lo, hi in phases if n == name), (math.nan, math.nan))
        row: dict[str, Any] = {"phase": name, "from_s": bounds[0], "to_s": bounds[1]}
        for endpoint in ("save", "state"):
            values = latencies.get((name, endpoint), [])
            row[endpoint] = {
                "n": len(values),
                "p50": percentile(values, 50) if values else math.nan,
                "p95": percentile(values, 95) if values else math.nan,
                "max": max(values, default=math.nan),
            }
        rows.append(row)
    return rows


def summarize_outcomes(outcomes: list[Outcome]) -> dict[str, Any]:
    totals: Counter[str] = Counter()
    for o in outcomes:
        totals.update(o.counts)
    return {
        "candidates_active": len(outcomes),
        "finished_by_candidate": sum(1 for o in outcomes if o.sent_finish),
        "saves_with_unknown_outcome_left": sum(
            len(v) for o in outcomes for v in o.unknown.values()
        ),
        **dict(sorted(totals.items())),
    }


# -- one run -----------------------------------------------------------------------------------


def _database(config: Config, workdir: Path) -> tuple[str, str | None]:
    """The database to rehearse on, and the PostgreSQL database to drop afterwards."""
    if config.url:
        return config.url, None
    return database(config.backend, workdir)


def dump_records(records: list[Record], t0: float, path: Path) -> None:
    """Every request, times in seconds after T0 (for a closer look at a finding)."""
    with path.open("w") as out:
        out.write("endpoint,server,start,end,status,error,candidate\n")
        for endpoint, server, start, end, status, name, who in sorted(records, key=lambda r: r[2]):
            out.write(
                f"{endpoint},{server + 1},{start - t0:.4f},{end - t0:.4f},{status},{name},{who}\n"
            )


@dataclass
class Rehearsal:
    """A finished rehearsal: its report, and what the checks were run on."""

    report: dict[str, Any]
    prepared: Prepared
    outcomes: list[Outcome]
    published: dict[str, Any] | None
    timeline: Timeline


def run(config: Config, records_out: Path | None = None) -> dict[str, Any]:
    """One rehearsal end to end; the report (``report["failures"]`` empty when all held).
    ``records_out``: also write every request there (CSV)."""
    return rehearse(config, records_out).report


def rehearse(config: Config, records_out: Path | None = None) -> Rehearsal:
    """:func:`run`, keeping what the checks were run on (the database is dropped afterwards
    unless ``config.url`` named it)."""
    config = config.resolved()
    assert config.think is not None and config.servers is not None
    began = time.time()
    load_at_start = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ujian-rehearsal-") as tmp:
        workdir = config.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        url, created = _database(config, workdir)
        try:
            prepared = prepare(
                url,
                workdir / "var",
                candidates=config.candidates,
                sittings=config.sittings or 2,
                duration_minutes=config.duration,
                think_mean=config.think,
                window=config.window,
                seed=config.seed,
                extra_minutes=config.extra_minutes,
                move_share=config.move_share,
            )
            setup_s = time.time() - began
            env = {
                "UJIAN_DATABASE_URL": url,
                "UJIAN_SECRET_KEY": prepared.secret,
                "UJIAN_MODE": "production",
                "UJIAN_VAR_DIR": str(workdir / "var"),
                "UJIAN_LOG_LEVEL": "WARNING",
                "UJIAN_SQLITE_SYNCHRONOUS": "FULL",
            }
            timeline = Timeline()
            fleet = Fleet(env, config.servers, workdir)
            failures: list[str] = []
            try:
                outcomes, records, client_peaks = drive(config, prepared, fleet, timeline)
                exam_end = time.time()
                published, committee = publish(fleet, prepared, records, failures)
                replays = check_replays(
                    fleet, committee, outcomes, config.replays, records, failures, config.seed
                )
            finally:
                fleet.stop()
                logs = sorted(p.name for p in workdir.glob("server-*.log"))
            verdict: Verdict = verify(
                prepared, outcomes, published, timeline.pause, workdir / "var"
            )
            server_log = [
                f"{name}: {line.strip()[:240]}"
                for name in logs
                for line in (workdir / name).read_text(errors="replace").splitlines()
                if any(mark in line for mark in ("Traceback", " ERROR ", " WARNING ", " CRITICAL "))
            ]
        finally:
            drop(created)
    if records_out is not None:
        dump_records(records, timeline.t0, records_out)
    paused = {p.index for p in prepared.candidates if p.sitting == prepared.paused_sitting}
    classes = classify(records, timeline, paused)
    figures, overall = endpoint_figures(records)
    phases = phase_figures(records, timeline, config.duration * 60)
    failures += verdict.failures + timeline.problems
    for outcome in outcomes:
        failures += [f"{outcome.nomor}: {a}" for a in outcome.anomalies]
    outside = sum(classes.get("errors_outside", {}).values())
    if outside:
        failures.append(f"{outside} error(s) outside the kill window: {classes['errors_outside']}")
    if not timeline.kills:
        failures.append("the server was never killed (the exam ended before the kill moment?)")
    if timeline.pause is None:
        failures.append("the sitting was never paused")
    # Warnings (an autosave batch retried, say) are reported; errors and tracebacks fail.
    failures += [f"server log: {line}" for line in server_log if " WARNING " not in line]
    report = {
        "backend": config.backend,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
        "machine": {
            "cores": os.cpu_count(),
            "python": sys.version.split()[0],
            "load_average_at_start": load_at_start,
            "load_average_at_end": os.getloadavg(),
        },
        "exam": {
            "code": prepared.exam.code,
            "minima": prepared.exam.minima,
            "formations": prepared.exam.formations,
            "coverage": prepared.notes["coverage"],
            "sittings": len(prepared.sitting_ids),
        },
        "seconds": {
            "setup": setup_s,
            "exam": exam_end - timeline.t0,
            "total": time.time() - began,
        },
        "timeline": {
            "pause": [t - timeline.t0 for t in timeline.pause] if timeline.pause else None,
            "kills": [
                {"server": s + 1, "at": k - timeline.t0, "restarted_after": h - k}
                for s, k, h in timeline.kills
            ],
            "moves_approved": timeline.approvals,
        },
        "overall": overall,
        "endpoints": figures,
        "phases": phases,
        "outcomes": classes,
        "candidates": summarize_outcomes(outcomes),
        "checks": verdict.facts | {"replays_checked": replays},
        "peak_rss_mib": {k: v / 1024 for k, v in fleet.peaks.items()},
        "client_peak_rss_mib": [p / 1024 for p in client_peaks],
        "server_log": server_log[:40],
        "failures": failures,
    }
    return Rehearsal(report, prepared, outcomes, published, timeline)


# -- the README section -------------------------------------------------------------------------


def _ms(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:,.0f}"


def render(report: dict[str, Any]) -> str:
    """One backend's part of the README section."""
    c = report["config"]
    checks = report["checks"]
    classes = report["outcomes"]
    servers = c["servers"]
    m = report["machine"]
    lines = [
        f"### {report['backend']}, {servers} server process{'es' if servers > 1 else ''}",
        "",
        f"    {command(report)}",
        "",
        f"{c['candidates']:,} candidates in {report['exam']['sittings']} sittings; exam "
        f"{c['duration']} min ({c['duration'] * 60 / 6000:.1%} of SKD's 100 min); arrivals over "
        f"{c['window']:g} s; a candidate acts every {c['think']:.1f} s on average "
        f"(answers ≈ {report['exam']['coverage']:.0%} of the form); {c['clients']} client "
        f"process{'es' if c['clients'] > 1 else ''}. Pause of sitting 1 at "
        f"{report['timeline']['pause'][0]:.0f} s for {c['pause_for']:g} s; SIGKILL of server "
        + ", ".join(
            f"{k['server']} at {k['at']:.0f} s, back after {k['restarted_after']:.1f} s"
            for k in report["timeline"]["kills"]
        )
        + f". Run {report['seconds']['exam']:.0f} s from first arrival to last result "
        f"(setup {report['seconds']['setup']:.0f} s). {m['cores']} cores, Python {m['python']}; "
        f"load average {m['load_average_at_start'][0]:.1f} before the run, "
        f"{m['load_average_at_end'][0]:.1f} after it.",
        "",
        "| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for endpoint, f in report["endpoints"].items():
        lines.append(
            f"| {endpoint} | {f['requests']:,} | {f['per_s']:.1f} | {_ms(f['p50'])} | "
            f"{_ms(f['p95'])} | {_ms(f['p99'])} | {_ms(f['max'])} |"
        )
    o = report["overall"]
    lines.append(
        f"| **all** | {int(o['requests']):,} | {o['per_s']:.1f} (peak second {o['peak_1s']:.0f}) | | | | |"
    )

    if report.get("phases"):
        lines += [
            "",
            "| phase (seconds after the first arrival) | saves | save p50 / p95 / max ms "
            "| state reads | state p50 / p95 / max ms |",
            "|---|---:|---:|---:|---:|",
        ]
        for row in report["phases"]:
            span = ""
            if not math.isnan(row["from_s"]):
                end = "end" if math.isinf(row["to_s"]) else f"{row['to_s']:.0f}"
                span = f" ({row['from_s']:.0f}–{end})"
            cells = [
                f"{row[e]['n']:,} | {_ms(row[e]['p50'])} / {_ms(row[e]['p95'])} / {_ms(row[e]['max'])}"
                for e in ("save", "state")
            ]
            lines.append(f"| {row['phase']}{span} | {cells[0]} | {cells[1]} |")

    def total(kind: str) -> int:
        return sum(classes.get(kind, {}).values())

    cand = report["candidates"]
    peaks = ", ".join(f"{k} {v:.0f} MiB" for k, v in report["peak_rss_mib"].items())
    lines += [
        "",
        "| outcome | figure |",
        "|---|---|",
        f"| errors outside the kill window | **{total('errors_outside')}** |",
        f"| failed requests inside the kill window (then retried) | {total('kill_window')} "
        f"({_kinds(classes.get('kill_window', {}))}) |",
        f"| saves refused 409 AttemptPaused during the pause (then retried) | {total('paused_409')} |",
        f"| saves refused after the deadline (409) | {total('refused_after_deadline')} |",
        f"| saves acknowledged / answers, changes, clears, flag toggles | "
        f"{cand.get('saves_acked', 0):,} / {cand.get('answers', 0):,}, {cand.get('changes', 0):,}, "
        f"{cand.get('clears', 0):,}, {cand.get('flag_toggles', 0):,} |",
        f"| reloads, dropped connections, moves to another PC | {cand.get('reloads', 0)}, "
        f"{cand.get('drops', 0)}, {cand.get('moves', 0)} |",
        f"| acknowledged answers checked against the database | {checks['positions_checked']:,} positions: "
        f"lost {checks['lost']}, wrong {checks['wrong']}, phantom {checks['phantom']}; "
        f"{checks['committed_without_ack']} stored from a save in flight at the kill |",
        f"| attempts / finish reasons | {_kinds(checks['attempts'])} / {_kinds(checks['finish_reasons'])}; "
        f"{checks['absent']} absent (TH) |",
        f"| deadline to finished (sweeper), p50 / max | "
        f"{checks.get('deadline_to_finished_s', {}).get('p50', math.nan):.1f} / "
        f"{checks.get('deadline_to_finished_s', {}).get('max', math.nan):.1f} s |",
        f"| ranking rows compared with the recount | {checks.get('ranking_rows_compared', 0):,} "
        f"({_kinds(checks.get('ranking_statuses', {}))}); committee replays checked: "
        f"{checks['replays_checked']} |",
        f"| peak RSS (VmHWM) | {peaks}; client processes "
        f"{', '.join(f'{v:.0f}' for v in report['client_peak_rss_mib'])} MiB |",
        f"| verdict | **{'all checks held' if not report['failures'] else 'FAILED: ' + str(len(report['failures'])) + ' finding(s)'}** |",
    ]
    return "\n".join(lines)


def _kinds(counts: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items()) or "none"


def command(report: dict[str, Any]) -> str:
    c = report["config"]
    pace = (
        f"--save-rate {c['save_rate']:g}"
        if math.isclose(c["think"], max(0.5, c["candidates"] / c["save_rate"]))
        else f"--think {c['think']:g}"
    )
    return (
        f".venv/bin/python -m bench.exam_day --backend {report['backend']} --candidates "
        f"{c['candidates']} --duration {c['duration']} --window {c['window']:g} {pace}"
    )


def write_readme(intro: str) -> None:
    parts = [intro]
    for backend in ("sqlite", "postgresql"):
        path = OUT / f"exam_day-{backend}.json"
        if path.exists():
            report = json.loads(path.read_text())
            stamp = report.get("measured", "")
            parts.append(render(report) + (f"\n\n_{backend} measured {stamp}._" if stamp else ""))
    write_section(SECTION, "\n\n".join(parts))


INTRO = """\
A whole exam day against real `ujian serve` processes, then proof that nothing was lost
(docs/rehearsal.md explains every check and figure). Candidates log in and start within the
same seconds, answer at a time-compressed pace, change and clear answers, flag ragu-ragu,
reload, drop their connection, a few move to another PC; the proctor pauses one sitting and
resumes it; one server process is killed with SIGKILL mid-run and restarted; whoever does not
press Selesai runs out of time. The run fails unless every acknowledged answer is the stored
answer, every attempt is finished and scored, the published ranking equals a recount from the
raw answer history, and no request failed outside the kill window.

Latencies are as the candidates' clients saw them (responses only; a request refused by a dead
server has no latency), on the 2 cores the servers, the database and the client processes
share, so they include queueing behind the client's own work."""


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--candidates", type=int, default=2000)
    parser.add_argument("--duration", type=int, default=5, help="exam minutes (default 5)")
    parser.add_argument("--window", type=float, default=10.0, help="arrival window, seconds")
    parser.add_argument("--think", type=float, default=None, help="mean seconds between actions")
    parser.add_argument(
        "--save-rate", type=float, default=300.0, help="aimed actions/s (sets --think)"
    )
    parser.add_argument("--clients", type=int, default=None, help="client processes")
    parser.add_argument("--servers", type=int, default=None, help="server processes")
    parser.add_argument("--sittings", type=int, default=None)
    parser.add_argument("--pause-for", type=float, default=5.0)
    parser.add_argument(
        "--outage", type=float, default=0.0, help="seconds the killed server stays down"
    )
    parser.add_argument(
        "--move-share",
        type=float,
        default=0.02,
        help="share of candidates whose PC dies (each move waits for the proctor's approval)",
    )
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--no-readme", action="store_true", help="do not touch bench/README.md")
    args = parser.parse_args()
    # A SIGTERM (``timeout``, CI) unwinds like Ctrl-C, so the server processes are stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    OUT.mkdir(parents=True, exist_ok=True)
    failed = False
    for backend in backends:
        report = run(
            Config(
                backend=backend,
                candidates=args.candidates,
                duration=args.duration,
                window=args.window,
                think=args.think,
                save_rate=args.save_rate,
                clients=args.clients,
                servers=args.servers,
                sittings=args.sittings,
                pause_for=args.pause_for,
                outage=args.outage,
                seed=args.seed,
                move_share=args.move_share,
            ),
            records_out=OUT / f"exam_day-{backend}-requests.csv",
        )
        report["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        (OUT / f"exam_day-{backend}.json").write_text(json.dumps(report, indent=1, default=str))
        print(render(report), flush=True)
        if report["failures"]:
            failed = True
            print(f"\n{len(report['failures'])} FINDING(S):", file=sys.stderr)
            for line in report["failures"][:50]:
                print("  " + line, file=sys.stderr)
        if not args.no_readme and not report["failures"]:
            write_readme(INTRO)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
