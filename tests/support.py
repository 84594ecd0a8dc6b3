"""Helpers shared by the tests that run `deploymock` as a process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import pytest

# The admin token the tests' servers take (deploymock serve reads DEPLOYMOCK_ADMIN_TOKEN), and
# the headers that send it.
ADMIN_TOKEN = "deploymock-tests-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serving(
    *args: str,
    command: tuple[str, ...] = (sys.executable, "-m", "mockserver"),
    env: dict[str, str] | None = None,
    stdout: IO[str] | None = None,
) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    port = free_port()
    proc = subprocess.Popen(
        [*command, "serve", "--port", str(port), *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env={"DEPLOYMOCK_ADMIN_TOKEN": ADMIN_TOKEN, **(env if env is not None else os.environ)},
    )
    assert proc.stderr is not None
    lines = []
    for line in proc.stderr:  # blocks until uvicorn says it is listening (or the process dies)
        lines.append(line)
        if "Uvicorn running on" in line:
            break
    else:
        proc.wait(timeout=10)
        pytest.fail("deploymock serve did not start:\n" + "".join(lines))
    # Keep reading so a chatty server never blocks on a full pipe.
    drain = threading.Thread(target=lines.extend, args=(proc.stderr,), daemon=True)
    drain.start()
    scheme = "https" if "--self-signed" in args else "http"
    try:
        yield f"{scheme}://127.0.0.1:{port}", proc, lines
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        drain.join(timeout=10)
        proc.stderr.close()
