"""Autosave throughput and latency at 64 connections, beside a bare FastAPI endpoint.

Run:  .venv/bin/python -m bench.autosave [--backend sqlite|postgresql|both] [--seconds 15]

Both servers run under the same uvicorn settings (one worker, uvloop + httptools, no access
log); wrk drives them from 127.0.0.1 with the same connection count. The figures and the
command go to bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.readme import write_section
from bench.setup_exam import prepare

ROOT = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("UJIAN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")

LUA = """
tokens = {%s}
counter = 0
seqs = {}
letters = {"A", "B", "C", "D", "E"}
request = function()
  counter = counter + 1
  local i = (counter %% #tokens) + 1
  seqs[i] = (seqs[i] or 0) + 1
  local seq = seqs[i] + thread_offset
  local position = (seq %% 110) + 1
  local body = '{"option":"' .. letters[(seq %% 5) + 1] .. '","flagged":false,"seq":' .. seq .. '}'
  return wrk.format("PUT", "/api/v1/attempts/current/responses/" .. position,
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. tokens[i]}, body)
end
thread_offset = 0
-- Each run starts its sequences above the previous run's, so every save is newer and applied.
init = function(args) thread_offset = tonumber(args[1]) or 0 end
response = function(status, headers, body)
  if status ~= 200 then
    errors = (errors or 0) + 1
  end
end
"""


HOW = """How: a save costs one HMAC check of the candidate token (no database read), one
entry in the process's group-commit queue and one wake-up when the batch holding it has
committed: a writer thread takes every queued save, writes them in one transaction (the form
cached per attempt, the current answers compared and updated in bulk, each change appended to
the history) and commits once, with SQLite's `synchronous=FULL` or PostgreSQL's default
durable commit. The save is answered by an ASGI shortcut (`app/api/answer_path.py`) that does
what the documented FastAPI route does without its routing and dependency resolution; anything
it does not fully understand (no or a bad token, an invalid body, an adaptive item) goes to the
route. The bare endpoint does go through FastAPI's router, which is why the whole durable save
comes within a fifth of it."""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    argv: list[str], env: dict[str, str], port: int, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a server and wait for /healthz. Its output goes to ``log`` (never to an unread
    pipe: a full pipe would block the server's logging and stall it)."""
    log = log or Path(tempfile.gettempdir()) / f"ujian-bench-{port}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            argv, cwd=ROOT, env={**os.environ, **env}, stdout=sink, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"server did not start; see {log}")


def uvicorn_argv(target: str, port: int, factory: bool) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        "--port",
        str(port),
        "--workers",
        "1",
        "--no-access-log",
        "--log-level",
        "warning",
    ]
    if factory:
        argv.append("--factory")
    return argv


def run_wrk(
    port: int, script: Path, connections: int, seconds: int, first_seq: int = 0
) -> dict[str, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(first_seq),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    latency = {}
    for pct in ("50", "90", "99"):
        match = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)", out)
        value, unit = float(match.group(1)), match.group(2)
        latency[pct] = value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    total = re.search(r"(\d+) requests in", out)
    return {
        "rps": rps,
        "p50": latency["50"],
        "p90": latency["90"],
        "p99": latency["99"],
        "errors": float(non2xx.group(1)) if non2xx else 0.0,
        "requests": float(total.group(1)),
    }


def stored_answers(url: str) -> int:
    """How many saves the database holds (each applied save is one history row)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return int(
                connection.execute(text("SELECT count(*) FROM response_events")).scalar_one()
            )
    finally:
        engine.dispose()


def bench_backend(
    backend: str, seconds: int, connections: int, workdir: Path
) -> dict[str, dict[str, float]]:
    secret = secrets.token_urlsafe(40)
    dbname = None
    if backend == "sqlite":
        url = f"sqlite:///{workdir / 'autosave.db'}"
    else:
        import psycopg

        dbname = f"ujian_bench_{secrets.token_hex(4)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{dbname}"
    try:
        prepared = prepare(
            url,
            secret,
            workdir / "var",
            candidates=connections * 4,
            start=connections * 4,
            duration=600,
        )
        script = workdir / f"put-{backend}.lua"
        script.write_text(LUA % ", ".join(f'"{t}"' for t in prepared.tokens))
        env = {
            "UJIAN_DATABASE_URL": url,
            "UJIAN_SECRET_KEY": secret,
            "UJIAN_MODE": "production",
            "UJIAN_VAR_DIR": str(workdir / "var"),
            "UJIAN_LOG_LEVEL": "WARNING",
        }
        figures = {}
        for name, target, factory in (
            ("bare FastAPI", "bench.bare_app:app", False),
            ("Ujian autosave", "app.main:serve_app", True),
        ):
            port = free_port()
            process = start(uvicorn_argv(target, port, factory), env, port)
            try:
                warm = run_wrk(port, script, connections, 3)  # warm-up
                figures[name] = run_wrk(port, script, connections, seconds, first_seq=10**9)
            finally:
                process.terminate()
                process.wait(timeout=15)
            if name == "Ujian autosave":
                stored = stored_answers(url)
                acknowledged = warm["requests"] - warm["errors"]
                acknowledged += figures[name]["requests"] - figures[name]["errors"]
                # wrk counts only completed requests; every one it saw acknowledged must be there.
                if stored < acknowledged:
                    msg = f"{backend}: {stored} answers stored, {acknowledged:.0f} acknowledged"
                    raise SystemExit(msg)
                figures[name]["stored"] = stored
        return figures
    finally:
        if dbname:
            import psycopg

            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is needed: sudo apt-get install wrk")
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    lines = [
        f"Command: `.venv/bin/python -m bench.autosave --backend {args.backend} --seconds {args.seconds} "
        f"--connections {args.connections}` (wrk, 1 thread, {args.connections} connections, "
        f"{args.seconds} s after a 3 s warm-up; one uvicorn worker each; {os.cpu_count()} cores shared "
        "by server and load generator). Every save is a distinct candidate's answer with a rising "
        "sequence; Ujian acknowledges each only after the commit that holds it (SQLite "
        "`synchronous=FULL`). After each Ujian run the history rows are counted: the run fails "
        "unless every save wrk saw acknowledged (warm-up included) is stored.",
        "",
        "| backend | server | req/s | p50 ms | p90 ms | p99 ms | non-2xx | stored | ratio to bare |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for backend in backends:
            figures = bench_backend(backend, args.seconds, args.connections, Path(tmp))
            bare = figures["bare FastAPI"]["rps"]
            for name, f in figures.items():
                stored = f"{int(f['stored']):,}" if "stored" in f else "–"
                lines.append(
                    f"| {backend} | {name} | {f['rps']:.0f} | {f['p50']:.1f} | {f['p90']:.1f} | "
                    f"{f['p99']:.1f} | {int(f['errors'])} | {stored} | {f['rps'] / bare:.0%} |"
                )
                print(backend, name, f)
    lines += ["", HOW]
    write_section("Autosave throughput", "\n".join(lines))


if __name__ == "__main__":
    main()
