"""PATCH+GET throughput and p99 of the mock against a bare Starlette app, in the same run.

Both servers run under the same uvicorn settings (httptools, uvloop, one worker, no access
log; the mock is started with `deploymock serve`), one at a time, alternating for several
rounds; the load comes from a lean asyncio HTTP/1.1 client with keep-alive connections, so the
client costs little next to the servers. The bare app does the same JSON work a client sees
(parse the PATCH body, answer 202 JSON; GET answers the stored deployment), without
validation, state machine or journal. Prints the ratio of the mock's throughput to the bare
app's, with `--no-access-log` (target >= 0.9) and as `deploymock serve` starts by default, a
log line per request (target >= 0.8; the bare app logs nothing): the median of the ratios of
back-to-back rounds, so that a noisy neighbour slowing one stretch of the run slows both sides
of a ratio.

    python bench/throughput.py [--seconds 5] [--connections 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
AUTH = "Authorization: Bearer bench\r\nAI-Resource-Group: bench\r\n"

BARE_APP = """
import json
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route

STORE = {}

async def patch(request):
    body = json.loads(await request.body())
    did = request.path_params["id"]
    STORE.setdefault(did, {"id": did, "status": "RUNNING"}).update(body)
    return Response(json.dumps({"id": did, "message": "Deployment modification scheduled"}),
                    status_code=202, media_type="application/json")

async def get(request):
    did = request.path_params["id"]
    return Response(json.dumps(STORE.get(did, {"id": did})), media_type="application/json")

app = Starlette(routes=[Route("/sap_ai_core/v2/lm/deployments/{id}", patch, methods=["PATCH"]),
                        Route("/sap_ai_core/v2/lm/deployments/{id}", get, methods=["GET"])])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str, port: int) -> subprocess.Popen[bytes]:
    if kind == "bare":
        (HERE / "_bare_app.py").write_text(BARE_APP)
        cmd = [sys.executable, "-m", "uvicorn", "_bare_app:app", "--app-dir", str(HERE)]
    else:
        # The mock as users run it: `deploymock serve` (uvicorn picks httptools and uvloop,
        # which uvicorn[standard] installs), with no access log, like the bare app.
        cmd = [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--provider",
            "sap_ai_core",
            "--delay",
            "schedule=0",
            "--delay",
            "start=0",
            "--port",
            str(port),
        ]
        if kind == "mock":
            cmd += ["--log-level", "warning", "--no-access-log"]
        # "logged": as `deploymock serve` starts by default, a line per request on stdout.
        return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cmd += [
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--http",
        "httptools",
        "--loop",
        "uvloop",
    ]
    return subprocess.Popen(cmd)


async def wait_listening(port: int) -> None:
    for _ in range(200):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


async def call(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, raw: bytes
) -> tuple[int, bytes]:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    body = await reader.readexactly(length) if length else b""
    return status, body


def request(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: bench\r\n{AUTH}"
    if body:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


async def setup(port: int) -> str:
    """A running deployment and two configurations to switch between (same calls for both apps)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    configs = []
    for name in ("bench-a", "bench-b"):
        body = json.dumps(
            {"name": name, "scenarioId": "bench-scenario", "executableId": "bench-exec"}
        ).encode()
        status, out = await call(
            reader, writer, request("POST", "/sap_ai_core/v2/lm/configurations", body)
        )
        configs.append(json.loads(out)["id"] if status == 201 else name)
    body = json.dumps({"configurationId": configs[0]}).encode()
    status, out = await call(
        reader, writer, request("POST", "/sap_ai_core/v2/lm/deployments", body)
    )
    writer.close()
    did = json.loads(out)["id"] if status == 202 else "d0000000000bench"
    return f"{did}|{configs[0]}|{configs[1]}"


def patch_and_get(target: str) -> tuple[list[bytes], bytes]:
    """The two PATCHes (switching configuration back and forth) and the GET of the workload."""
    did, first, second = target.split("|")
    path = f"/sap_ai_core/v2/lm/deployments/{did}"
    patches = [
        request("PATCH", path, json.dumps({"configurationId": c}).encode()) for c in (first, second)
    ]
    return patches, request("GET", path)


async def load(port: int, seconds: float, connections: int, target: str) -> tuple[int, list[float]]:
    patches, get = patch_and_get(target)
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = 0
        while time.perf_counter() < deadline:
            for raw, ok in ((patches[i % 2], 202), (get, 200)):
                t0 = time.perf_counter()
                status, _ = await call(reader, writer, raw)
                latencies.append(time.perf_counter() - t0)
                if status != ok:
                    raise RuntimeError(f"unexpected status {status}")
            i += 1
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(latencies), latencies


def measure(kind: str, seconds: float, connections: int) -> tuple[float, float]:
    port = free_port()
    proc = start(kind, port)
    try:

        async def run() -> tuple[float, float]:
            await wait_listening(port)
            target = await setup(port)
            await load(port, min(1.0, seconds), connections, target)  # warm-up
            count, latencies = await load(port, seconds, connections, target)
            return count / seconds, statistics.quantiles(latencies, n=100)[98] * 1000

        return asyncio.run(run())
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    kinds = ("bare", "mock", "logged")
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in kinds}
    for _ in range(args.rounds):
        for kind in kinds:
            results[kind].append(measure(kind, args.seconds, args.connections))
    (HERE / "_bare_app.py").unlink(missing_ok=True)
    rps = {k: statistics.median(r for r, _ in v) for k, v in results.items()}
    p99 = {k: statistics.median(p for _, p in v) for k, v in results.items()}
    for kind in kinds:
        print(
            f"{kind:>6}: {rps[kind]:8.0f} req/s  p99 {p99[kind]:6.2f} ms  "
            f"(rounds: {', '.join(f'{r:.0f}' for r, _ in results[kind])})"
        )
    ok = True
    for kind, target, what in (("mock", 0.9, "no access log"), ("logged", 0.8, "access log")):
        ratios = [m / b for (m, _), (b, _) in zip(results[kind], results["bare"], strict=True)]
        ratio = statistics.median(ratios)
        ok = ok and ratio >= target
        print(
            f"throughput mock/bare, {what}: {ratio:.2f} (target >= {target:.2f}; rounds "
            f"{min(ratios):.2f}..{max(ratios):.2f}); p99 ratio {p99[kind] / p99['bare']:.2f}; "
            f"cpus {os.cpu_count()}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
