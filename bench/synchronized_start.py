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


async def candidate(
    client: httpx.AsyncClient,
    delay: float,
    nomor: str,
    pin: str,
    timings: dict[str, list[float]],
    errors: list[str],
) -> None:
    await asyncio.sleep(delay)
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
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=120) as client:
        begin = time.perf_counter()
        await asyncio.gather(
            *(candidate(client, rng.uniform(0, window), n, p, timings, errors) for n, p in pins)
        )
    last = max(timings["finished_at"], default=begin) - begin
    return timings, errors, last


def run_backend(backend: str, args: argparse.Namespace, workdir: Path) -> list[str]:
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
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        process = start(argv, env, port)
        try:
            timings, errors, last = asyncio.run(
                drive(f"http://127.0.0.1:{port}", pins, args.window, 5)
            )
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
        f"errors: {len(errors)} | | |"
    )
    for row in rows:
        print(row, flush=True)
    if errors:
        print("errors:", errors[:5])
    return rows


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
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            lines += run_backend(backend, args, Path(tmp))
    write_section("Synchronized start", "\n".join(lines))


if __name__ == "__main__":
    main()
