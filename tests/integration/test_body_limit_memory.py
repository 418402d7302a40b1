"""A real server process: an unauthenticated 300 MB POST to the login route is refused with 413
after the server read about its limit, and the server's memory does not grow with the body."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.conftest import TEST_SECRET
from tests.support.server import running_server

pytestmark = pytest.mark.slow

TOTAL = 300 * 2**20
CHUNK = 64 * 1024
#: Generous: the server's resident memory may move for many reasons, but not by the body's size.
RSS_GROWTH_BOUND = 40 * 2**20


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    msg = f"no VmRSS for process {pid}"
    raise AssertionError(msg)


def stream_post(port: int, *, chunked: bool) -> tuple[bytes, int]:
    """POST up to 300 MB to the login route; the response head and the bytes we got out."""
    head = f"POST /api/v1/candidate/login HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    head += "Content-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {TOTAL}\r\n"
    payload = b" " * CHUNK
    frame = f"{CHUNK:x}\r\n".encode() + payload + b"\r\n" if chunked else payload
    pushed = 0
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((head + "\r\n").encode())
        sock.settimeout(0.0)
        answer = b""
        while pushed < TOTAL:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            except OSError:
                break
            if b"\r\n\r\n" in answer:
                break
            try:
                pushed += sock.send(frame)
            except BlockingIOError:
                time.sleep(0.001)
            except OSError:
                break
        sock.settimeout(10)
        try:
            while b"\r\n\r\n" not in answer:
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        except OSError:
            pass
    return answer, pushed


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "content-length"])
def test_300_mb_login_post_does_not_grow_memory(db, database_url, tmp_path, chunked):
    env = {
        "UJIAN_DATABASE_URL": database_url,
        "UJIAN_SECRET_KEY": TEST_SECRET,
        "UJIAN_MODE": "production",
        "UJIAN_VAR_DIR": str(tmp_path / "var"),
        "UJIAN_LOG_LEVEL": "WARNING",
    }
    with running_server(env, tmp_path) as server:
        before = rss_bytes(server.process.pid)
        answer, pushed = stream_post(server.port, chunked=chunked)
        after = rss_bytes(server.process.pid)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    # Refused long before the 300 MB were sent, and memory stayed flat.
    assert pushed < TOTAL // 10
    assert after - before < RSS_GROWTH_BOUND, (before, after)
