"""A synchronous httpx transport that calls an ASGI app in process, without a socket."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver.bridge import Exchange, call


class InProcessTransport(httpx.BaseTransport):
    """Each request runs the app to completion on the calling thread's event loop
    (`mockserver.bridge`). A fault that drops or cuts the connection raises what httpx raises
    for a server that hangs up: `httpx.RemoteProtocolError`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, _, query = request.url.raw_path.partition(b"?")
        exchange = Exchange(
            request.method,
            path.decode("latin-1"),
            query,
            [(name.lower(), value) for name, value in request.headers.raw],
            request.read(),
        )
        try:
            call(self.app, exchange)
        except ConnectionResetError as exc:
            message = (
                "peer closed connection without sending complete message body"
                if exchange.chunks
                else "Server disconnected without sending a response."
            )
            raise httpx.RemoteProtocolError(message, request=request) from exc
        return httpx.Response(
            exchange.status,
            headers=exchange.response_headers,
            content=exchange.content,
            request=request,
        )

    def close(self) -> None:
        """Nothing to release: kept so a transport can be closed like any other."""
