"""Startup to the first answer: `deploymock serve` with all five providers, against a bare
Starlette app under uvicorn, started the same way in the same run.

Each round starts a process, polls its port until a request is answered (a provider route for
the mock, the one route of the bare app) and stops it; mock and bare alternate. Prints the
median milliseconds of each and the mock's time (target: < 250 ms) and its ratio to the bare app's.

    python bench/startup.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def hello(request):
    return JSONResponse({"ok": True})

app = Starlette(routes=[Route("/", hello)])
"""
PROBE = {
    "mock": b"GET /sap_ai_core/v2/lm/deployments HTTP/1.1\r\nHost: b\r\n"
    b"Authorization: Bearer b\r\nAI-Resource-Group: b\r\n\r\n",
    "bare": b"GET / HTTP/1.1\r\nHost: b\r\n\r\n",
}
TARGET_MS = 250.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def command(kind: str, port: int) -> list[str]:
    if kind == "bare":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "_startup_app:app",
            "--app-dir",
            str(HERE),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ]
    return [sys.executable, "-m", "mockserver", "serve", "--port", str(port)]


def answered(port: int, probe: bytes) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(probe)
            return s.recv(12).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def once(kind: str) -> float:
    """Milliseconds from spawning the process to its first answer."""
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command(kind, port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        while not answered(port, PROBE[kind]):
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} exited with {proc.returncode}")
            time.sleep(0.002)  # polling a port, not a test: this loop measures wall time
        return (time.perf_counter() - started) * 1000
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    (HERE / "_startup_app.py").write_text(BARE_APP)
    times: dict[str, list[float]] = {"bare": [], "mock": []}
    try:
        for _ in range(args.rounds):
            for kind in times:
                times[kind].append(once(kind))
    finally:
        (HERE / "_startup_app.py").unlink(missing_ok=True)
    bare, mock = (statistics.median(times[k]) for k in ("bare", "mock"))
    print(
        f"startup to first answer, 5 providers: {mock:.0f} ms (target < {TARGET_MS:.0f}); "
        f"bare Starlette {bare:.0f} ms; ratio {mock / bare:.2f}"
    )
    return 0 if mock < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
