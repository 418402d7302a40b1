"""A synchronized start: N candidates log in and start their exam within the same seconds.

Run:  .venv/bin/python -m bench.synchronized_start [--candidates 3000] [--window 10]
          [--backend sqlite|postgresql|both] [--sittings 10] [--workers 1]

Each candidate arrives at a random moment of the window, logs in with nomor peserta + PIN and
starts (the server draws and freezes a 110-item SKD form from a bank of 3x the exam). Every
request must succeed. The client is asyncio + httpx on the same 2-core machine as the server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.autosave import PG_ADMIN, free_port, start
from bench.readme import write_section
from bench.setup_exam import prepare


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


#: One TLS context for all simulated PCs: building one per client costs milliseconds of CPU that
#: real PCs would not share (no TLS is used here).
_SSL = ssl.create_default_context()


async def candidate(
    base: str,
    delay: float,
    nomor: str,
    pin: str,
    timings: dict[str, list[float]],
    errors: list[str],
) -> None:
    await asyncio.sleep(delay)
    # Each candidate is a PC with its own connection, as in a test centre. (One shared client
    # with a pool of hundreds of connections spends its CPU matching queued requests to
    # connections, and then measures itself.)
    async with httpx.AsyncClient(
        base_url=base,
        timeout=httpx.Timeout(600, connect=60),
        limits=httpx.Limits(max_connections=1),
        verify=_SSL,
        trust_env=False,
    ) as client:
        await _login_and_start(client, nomor, pin, timings, errors)


async def _login_and_start(
    client: httpx.AsyncClient,
    nomor: str,
    pin: str,
    timings: dict[str, list[float]],
    errors: list[str],
) -> None:
    t0 = time.perf_counter()
    login = await client.post("/api/v1/candidate/login", json={"nomor_peserta": nomor, "pin": pin})
    t1 = time.perf_counter()
    timings["login"].append((t1 - t0) * 1000)
    if login.status_code != 200:
        errors.append(f"login {login.status_code} {login.text[:100]}")
        return
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    started = await client.post("/api/v1/attempts/current/start", headers=headers)
    t2 = time.perf_counter()
    timings["start"].append((t2 - t1) * 1000)
    if started.status_code != 200 or len(started.json()["items"]) != 110:
        errors.append(f"start {started.status_code} {started.text[:100]}")
    timings["finished_at"].append(t2)


async def drive(
    base: str, pins: list[tuple[str, str]], window: float, seed: int
) -> tuple[dict[str, list[float]], list[str], float]:
    rng = random.Random(seed)
    timings: dict[str, list[float]] = {"login": [], "start": [], "finished_at": []}
    errors: list[str] = []
    begin = time.perf_counter()
    await asyncio.gather(
        *(candidate(base, rng.uniform(0, window), n, p, timings, errors) for n, p in pins)
    )
    last = max(timings["finished_at"], default=begin) - begin
    return timings, errors, last


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process and its children (uvicorn's workers), so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending += [int(c) for c in children]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> tuple[list[str], float]:
    secret = secrets.token_urlsafe(40)
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'start.db'}"
    else:
        import psycopg

        dbname = f"ujian_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
    try:
        per_sitting = -(-args.candidates // args.sittings)
        pins: list[tuple[str, str]] = []
        for _ in range(args.sittings):
            pins += prepare(
                url, secret, workdir / "var", candidates=per_sitting, start=0, duration=100
            ).pins
        pins = pins[: args.candidates]
        env = {
            "UJIAN_DATABASE_URL": url,
            "UJIAN_SECRET_KEY": secret,
            "UJIAN_MODE": "production",
            "UJIAN_VAR_DIR": str(workdir / "var"),
            "UJIAN_LOG_LEVEL": "WARNING",
            "UJIAN_LOGIN_MAX_FAILURES": "5",
        }
        workers = 1 if backend == "sqlite" else args.workers
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:serve_app",
            "--factory",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--backlog",
            "4096",  # as `ujian serve`
            "--timeout-keep-alive",
            "75",
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        process = start(argv, env, port)
        try:
            cpu_before = cpu_seconds(process.pid)
            timings, errors, last = asyncio.run(
                drive(f"http://127.0.0.1:{port}", pins, args.window, 5)
            )
            server_cpu = cpu_seconds(process.pid) - cpu_before
        finally:
            process.terminate()
            process.wait(timeout=20)
    finally:
        if dbname:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
    ok = len(timings["start"]) - sum(1 for e in errors if e.startswith("start"))
    rows = []
    for step in ("login", "start"):
        values = timings[step]
        rows.append(
            f"| {backend} ({workers} worker{'s' if workers > 1 else ''}) | {step} | {len(values)} | "
            f"{statistics.median(values):.0f} | {percentile(values, 95):.0f} | {percentile(values, 99):.0f} | "
            f"{max(values):.0f} |"
        )
    rows.append(
        f"| {backend} | all started | {ok} of {len(pins)} | last start {last:.1f} s after the first arrival | "
        f"errors: {len(errors)} | server CPU {server_cpu:.1f} s, "
        f"{server_cpu / len(pins) * 1000:.1f} ms a candidate | |"
    )
    for row in rows:
        print(row, flush=True)
    if errors:
        print("errors:", errors[:5])
    return rows, server_cpu / len(pins)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidates", type=int, default=3000)
    parser.add_argument("--window", type=float, default=10.0)
    parser.add_argument("--sittings", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    lines = [
        f"Command: `.venv/bin/python -m bench.synchronized_start --candidates {args.candidates} "
        f"--window {args.window:g} --sittings {args.sittings} --workers {args.workers} --backend {args.backend}` "
        f"({os.cpu_count()} cores shared by server and client). {args.candidates} candidates in "
        f"{args.sittings} sittings arrive at random moments of a {args.window:g}-second window; each "
        "logs in with nomor peserta and PIN, then starts (form drawn, frozen, clock started). "
        "Times in milliseconds as the client saw them.",
        "",
        "| backend | step | requests | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    per_candidate: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            rows, per_candidate[backend] = run_backend(backend, args, Path(tmp))
            lines += rows
    rate = args.candidates / args.window
    costs = "; ".join(
        f"{backend}: {cpu * 1000:.0f} ms, so one core admits about {1 / cpu:.0f} candidates a "
        f"second and {args.candidates:,} in {args.window:g} s need about "
        f"{rate * cpu:.1f} cores of workers"
        for backend, cpu in per_candidate.items()
    )
    lines += [
        "",
        "How to read it: every candidate gets in, and the latencies are mostly queueing. The "
        f"window brings {rate:.0f} candidates a second; the server CPU a candidate costs "
        f"(login + start, HTTP included) is {costs}. Here one SQLite process and two PostgreSQL "
        "workers share 2 cores with PostgreSQL itself and with the client simulating every PC, "
        "so requests wait their turn. On PostgreSQL, workers scale across cores and hosts "
        "(`ujian serve --workers N`); a SQLite site is one process, fine for a room or a small "
        "site that staggers its arrivals.",
    ]
    write_section("Synchronized start", "\n".join(lines))


if __name__ == "__main__":
    main()
