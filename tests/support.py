"""Helpers shared by the tests that run `deploymock` as a process."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import pytest

from mockserver.cli import READY

# The admin token the tests' servers take (deploymock serve reads DEPLOYMOCK_ADMIN_TOKEN), and
# the headers that send it.
TOKEN_ENV = "DEPLOYMOCK_ADMIN_TOKEN"
ADMIN_TOKEN = "deploymock-tests-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@contextmanager
def serve_ready(
    *args: str,
    command: tuple[str, ...] = (sys.executable, "-m", "mockserver"),
    env: dict[str, str] | None = None,
    stdout: IO[str] | None = None,
    admin_token: str | None = ADMIN_TOKEN,
    timeout: float = 60,
) -> Iterator[tuple[str, subprocess.Popen[str], list[str], dict[str, Any]]]:
    """`deploymock serve --port 0 ARGS`, once its ready line is out: (its URL, the process, its
    stderr lines so far and to come, the ready line's JSON). The admin token is `admin_token`
    (None: the one serve makes) unless `env` names one; the user's own is never inherited."""
    environment = dict(os.environ if env is None else env)
    if env is None or TOKEN_ENV not in env:
        environment.pop(TOKEN_ENV, None)
        if admin_token is not None:
            environment[TOKEN_ENV] = admin_token
    proc = subprocess.Popen(
        [*command, "serve", "--port", "0", *args],
        stdout=stdout,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    assert proc.stderr is not None
    lines: list[str] = []
    arrived: queue.Queue[str | None] = queue.Queue()

    def read(stream: IO[str]) -> None:  # keeps reading, so a chatty server never blocks
        for line in stream:
            lines.append(line)
            arrived.put(line)
        arrived.put(None)

    reader = threading.Thread(target=read, args=(proc.stderr,), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    ready: dict[str, Any] | None = None
    try:
        while ready is None:
            line = arrived.get(timeout=max(0.0, deadline - time.monotonic()))
            if line is None:
                proc.wait(timeout=10)
                pytest.fail("deploymock serve did not start:\n" + "".join(lines))
            if line.startswith(READY):
                ready = json.loads(line[len(READY) :])
    except queue.Empty:
        proc.kill()
        pytest.fail(f"no ready line in {timeout} s:\n" + "".join(lines))
    try:
        yield ready["url"], proc, lines, ready
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=10)
        reader.join(timeout=10)
        proc.stderr.close()


@contextmanager
def serving(*args: str, **options: Any) -> Iterator[tuple[str, subprocess.Popen[str], list[str]]]:
    """`serve_ready` without the ready line's JSON: (URL, process, stderr lines)."""
    with serve_ready(*args, **options) as (url, proc, lines, _ready):
        yield url, proc, lines
