"""A synchronous httpx transport that calls an ASGI app in process, without a socket."""

from __future__ import annotations

from typing import Any

import httpx

from mockserver.bridge import Exchange, call


class InProcessTransport(httpx.BaseTransport):
    """Each request runs the app to completion on the calling thread's event loop
    (`mockserver.bridge`). A fault that drops or cuts the connection raises what httpx raises
    for a server that hangs up: `httpx.RemoteProtocolError`."""

    def __init__(self, app: Any, *, admin_token: bool = True) -> None:
        self.app = app
        # In process is the test's own side: it sends the app's admin token, if it has one
        # (`admin_token=False`: as a stranger would, to test the admin API's guard).
        state = getattr(app, "state", None)
        token = getattr(getattr(state, "mock", None), "admin_token", None)
        self._admin = [(b"x-deploymock-token", token.encode())] if token and admin_token else []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path, _, query = request.url.raw_path.partition(b"?")
        headers = [(name.lower(), value) for name, value in request.headers.raw]
        if self._admin and b"/__admin" in path and b"x-deploymock-token" not in dict(headers):
            headers += self._admin
        exchange = Exchange(request.method, path.decode("latin-1"), query, headers, request.read())
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
