"""PUT latency with a state file by tenant size, and another tenant's GET latency meanwhile.

For each size (1k, 10k, 100k Heat software deployments in one tenant) a new state file is
seeded in process (records put in the store, committed once), then served by
`deploymock serve --state FILE` (port 0, no access log) and called over HTTP:

1. PUT: sequential PUTs of random deployments of the big tenant; p50 and p99.
2. GET meanwhile: a small tenant's GETs on a second connection while a loop of PUTs runs on
   the big tenant. A write holds the server's event loop while it commits, so this is what
   another tenant waits. The same GETs with nothing else running are the baseline.
3. PUT after a list: a list hands out every record of its kind, and a handler may change
   what it was handed, so the next write checks each of them against the file (and writes
   the ones that changed): the one write after a list costs the tenant's size again.

Prints the figures and the ratios to the smallest size. Exit status 0 when the 10k PUT p50 is
within 2x the 1k one.

    python bench/state.py [--puts 400] [--sizes 1000,10000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from mockserver.app import create_app, mock_of

READY = "deploymock: ready "
SERVE = ("--port", "0", "--provider", "openstack_heat", "--log-level", "warning", "--no-access-log")
PROVIDER = "openstack_heat"
BIG, SMALL = "big", "small"
LISTS = 10
DEPLOYMENT = {
    "server_id": "srv-1",
    "config_id": "cfg",
    "input_values": {"size": 1, "zone": "a"},
    "output_values": None,
    "action": "CREATE",
    "status": "IN_PROGRESS",
    "status_reason": "None",
    "creation_time": "2024-01-01T00:00:00Z",
    "_stack_user_project_id": None,
}


def seed(path: Path, size: int) -> None:
    """A new state file holding `size` deployments in BIG and 10 in SMALL."""
    mock = mock_of(create_app(providers=[PROVIDER], state=path))
    for tenant, count in ((BIG, size), (SMALL, 10)):
        store = mock.store.tenant(PROVIDER, tenant)
        for n in range(count):
            store.put("software_deployment", f"d{n}", {**DEPLOYMENT, "id": f"d{n}"})
        mock.commit(PROVIDER, tenant)
    assert mock.persist is not None
    mock.persist.close()  # lets go of the file for the server


@contextmanager
def serving(path: Path) -> Iterator[str]:
    """`deploymock serve --state path`; its URL once the ready line says it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--state", str(path), *SERVE],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    try:
        for line in proc.stderr:
            if line.startswith(READY):
                url = json.loads(line[len(READY) :])["url"]
                break
        else:
            raise RuntimeError(f"deploymock serve exited with {proc.wait()}")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def percentiles(seconds: list[float]) -> tuple[float, float]:
    """p50 and p99 in milliseconds."""
    cuts = statistics.quantiles(seconds, n=100, method="inclusive")
    return 1000 * statistics.median(seconds), 1000 * cuts[98]


async def timed(api: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> float:
    start = time.perf_counter()
    resp = await api.request(method, url, **kwargs)
    took = time.perf_counter() - start
    assert resp.status_code == 200, resp.text
    return took


async def put(api: httpx.AsyncClient, size: int, rng: random.Random) -> float:
    did = f"d{rng.randrange(size)}"
    body = {"status": "COMPLETE", "status_reason": f"r{rng.random()}"}
    return await timed(api, "PUT", f"/v1/{BIG}/software_deployments/{did}", json=body)


async def gets(api: httpx.AsyncClient, count: int) -> list[float]:
    return [
        await timed(api, "GET", f"/v1/{SMALL}/software_deployments/d{n % 10}") for n in range(count)
    ]


async def measure(url: str, size: int, puts: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(size)
    base, auth = f"{url}/{PROVIDER}", {"X-Auth-Token": "bench"}
    async with (  # one connection each, so a GET is not queued behind a PUT in the client
        httpx.AsyncClient(base_url=base, headers=auth) as writing,
        httpx.AsyncClient(base_url=base, headers=auth) as reading,
    ):
        for _ in range(20):  # warm up: first-use compilation, caches, connections
            await put(writing, size, rng)
            await gets(reading, 1)
        alone = [await put(writing, size, rng) for _ in range(puts)]
        quiet = await gets(reading, puts)
        done = asyncio.Event()

        async def writer() -> None:
            while not done.is_set():
                await put(writing, size, rng)

        task = asyncio.create_task(writer())
        meanwhile = await gets(reading, puts)
        done.set()
        await task
        after_list = []
        for _ in range(LISTS):
            await timed(writing, "GET", f"/v1/{BIG}/software_deployments", timeout=120)
            after_list.append(await put(writing, size, rng))
    return {
        "PUT": percentiles(alone),
        "GET other tenant, idle": percentiles(quiet),
        "GET other tenant, PUTs running": percentiles(meanwhile),
        f"PUT after a list ({LISTS}x)": percentiles(after_list),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--puts", type=int, default=400)
    parser.add_argument("--sizes", default="1000,10000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results: dict[int, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            path = Path(tmp) / f"state-{size}.db"
            start = time.perf_counter()
            seed(path, size)
            seeding = time.perf_counter() - start
            with serving(path) as url:
                results[size] = asyncio.run(measure(url, size, args.puts))
            print(f"{size:>7} deployments (seeded and committed in {seeding:.1f} s)")
            for what, (p50, p99) in results[size].items():
                print(f"        {what:<31} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms")
    first = sizes[0]
    for size in sizes[1:]:
        ratio = results[size]["PUT"][0] / results[first]["PUT"][0]
        print(f"PUT p50 at {size} / at {first}: {ratio:.2f}x")
    if 1000 in results and 10000 in results:
        ratio = results[10000]["PUT"][0] / results[1000]["PUT"][0]
        print(f"goal: 10k PUT p50 within 2x the 1k one: {'met' if ratio <= 2 else 'MISSED'}")
        return 0 if ratio <= 2 else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
