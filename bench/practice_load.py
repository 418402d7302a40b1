"""A public practice crowd beside a live sitting: live save latency with and without it.

Run:  .venv/bin/python -m bench.practice_load [--live 150] [--practice 1000] [--seconds 20]
          [--backend sqlite|postgresql|both] [--starts-per-second 5]

One server (``ujian``'s app under uvicorn) holds a live SKD sitting whose ``--live``
candidates are already started and save an answer every half second on average (the answer
path: autosave through the group-commit writer). The run has two phases:

1. **live only**: the live candidates save for ``--seconds``;
2. **live + practice crowd**: the same live load while ``--practice`` anonymous practice
   candidates arrive over its first ``--seconds`` (the phase lasts until the last has
   finished), each starting the practice exam on ``/simulasi`` (the practice start, which
   begins the attempt inside the start gate, then the candidate screen's state), saving three
   answers and finishing. A 429 (a limit says when to retry) is retried after its
   ``retry_after``, as a person clicking again would.

The crowd comes from one address here, so the per-address limits are raised for the run (the
crowd stands for a thousand different addresses); the installation-wide maximum and the start
gate keep their defaults, and the start rate is ``--starts-per-second``. The table gives the
live saves' latency in each phase: the practice crowd must leave the live p99 where it was.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import io
import json
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.autosave import PG_ADMIN, free_port, start
from bench.setup_exam import bench_settings, prepare
from bench.synchronized_start import percentile

PRACTICE_CODE = "SIMULASI-BENCH"
PRACTICE_SECTIONS = (
    ("SIM-TWK", 10, "single"),
    ("SIM-TIU", 10, "single"),
    ("SIM-TKP", 10, "weighted"),
)
PRACTICE_SPEC = """
code: SIMULASI-BENCH
title: Simulasi Benchmark
duration_minutes: 30
practice: true
sections:
  - {code: SIM-TWK, name: Tes Wawasan Kebangsaan, item_count: 10, scoring: {kind: dichotomous, correct: 5}}
  - {code: SIM-TIU, name: Tes Intelegensia Umum, item_count: 10, scoring: {kind: dichotomous, correct: 5}}
  - {code: SIM-TKP, name: Tes Karakteristik Pribadi, item_count: 10, scoring: {kind: weighted, max_option_points: 5}}
categories:
  - code: umum
    minima: {SIM-TWK: 20, SIM-TIU: 20, SIM-TKP: 30}
"""


def practice_bank() -> bytes:
    """Three times each practice section's items, each with its explanation."""
    rng = random.Random(11)
    items = []
    for section, count, kind in PRACTICE_SECTIONS:
        for i in range(count * 3):
            options: list[dict[str, object]] = [
                {"label": label, "text": f"Pilihan {label} {section}-{i}"} for label in "ABCDE"
            ]
            item: dict[str, object] = {
                "code": f"{section}-{i:04d}",
                "section": section,
                "topic": "latihan",
                "stem": f"<p>Soal latihan {section} nomor {i}.</p>",
                "scoring": kind,
                "options": options,
                "explanation": f"<p>Pembahasan soal {section} nomor {i}.</p>",
            }
            if kind == "single":
                item["key"] = rng.choice("ABCDE")
            else:
                for option, points in zip(options, rng.sample([1, 2, 3, 4, 5], 5), strict=True):
                    option["points"] = points
            items.append(item)
    return json.dumps({"format": "ujian-bank/1", "items": items}).encode()


def publish_practice(url: str, secret: str, var_dir: Path) -> None:
    from app.clock import Clock
    from app.db import connect
    from app.repositories import bank as bank_repo
    from app.services import bank as bank_service
    from app.services import exams

    db = connect(bench_settings(url, secret, var_dir))
    now = Clock().now()
    with db.session() as session:
        for code, _count, _kind in PRACTICE_SECTIONS:
            bank_repo.add_section(session, code, f"Simulasi {code}")
        report = bank_service.import_files(
            session,
            [bank_service.UploadFile("practice.json", io.BytesIO(practice_bank()))],
            actor="bench",
            now=now,
        )
        assert report.ok, report.errors[:3]
        exams.define_exam(session, PRACTICE_SPEC, "simulasi.yaml", actor="bench", now=now)
        exams.publish_exam(session, PRACTICE_CODE, actor="bench", now=now)
    db.dispose()


@dataclass
class Measures:
    live: list[float] = field(default_factory=list)
    live_errors: list[str] = field(default_factory=list)
    practice_started: int = 0
    practice_finished: int = 0
    practice_retries: int = 0
    practice_errors: list[str] = field(default_factory=list)
    practice_start_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0


def client(base: str) -> httpx.AsyncClient:
    # One connection per simulated PC, as in a test centre or a home.
    return httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(120, connect=60),
        limits=httpx.Limits(max_connections=1),
        trust_env=False,
    )


async def live_candidate(
    base: str, token: str, done: asyncio.Event, seq0: int, rng: random.Random, measures: Measures
) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    seq = seq0
    async with client(base) as http:
        await asyncio.sleep(rng.uniform(0, 0.5))
        while not done.is_set():
            seq += 1
            position = rng.randint(1, 110)
            t0 = time.perf_counter()
            try:
                response = await http.put(
                    f"/api/v1/attempts/current/responses/{position}",
                    json={"option": rng.choice("ABCDE"), "flagged": False, "seq": seq},
                    headers=headers,
                )
            except httpx.HTTPError as error:
                measures.live_errors.append(type(error).__name__)
                continue
            measures.live.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                measures.live_errors.append(f"{response.status_code} {response.text[:80]}")
            await asyncio.sleep(rng.expovariate(2.0))  # 0.5 s on average
    return seq


async def retrying(
    http: httpx.AsyncClient, method: str, path: str, measures: Measures, **kw: Any
) -> httpx.Response:
    for _ in range(200):
        response = await http.request(method, path, **kw)
        if response.status_code != 429:
            return response
        measures.practice_retries += 1
        await asyncio.sleep(float(response.json().get("retry_after", 1)))
    return response


async def practice_candidate(
    base: str, delay: float, rng: random.Random, measures: Measures
) -> None:
    await asyncio.sleep(delay)
    try:
        await _practice(base, rng, measures)
    except httpx.HTTPError as error:  # a refused or timed-out connection counts, not crashes
        measures.practice_errors.append(type(error).__name__)


async def _practice(base: str, rng: random.Random, measures: Measures) -> None:
    async with client(base) as http:
        t0 = time.perf_counter()
        started = await retrying(
            http, "POST", f"/api/v1/practice/exams/{PRACTICE_CODE}/start", measures
        )
        if started.status_code != 200:
            measures.practice_errors.append(f"start {started.status_code} {started.text[:80]}")
            return
        headers = {"Authorization": f"Bearer {started.json()['access_token']}"}
        # The candidate page opens on the begun attempt: it reads the state.
        state = await http.get("/api/v1/attempts/current", headers=headers)
        measures.practice_start_ms.append((time.perf_counter() - t0) * 1000)
        if state.status_code != 200 or len(state.json()["items"]) != 30:
            measures.practice_errors.append(f"screen {state.status_code} {state.text[:80]}")
            return
        measures.practice_started += 1
        for seq in range(1, 4):
            await asyncio.sleep(rng.uniform(0.5, 2.0))
            await http.put(
                f"/api/v1/attempts/current/responses/{rng.randint(1, 30)}",
                json={"option": rng.choice("ABCDE"), "flagged": seq == 2, "seq": seq},
                headers=headers,
            )
        finished = await http.post(
            "/api/v1/attempts/current/finish", json={"confirm": True}, headers=headers
        )
        if finished.status_code == 200:
            measures.practice_finished += 1
        else:
            measures.practice_errors.append(f"finish {finished.status_code} {finished.text[:80]}")


async def phase(
    base: str, tokens: list[str], seqs: list[int], seconds: float, practice: int
) -> Measures:
    """Live saves for ``seconds``, or (with a crowd) until every practice candidate has
    started, answered and finished: the live load lasts as long as the crowd is there."""
    measures = Measures()
    rng = random.Random(3 + practice)
    done = asyncio.Event()
    began = time.perf_counter()
    live = [
        asyncio.create_task(
            live_candidate(base, token, done, seqs[i], random.Random(i * 7 + practice), measures)
        )
        for i, token in enumerate(tokens)
    ]
    if practice:
        # The crowd runs in its own process: its thousand clients must not slow the loop that
        # times the live saves (that would be the load generator measuring itself).
        loop = asyncio.get_running_loop()
        with concurrent.futures.ProcessPoolExecutor(max_workers=1) as pool:
            crowd = await loop.run_in_executor(
                pool, run_crowd, base, practice, seconds, rng.randrange(2**32)
            )
        measures.practice_started = crowd.practice_started
        measures.practice_finished = crowd.practice_finished
        measures.practice_retries = crowd.practice_retries
        measures.practice_errors = crowd.practice_errors
        measures.practice_start_ms = crowd.practice_start_ms
    else:
        await asyncio.sleep(seconds)
    measures.seconds = time.perf_counter() - began
    done.set()
    results = await asyncio.gather(*live)
    seqs[:] = [int(s) for s in results]
    return measures


def run_crowd(base: str, practice: int, seconds: float, seed: int) -> Measures:
    """The practice crowd, in a process of its own (see :func:`phase`)."""

    async def crowd() -> Measures:
        measures = Measures()
        rng = random.Random(seed)
        await asyncio.gather(
            *(
                practice_candidate(base, rng.uniform(0, seconds), random.Random(i), measures)
                for i in range(practice)
            )
        )
        return measures

    return asyncio.run(crowd())


def row(backend: str, name: str, measures: Measures) -> str:
    values = measures.live
    practice = (
        f"{measures.practice_started} started, {measures.practice_finished} finished, "
        f"{measures.practice_retries} retries after 429, {len(measures.practice_errors)} errors"
        if measures.practice_start_ms
        else "–"
    )
    crowd_p99 = (
        f"{percentile(measures.practice_start_ms, 99):.0f}" if measures.practice_start_ms else "–"
    )
    return (
        f"| {backend} | {name} ({measures.seconds:.0f} s) | {len(values)} | "
        f"{statistics.median(values):.1f} | "
        f"{percentile(values, 95):.1f} | **{percentile(values, 99):.1f}** | {max(values):.1f} | "
        f"{len(measures.live_errors)} | {practice} | {crowd_p99} |"
    )


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[str]:
    secret = secrets.token_urlsafe(40)
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'practice.db'}"
    else:
        import psycopg

        dbname = f"ujian_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
    try:
        from app.services import audit

        audit.use_secret(secret.encode())  # the set-up's audit events, under the server's key
        prepared = prepare(url, secret, workdir / "var", candidates=args.live, start=args.live)
        publish_practice(url, secret, workdir / "var")
        env = {
            "UJIAN_DATABASE_URL": url,
            "UJIAN_SECRET_KEY": secret,
            "UJIAN_MODE": "production",
            "UJIAN_VAR_DIR": str(workdir / "var"),
            "UJIAN_LOG_LEVEL": "WARNING",
            # One address stands for the crowd's thousand: the per-address limits step aside.
            "UJIAN_PRACTICE_STARTS_PER_WINDOW": "1000000",
            "UJIAN_PRACTICE_RUNNING_PER_CLIENT": "1000000",
            "UJIAN_PRACTICE_STARTS_PER_SECOND": str(args.starts_per_second),
        }
        port = free_port()
        argv = [
            sys.executable, "-m", "uvicorn", "app.main:serve_app", "--factory",
            "--port", str(port), "--workers", "1", "--backlog", "4096",
            "--timeout-keep-alive", "75", "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
        process = start(argv, env, port)
        base = f"http://127.0.0.1:{port}"
        try:
            seqs = [0] * len(prepared.tokens)
            quiet = asyncio.run(phase(base, prepared.tokens, seqs, args.seconds, 0))
            crowd = asyncio.run(phase(base, prepared.tokens, seqs, args.seconds, args.practice))
        finally:
            process.terminate()
            process.wait(timeout=20)
    finally:
        if dbname:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    rows = [
        row(backend, "live only", quiet),
        row(backend, f"live + {args.practice:,} practice starts", crowd),
    ]
    for line in rows:
        print(line, flush=True)
    for errors in (quiet.live_errors, crowd.live_errors, crowd.practice_errors):
        if errors:
            print("errors:", errors[:5], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--live", type=int, default=150)
    parser.add_argument("--practice", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument(
        "--starts-per-second",
        type=float,
        default=5.0,
        help="UJIAN_PRACTICE_STARTS_PER_SECOND of the server (default: the setting's default)",
    )
    args = parser.parse_args()
    command = (
        f".venv/bin/python -m bench.practice_load --live {args.live} --practice {args.practice} "
        f"--seconds {args.seconds:g} --backend {args.backend} "
        f"--starts-per-second {args.starts_per_second:g}"
    )
    print(f"Command: `{command}` ({os.cpu_count()} cores shared by server and client).\n")
    print(
        "| backend | phase | live saves | p50 ms | p95 ms | p99 ms | max ms | live errors "
        "| practice crowd | practice start p99 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            run_backend(backend, args, Path(tmp) / backend)


if __name__ == "__main__":
    main()
