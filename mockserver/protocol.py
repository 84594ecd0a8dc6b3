"""uvicorn's HTTP protocol for `deploymock serve`, with two things a long-running mock needs.

- A request must arrive whole, headers and body, within `request_timeout` seconds of its first
  byte (or of the connection opening), give or take a quarter of it: uvicorn itself waits
  forever for a client that stops half-way through its headers, holding a connection each.
  Too slow: a 408, and closed.
- What uvicorn refuses before the app sees it (a request line or header it cannot parse, raw
  non-ASCII bytes in a path) is answered in JSON, as every other error of the mock is, not as
  uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

DEFAULT_REQUEST_TIMEOUT = 30.0
UNREADABLE = (
    "Invalid HTTP request: a malformed request line or header, bytes HTTP does not allow, "
    "or a line longer than the server reads"
)


def _answer(status: int, message: str) -> bytes:
    body = json.dumps({"error": message}).encode()
    head = STATUS_LINE.get(status) or f"HTTP/1.1 {status} \r\n".encode()
    return b"".join(
        [
            head,
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedProtocol(HttpToolsProtocol):
    request_timeout = DEFAULT_REQUEST_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._since: float | None = None  # when the request now arriving began; None: none

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._since = self.loop.time()
        _watch(self.loop, self.connections, self.request_timeout)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._since = self.loop.time()

    def on_message_complete(self) -> None:
        self._since = None  # whole: the app has it (idle time is uvicorn's keep-alive's)
        super().on_message_complete()

    def send_400_response(self, msg: str) -> None:
        self._since = None
        self.transport.write(_answer(400, UNREADABLE))
        self.transport.close()

    def too_slow(self, now: float) -> bool:
        return self._since is not None and now - self._since > self.request_timeout

    def cut_off(self) -> None:
        self._since = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            seconds = f"{self.request_timeout:g}"
            self.transport.write(_answer(408, f"the request did not arrive within {seconds} s"))
        self.transport.close()


# One watcher per server (its set of connections) looks at every connection a few times a
# timeout, instead of a timer per request (which cost some 4% of the throughput).
_watched: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[set[Any]]] = (
    weakref.WeakKeyDictionary()
)


def _watch(loop: asyncio.AbstractEventLoop, connections: set[Any], timeout: float) -> None:
    servers = _watched.setdefault(loop, [])
    if any(known is connections for known in servers):
        return
    servers.append(connections)
    every = min(1.0, timeout / 4)

    def sweep() -> None:
        now = loop.time()
        for conn in [c for c in connections if isinstance(c, GuardedProtocol) and c.too_slow(now)]:
            conn.cut_off()
        loop.call_later(every, sweep)

    loop.call_later(every, sweep)


def guarded(request_timeout: float) -> type[GuardedProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this timeout."""
    return type("GuardedProtocol", (GuardedProtocol,), {"request_timeout": request_timeout})
