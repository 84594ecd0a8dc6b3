"""Calling the app in process from synchronous code: one request, no socket, no extra thread.

The fixtures' httpx clients (`pytest_plugin.transport`) and the in-process contract run
(`mockserver.contract.gate`) both come through here. Each thread keeps one event loop of its
own and runs the app on it to completion; only a caller already inside a running event loop
(a sync client used from async code) is served on a short-lived worker thread instead.
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

Headers = list[tuple[bytes, bytes]]

_local = threading.local()


@dataclass(slots=True)
class Exchange:
    """One request as bytes, and what the app answered."""

    method: str
    path: str  # as sent: percent-encoded, without the query
    query: bytes
    headers: Headers
    body: bytes
    status: int = 500
    response_headers: Headers = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False  # False: the app hung up before finishing (a dropped connection)

    @property
    def content(self) -> bytes:
        return b"".join(self.chunks)


def scope_of(exchange: Exchange, *, host: str = "deploymock") -> dict[str, Any]:
    headers = exchange.headers
    if not any(name == b"host" for name, _ in headers):
        headers = [(b"host", host.encode("latin-1")), *headers]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": exchange.method,
        "scheme": "http",
        "path": unquote(exchange.path),
        "raw_path": exchange.path.encode("latin-1"),
        "root_path": "",
        "query_string": exchange.query,
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": (host, 80),
    }


async def run_app(app: Any, exchange: Exchange) -> Exchange:
    """Run one request through an ASGI app, filling in `exchange`'s answer."""
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": exchange.body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.response_headers = list(message.get("headers", ()))
        elif message["type"] == "http.response.body":
            exchange.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                exchange.complete = True

    await app(scope_of(exchange), receive, send)
    return exchange


def call(app: Any, exchange: Exchange) -> Exchange:
    """`run_app` from synchronous code, on this thread's own event loop.

    A dropped connection (a fault) raises `ConnectionResetError`, as a socket would.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _loop().run_until_complete(run_app(app, exchange))
    # Inside a running loop (a sync client used from async code): a worker thread, whose
    # loop asyncio.run closes again.
    with ThreadPoolExecutor(1, thread_name_prefix="deploymock-bridge") as pool:
        return pool.submit(asyncio.run, run_app(app, exchange)).result()


class _OwnLoop:
    """A thread's event loop, closed when the thread ends (its thread-local goes away) or, for
    the main thread, when the interpreter exits: a finalizer running inside a garbage
    collection may find the loop's own sockets already finalized."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.main = threading.current_thread() is threading.main_thread()
        if self.main:
            atexit.register(self.loop.close)

    def __del__(self) -> None:
        if not self.main:
            self.loop.close()


def _loop() -> asyncio.AbstractEventLoop:
    own: _OwnLoop | None = getattr(_local, "own", None)
    if own is None or own.loop.is_closed():
        own = _local.own = _OwnLoop()
    return own.loop


def encode_headers(pairs: Iterable[tuple[str, str]]) -> Headers:
    return [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in pairs]
