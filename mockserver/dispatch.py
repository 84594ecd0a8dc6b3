"""Serving one provider: route by its spec, authenticate, validate, run the handler, answer.

The order for every request: route -> authenticate (when the operation has a security
requirement) -> `Provider.before` -> parse and validate the request against the spec -> tenant
-> faults -> the handler under the tenant's lock (and the state file written, for a change) ->
errors rendered in the vendor's format -> the response checked against the spec (optional) ->
journal. Plain ASGI: Starlette's request machinery costs more than all of this.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import Receive, Scope, Send

from mockserver.errors import Invalid, MockError, PayloadTooLarge, Unimplemented
from mockserver.faults import Rule
from mockserver.mock import Mock, ServerError
from mockserver.providers.base import Ctx, Provider


class RequestHeaders(dict[str, str]):
    """Request headers by lowercase name (ASGI sends names lowercased); the first value wins."""

    @classmethod
    def from_asgi(cls, raw: Iterable[tuple[bytes, bytes]]) -> RequestHeaders:
        pairs = raw if isinstance(raw, list | tuple) else list(raw)
        # Filled last to first, so the first of repeated headers is the one kept.
        return cls({n.decode("latin-1").lower(): v.decode("latin-1") for n, v in reversed(pairs)})

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


_STDLIB_JSON = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps builds one per call
_GET = dict.get  # header lookups by a name already lowercase, skipping RequestHeaders.get


class ProviderApp:
    """One vendor's API, served from its spec by its handler table (plain ASGI, no framework)."""

    def __init__(self, mock: Mock, provider: Provider) -> None:
        self.mock = mock
        self.provider = provider
        self.name = provider.name
        self.spec = mock.specs[provider.name]
        self.delays = {**provider.delays, **mock.delays.get(provider.name, {})}
        # Live: a change through the admin API or a fixture is seen by the next request.
        self.options = mock.options_of(provider.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.serve(scope, receive, send, scope.get("root_path", ""))

    async def serve(self, scope: Scope, receive: Receive, send: Send, root: str) -> None:
        """Answer one HTTP request; `root` is the path this app is mounted at (the ASGI
        root_path), passed apart so a mount does not copy the scope for every request."""
        headers = RequestHeaders.from_asgi(scope["headers"])
        try:
            raw: bytes | MockError = await self._read(receive, headers)
        except MockError as err:
            raw = err
        status, body, extra, fault = self.handle(scope, root, headers, raw)
        media = extra.pop("Content-Type", "application/json") if extra else "application/json"
        if body is None:
            content = b""
        elif media.endswith("json"):
            content = encode_json(body)
        else:
            content = str(body).encode()
        out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in extra.items()]
        out.append((b"content-length", str(len(content)).encode()))
        if body is not None:
            out.append((b"content-type", media.encode("latin-1")))
        if fault is not None:
            delay = fault.delay()
            if delay:
                await self.mock.sleep(delay)
            if fault.kind in ("drop", "truncate"):
                if fault.kind == "truncate":
                    await send({"type": "http.response.start", "status": status, "headers": out})
                    half = content[: len(content) // 2]
                    await send({"type": "http.response.body", "body": half, "more_body": True})
                await _hang_up(send)
                return
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": content})

    async def _read(self, receive: Receive, headers: RequestHeaders) -> bytes:
        limit = self.mock.max_body
        declared = _GET(headers, "content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        message = await receive()
        if message["type"] != "http.request":
            return b""
        body: bytes = message.get("body", b"")
        if len(body) > limit:
            raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
        if not message.get("more_body", False):
            return body  # the whole body in one message: the usual case
        chunks = [body]
        size = len(body)
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    def _ctx(self, scope: Scope, root: str, headers: RequestHeaders) -> Ctx:
        host = _GET(headers, "host") or "localhost"
        return Ctx(
            self.name,
            "",
            scope["method"],
            scope["path"],
            f"{scope.get('scheme', 'http')}://{host}{root}",
            headers,
            request_id=f"{next(self.mock.requests_seen):032x}",
            ids=self.mock.store.ids,
            outcomes=self.mock.outcomes,
            delays=self.delays,
            options=self.options,
        )

    def handle(
        self, scope: Scope, root: str, headers: RequestHeaders, raw: bytes | MockError
    ) -> tuple[int, Any, dict[str, str], Rule | None]:
        mock, provider, name = self.mock, self.provider, self.name
        ctx = self._ctx(scope, root, headers)
        route_path = ctx.url[len(root) :] if root and ctx.url.startswith(root) else ctx.url
        query = scope.get("query_string", b"").decode("latin-1")
        op = None
        fault = None
        early: dict[str, str] = {}
        try:
            op, path_params = self.spec.match(ctx.method, route_path or "/")
            ctx.operation_id = op.operation_id
            if op.secured:
                provider.authenticate(ctx)
            if provider.before is not None:
                ctx.path = dict(path_params)
                self._enter_tenant(ctx)
                ts = mock.store.tenant(name, ctx.tenant)
                with ts.lock:
                    ctx.store = ts
                    early = dict(provider.before(ctx))
            if isinstance(raw, MockError):
                raise raw
            body, present = parse_body(raw)
            ctx.path, ctx.query, ctx.header = op.validate_request(
                path_params,
                parse_qs(query, keep_blank_values=True) if query else {},
                headers,
                body,
                present,
                _GET(headers, "content-type"),
            )
            ctx.body = body
            if provider.before is None:
                self._enter_tenant(ctx)
            handler = provider.handlers.get(op.operation_id)
            if handler is None:
                raise Unimplemented(f"{op.operation_id} is not implemented by this mock")
            if mock.faults.rules:
                fault = mock.faults.pick(name, op.operation_id, ctx.tenant, set(op.responses))
            if fault is not None and fault.status is not None and not fault.after:
                raise self._fault_error(fault, ctx)
            ts = mock.store.tenant(name, ctx.tenant)
            with ts.lock:
                ctx.store = ts
                reply = handler(ctx)
                if mock.persist is not None and ctx.method not in ("GET", "HEAD"):
                    mock.commit(name, ctx.tenant)
            if fault is not None and fault.status is not None:
                raise self._fault_error(fault, ctx)  # `after`: the change happened
            status, out = reply[0], reply[1]
            headers_out = dict(reply[2]) if len(reply) == 3 else {}
        except MockError as err:
            if err.status == 413 and op is not None and "413" not in op.responses:
                err.status = 400  # the vendor documents no 413 here: its generic bad request
            status, out, headers_out = self._error(err, ctx)
            if isinstance(err, Unimplemented) or (fault is not None and fault.allow_undocumented):
                op = None  # nothing in the spec to hold this answer to
        except Exception as exc:  # a bug in the mock, never the client's fault
            mock.record_error(ServerError(name, ctx.tenant, ctx.operation_id, repr(exc), exc))
            status, out, headers_out = self._error(MockError(f"Internal mock error: {exc!r}"), ctx)
            op = None  # already recorded; do not report its 500 again as a spec mismatch
        if mock.validate_responses and op is not None:
            problems = op.validate_response(status, out)
            if problems:
                message = (
                    f"response {status} to {op.operation_id} does not match the spec: "
                    + "; ".join(problems)
                )
                mock.record_error(ServerError(name, ctx.tenant, op.operation_id, message))
                status, out, headers_out = self._error(MockError(message), ctx)
        mock.journal.record(
            (ctx.clock or mock.clock).now(),
            name,
            ctx.tenant,
            ctx.operation_id,
            ctx.method,
            ctx.url,
            query,
            status,
            ctx.request_id,
            ctx.body,
        )
        if early:
            headers_out = {**early, **headers_out}
        return status, out, headers_out, fault

    def _enter_tenant(self, ctx: Ctx) -> None:
        ctx.tenant = self.provider.tenant(ctx)
        ctx.clock = self.mock.clock_for(ctx.tenant)

    def _fault_error(self, fault: Rule, ctx: Ctx) -> MockError:
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers = self.provider.rate_limit_headers(fault.retry_after, ctx.now())
        return MockError(fault.message, status=fault.status, code=fault.code, headers=headers)

    def _error(self, err: MockError, ctx: Ctx) -> tuple[int, Any, dict[str, str]]:
        return err.status, self.provider.render_error(err, ctx), dict(err.headers)


async def _hang_up(send: Send) -> None:
    """Close the connection without finishing the answer (a dropped or reset connection).

    Over a socket (uvicorn) the transport is aborted; in process there is none, so the client
    gets the `ConnectionResetError` the way it would get a network error.
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise ConnectionResetError("deploymock fault: the connection was dropped")
    transport.abort()
    await asyncio.sleep(0)  # let the server see the connection go before the app returns


def encode_json(body: Any) -> bytes:
    """Compact UTF-8 JSON. orjson writes it several times faster than the standard library;
    what orjson declines (integers beyond 64 bits, non-string keys) the standard library writes.
    """
    try:
        return orjson.dumps(body)
    except TypeError:
        return _STDLIB_JSON(body).encode()


def parse_body(raw: bytes) -> tuple[Any, bool]:
    """The JSON body and whether there was one; `Invalid` for bytes that are not JSON."""
    if not raw.strip():
        return None, False
    try:
        if 0 < raw[0] < 0x80 and (len(raw) == 1 or raw[1]):
            # What json.loads(bytes) would detect as UTF-8, decoded the way it decodes it,
            # without its encoding detection in Python on every request.
            return json.loads(raw.decode("utf-8", "surrogatepass")), True
        return json.loads(raw), True  # a BOM, UTF-16 or UTF-32: json.loads works it out
    except UnicodeDecodeError as exc:
        raise Invalid("Request body is not valid UTF-8", kind="body") from exc
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"Request body is not valid JSON: {exc}", kind="body") from exc
