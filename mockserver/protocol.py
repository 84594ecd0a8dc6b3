"""uvicorn's HTTP protocol for `deploymock serve`, with two things a long-running mock needs.

- A request must arrive whole, headers and body, within `request_timeout` seconds of its first
  byte (or of the connection opening): uvicorn itself waits forever for a client that stops
  half-way through its headers, holding a connection each. Too slow: a 408, and closed.
- What uvicorn refuses before the app sees it (a request line or header it cannot parse, raw
  non-ASCII bytes in a path) is answered in JSON, as every other error of the mock is, not as
  uvicorn's plain text.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

DEFAULT_REQUEST_TIMEOUT = 30.0


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
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        self.transport.write(_answer(400, f"Invalid HTTP request: {msg.rstrip('.')}"))
        self.transport.close()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.request_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            seconds = f"{self.request_timeout:g}"
            self.transport.write(_answer(408, f"the request did not arrive within {seconds} s"))
        self.transport.close()


def guarded(request_timeout: float) -> type[GuardedProtocol]:
    """The protocol class for `uvicorn.Config(http=...)`, with this timeout."""
    return type("GuardedProtocol", (GuardedProtocol,), {"request_timeout": request_timeout})
