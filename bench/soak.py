"""Soak: a long run against `deploymock serve`; memory must stay flat.

Sends PATCH+GET pairs (and a list now and then) over keep-alive connections, reads the
server's RSS after the first 10k requests and at the end, and prints the ratio (target
<= 1.2) with throughput and p99 latency. Not a test: run it by hand or in a nightly job.

    python bench/soak.py [--requests 1000000] [--connections 16]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import call, free_port, patch_and_get, request, setup, wait_listening


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def drive(port: int, pid: int, total: int, connections: int) -> dict[str, float]:
    await wait_listening(port)
    patches, get = patch_and_get(await setup(port))
    listing = request("GET", "/sap_ai_core/v2/lm/deployments?$top=10")
    sent = 0
    latencies: list[float] = []
    marks: dict[str, float] = {}
    start = time.perf_counter()

    async def worker() -> None:
        nonlocal sent
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = 0
        while sent < total:
            for raw in (patches[i % 2], get, listing if i % 50 == 0 else None):
                if raw is None:
                    continue
                t0 = time.perf_counter()
                status, _ = await call(reader, writer, raw)
                latencies.append(time.perf_counter() - t0)
                if status >= 500:
                    raise RuntimeError(f"server error {status}")
                sent += 1
                if "rss_10k" not in marks and sent >= 10_000:
                    marks["rss_10k"] = rss_kib(pid)
            i += 1
            if sent % 100_000 < 3:
                print(f"  {sent:>9} requests, rss {rss_kib(pid) / 1024:.1f} MiB", flush=True)
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - start
    latencies.sort()
    return {
        "requests": sent,
        "seconds": elapsed,
        "rps": sent / elapsed,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
        "rss_10k_kib": marks["rss_10k"],
        "rss_end_kib": rss_kib(pid),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mockserver",
            "serve",
            "--port",
            str(port),
            "--provider",
            "sap_ai_core",
            "--log-level",
            "warning",
            "--delay",
            "schedule=0",
            "--delay",
            "start=0",
        ]
    )
    try:
        result = asyncio.run(drive(port, proc.pid, args.requests, args.connections))
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    ratio = result["rss_end_kib"] / result["rss_10k_kib"]
    print(
        f"requests {result['requests']:.0f} in {result['seconds']:.0f} s "
        f"({result['rps']:.0f} req/s), p99 {result['p99_ms']:.2f} ms"
    )
    print(
        f"rss after 10k {result['rss_10k_kib'] / 1024:.1f} MiB, at the end "
        f"{result['rss_end_kib'] / 1024:.1f} MiB: ratio {ratio:.2f} (target <= 1.2)"
    )
    return 0 if ratio <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
