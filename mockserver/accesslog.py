"""The access log of `deploymock serve`: a line per answered request, as uvicorn writes it.

uvicorn's own access log formats every line through `logging` and costs about half the mock's
throughput; this one formats with one f-string and writes the lines of one event-loop turn with
one write, after the answers went out.

    INFO:     127.0.0.1:50312 - "PATCH /sap_ai_core/v2/lm/deployments/d1 HTTP/1.1" 202 Accepted
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus
from typing import IO, Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_PHRASES = {s.value: s.phrase for s in HTTPStatus}


class AccessLog:
    """ASGI middleware writing one line per HTTP answer to `stream` (text, e.g. stderr)."""

    def __init__(self, app: ASGIApp, stream: IO[str]) -> None:
        self.app = app
        self.stream = stream
        self._lines: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0

        async def sent(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            if status:
                self._add(scope, status)

    def _add(self, scope: Scope, status: int) -> None:
        client = scope.get("client")
        who = f"{client[0]}:{client[1]}" if client else "-"
        query = scope.get("query_string", b"")
        target = scope.get("raw_path") or scope["path"].encode()
        if query:
            target += b"?" + query
        line = (
            f'INFO:     {who} - "{scope["method"]} {target.decode("latin-1")} '
            f'HTTP/{scope.get("http_version", "1.1")}" {status} {_PHRASES.get(status, "")}\n'
        )
        self._lines.append(line)
        if len(self._lines) == 1:
            _soon(self.flush)

    def flush(self) -> None:
        lines, self._lines = self._lines, []
        if lines:
            self.stream.write("".join(lines))
            self.stream.flush()


def _soon(callback: Any) -> None:
    try:
        asyncio.get_running_loop().call_soon(callback)
    except RuntimeError:  # no loop (a synchronous caller): write at once
        callback()
