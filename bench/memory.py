"""Memory of large request bodies: the journal must not keep them whole.

Starts `deploymock serve --provider openstack_heat --no-access-log --port 0`, sends 1 000
requests with ~900 KB bodies, reads the server's RSS (VmRSS in /proc/<pid>/status), then does
the same in a second, fresh server with 1 000 small bodies, and prints both and their ratio
(target <= 1.2). Before the journal was bounded in bytes, the large run grew by ~900 MB.

The requests are PUT updates of one software deployment whose `output_values` carry a large
`deploy_stdout` (what a Heat agent signals back), each one different. Heat's update replaces
`output_values`, so the provider's store holds only the latest, one body's worth in either run,
and what grows with the number of requests is the journal, which keeps every request's body
(refused ones too). Creating software configs instead would keep every `config` in the store
and measure the store, not the journal.

    python bench/memory.py [--requests 1000] [--body-kb 900]

Linux only (reads /proc). Not a test: run it by hand or in a nightly job.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx

READY = "deploymock: ready "
TARGET = 1.2
TENANT = "bench"
HEADERS = {"X-Auth-Token": "bench", "Content-Type": "application/json"}


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def start() -> tuple[subprocess.Popen[str], str]:
    """A fresh server and its Heat base URL, once it says it is ready."""
    command = [sys.executable, "-m", "mockserver", "serve"]
    command += ["--provider", "openstack_heat", "--no-access-log", "--port", "0"]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:
        if line.startswith(READY):
            ready = json.loads(line[len(READY) :])
            # Keep reading what it says, so a full pipe never blocks it.
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, f"{ready['providers']['openstack_heat']}/v1/{TENANT}"
    raise RuntimeError(f"deploymock serve exited ({proc.wait()}) before it was ready")


def body(n: int, size: int) -> bytes:
    stdout = f"run {n:06d}\n".ljust(size, "x")
    update = {"status": "COMPLETE", "output_values": {"deploy_stdout": stdout}}
    return json.dumps({**update, "status_reason": "Outputs received"}).encode()


def run(requests: int, size: int) -> dict[str, Any]:
    """Send `requests` updates with `size`-character outputs to a fresh server; its RSS."""
    proc, base = start()
    try:
        at_start = rss_kib(proc.pid)
        with httpx.Client(base_url=base, headers=HEADERS, timeout=60) as http:
            config = {"name": "bench", "group": "script", "config": "echo"}
            cid = http.post("/software_configs", json=config).json()["software_config"]["id"]
            made = http.post("/software_deployments", json={"config_id": cid, "server_id": "s1"})
            url = f"/software_deployments/{made.json()['software_deployment']['id']}"
            sent = 0
            for n in range(requests):
                content = body(n, size)
                sent += len(content)
                answer = http.put(url, content=content)
                if answer.status_code != 200:
                    raise RuntimeError(f"PUT answered {answer.status_code}: {answer.text[:200]}")
        return {"rss_kib": rss_kib(proc.pid), "at_start_kib": at_start, "mean": sent / requests}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def show(label: str, result: dict[str, Any], requests: int) -> None:
    print(
        f"{label}: {requests} PUTs of {result['mean'] / 1000:,.1f} KB: rss "
        f"{result['rss_kib'] / 1024:.1f} MiB (at start {result['at_start_kib'] / 1024:.1f} MiB)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--body-kb", type=int, default=900, help="size of each large body (KB)")
    args = parser.parse_args()
    large = run(args.requests, args.body_kb * 1000)
    show("large", large, args.requests)
    small = run(args.requests, 20)
    show("small", small, args.requests)
    ratio = large["rss_kib"] / small["rss_kib"]
    print(f"ratio {ratio:.2f} (target <= {TARGET})")
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
