"""Serving one provider: one request through named stages.

    route -> parse -> admit -> run -> answer

- route: the spec names the operation (404/405 otherwise).
- parse: the body is read as JSON (or as a form, where the operation declares one) and every
  parameter checked against the spec; what is wrong is kept, not raised, so the tenant can
  still be read from what was sent.
- admit: `Provider.authenticate` (when the operation has a security requirement), then the
  tenant, read once (`Provider.tenant`).
- run: under the tenant's lock, once: `Provider.before`, the refusal of an invalid request,
  faults, the handler, and the state file written for a change.
- answer: errors rendered in the vendor's format, the response checked against the spec
  (optional), the journal written; `serve` sends it, delayed, dropped or cut short by a fault.

Plain ASGI: Starlette's request machinery costs more than all of this.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from starlette.types import Receive, Scope, Send

from mockserver.errors import Invalid, MockError, PayloadTooLarge, Unimplemented
from mockserver.faults import Rule
from mockserver.mock import Mock, ServerError
from mockserver.provider import NO_HEADERS, Call, Ctx, Provider, Reply
from mockserver.spec import FORM, Operation
from mockserver.store import TenantStore


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


@dataclass(slots=True)
class Answer:
    """What a request gets: the reply, and the fault (if any) that delivers it."""

    reply: Reply
    fault: Rule | None = None


class FaultError(MockError):
    """The error a fault rule sends: the vendor's error body unless the rule brings its own."""

    def __init__(self, rule: Rule, headers: dict[str, str]) -> None:
        super().__init__(rule.message, status=rule.status, code=rule.code, headers=headers)
        self.rule = rule
        self.body = rule.body


# What `Provider.tenant` may raise on a request the spec refuses (it reads what was sent).
_UNREADABLE = (MockError, LookupError, TypeError, ValueError)


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
        answer = self.handle(scope, root, headers, raw)
        reply = answer.reply
        media = reply.media_type
        if reply.body is None:
            content = b""
        elif media.endswith("json"):
            content = encode_json(reply.body)
        else:
            content = str(reply.body).encode()
        out = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
        out.append((b"content-length", str(len(content)).encode()))
        if reply.body is not None:
            out.append((b"content-type", media.encode("latin-1")))
        start = {"type": "http.response.start", "status": reply.status, "headers": out}
        fault = answer.fault
        if fault is not None:
            delay = fault.delay()
            if delay:
                await self.mock.sleep(delay)
            if fault.kind in ("drop", "truncate"):
                if fault.kind == "truncate":
                    await send(start)
                    half = content[: len(content) // 2]
                    await send({"type": "http.response.body", "body": half, "more_body": True})
                await _hang_up(send)
                return
        await send(start)
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

    # -- the stages ---------------------------------------------------------------------------
    def handle(
        self, scope: Scope, root: str, headers: RequestHeaders, raw: bytes | MockError
    ) -> Answer:
        """One request through every stage; never raises."""
        call = self._call(scope, root, headers)
        query = scope.get("query_string", b"").decode("latin-1")
        op: Operation | None = None
        tenant = ""
        fault: Rule | None = None
        try:
            op = self._route(call, root)
            problem = self._parse(call, op, headers, query, raw)
            tenant = self._admit(call, op, problem)
            if problem is None and self.mock.faults.rules:
                fault = self.mock.faults.pick(self.name, op.operation_id, tenant, set(op.responses))
            reply = self._run(call, op, tenant, problem, fault)
        except MockError as err:
            if not tenant and op is not None:
                tenant = self._readable_tenant(call)
            reply = self._refusal(err, call, op)
            if isinstance(err, FaultError) and err.body is not None:
                reply = reply._replace(body=err.body)
            if isinstance(err, Unimplemented) or (
                isinstance(err, FaultError)
                and op is not None
                and err.rule.outside(set(op.responses))
            ):
                op = None  # nothing in the spec to hold this answer to
        except Exception as exc:  # a bug in the mock, never the client's fault
            self.mock.record_error(
                ServerError(self.name, tenant, call.operation_id, repr(exc), exc)
            )
            reply = self._error(MockError(f"Internal mock error: {exc!r}"), call)
            op = None  # already recorded; do not report its 500 again as a spec mismatch
        if op is not None and self.mock.validate_responses:
            reply = self._conforming(reply, op, call, tenant)
        self._journal(
            call, tenant, query, reply.status, len(raw) if isinstance(raw, bytes) else None
        )
        return Answer(reply, fault)

    def _call(self, scope: Scope, root: str, headers: RequestHeaders) -> Call:
        host = _GET(headers, "host") or "localhost"
        return Call(
            self.name,
            "",
            scope["method"],
            scope["path"],
            f"{scope.get('scheme', 'http')}://{host}{root}",
            headers,
            {},
            {},
            {},
            None,
            self.options,
            f"{next(self.mock.requests_seen):032x}",
        )

    def _route(self, call: Call, root: str) -> Operation:
        url = call.url
        op, call.path = self.spec.match(
            call.method, (url[len(root) :] if root and url.startswith(root) else url) or "/"
        )
        call.operation_id = op.operation_id
        return op

    def _parse(
        self, call: Call, op: Operation, headers: RequestHeaders, query: str, raw: bytes | MockError
    ) -> MockError | None:
        """Read the body and check the request; what is wrong with it, or None."""
        problem: MockError | None = None
        body, present = None, False
        if isinstance(raw, MockError):
            problem = raw
        else:
            try:
                if op.form and _media(_GET(headers, "content-type")) == FORM:
                    body, present = parse_form(raw)
                else:
                    body, present = parse_body(raw)
            except Invalid as err:
                problem = err
        checked = op.validate_request(
            call.path,
            parse_qs(query, keep_blank_values=True) if query else {},
            headers,
            body,
            present,
            _GET(headers, "content-type"),
        )
        call.path, call.query, call.header, call.body = (
            checked.path,
            checked.query,
            checked.header,
            body,
        )
        return problem or checked.invalid

    def _admit(self, call: Call, op: Operation, problem: MockError | None) -> str:
        """Authenticate, then read the tenant, once. For a request the spec refuses the
        tenant is read from what was sent; if it cannot be, the refusal is the answer."""
        if op.secured:
            self.provider.authenticate(call)
        if problem is None:
            return self.provider.tenant(call)
        try:
            return self.provider.tenant(call)
        except _UNREADABLE:
            raise problem from None

    def _readable_tenant(self, call: Call) -> str:
        """The tenant a refused request names, as far as it can be read (for the journal)."""
        try:
            return self.provider.tenant(call)
        except _UNREADABLE:
            return ""

    def _run(
        self, call: Call, op: Operation, tenant: str, problem: MockError | None, fault: Rule | None
    ) -> Reply:
        """Under the tenant's lock, once: `before`, the refusal, faults, the handler, commit."""
        mock, provider = self.mock, self.provider
        store = mock.store.tenant(self.name, tenant)
        with store.lock:
            ctx = self._ctx(call, tenant, store)
            early = provider.before(ctx) if provider.before is not None else NO_HEADERS
            try:
                reply = self._decide(ctx, op, problem, fault)
            except MockError as err:
                if early:
                    err.headers = {**early, **err.headers}
                raise
        if early:
            reply = reply._replace(headers={**early, **reply.headers})
        return reply

    def _decide(
        self, ctx: Ctx, op: Operation, problem: MockError | None, fault: Rule | None
    ) -> Reply:
        if problem is not None:
            raise problem
        handler = self.provider.handlers.get(op.operation_id)
        if handler is None:
            raise Unimplemented(f"{op.operation_id} is not implemented by this mock")
        mock = self.mock
        if fault is not None and fault.status is not None and not fault.after:
            raise self._fault_error(fault, ctx)
        reply = handler(ctx)
        if mock.persist is not None and ctx.method not in ("GET", "HEAD"):
            mock.commit(self.name, ctx.tenant)
        if fault is not None and fault.status is not None:
            raise self._fault_error(fault, ctx)  # `after`: the change happened
        return reply

    def _ctx(self, call: Call, tenant: str, store: TenantStore) -> Ctx:
        mock = self.mock
        return Ctx(
            call.provider,
            call.operation_id,
            call.method,
            call.url,
            call.base_url,
            call.headers,
            call.path,
            call.query,
            call.header,
            call.body,
            call.options,
            call.request_id,
            tenant,
            store,
            mock.clock_for(tenant),
            mock.store.ids,
            self.delays,
            mock.outcomes,
        )

    def _refusal(self, err: MockError, call: Call, op: Operation | None) -> Reply:
        if err.status == 413 and op is not None and "413" not in op.responses:
            err.status = 400  # the vendor documents no 413 here: its generic bad request
        return self._error(err, call)

    def _conforming(self, reply: Reply, op: Operation, call: Call, tenant: str) -> Reply:
        """The reply, or a 500 naming how it breaks the spec (recorded for the test)."""
        problems = op.validate_response(reply.status, reply.body)
        if not problems:
            return reply
        message = (
            f"response {reply.status} to {op.operation_id} does not match the spec: "
            + "; ".join(problems)
        )
        self.mock.record_error(ServerError(self.name, tenant, op.operation_id, message))
        return self._error(MockError(message), call)

    def _journal(self, call: Call, tenant: str, query: str, status: int, size: int | None) -> None:
        mock = self.mock
        mock.journal.record(
            (mock.clock_for(tenant) if tenant else mock.clock).now(),
            self.name,
            tenant,
            call.operation_id,
            call.method,
            call.url,
            query,
            status,
            call.request_id,
            call.body,
            body_size=size,
        )

    def _fault_error(self, fault: Rule, ctx: Ctx) -> FaultError:
        headers: dict[str, str] = {}
        if fault.status == 429:
            headers = self.provider.rate_limit_headers(fault.retry_after, ctx.now())
        return FaultError(fault, headers)

    def _error(self, err: MockError, call: Call) -> Reply:
        return Reply(err.status, self.provider.render_error(err, call), err.headers)


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
    """The JSON body and whether there was one; `Invalid` for bytes that are not JSON as
    RFC 8259 defines it: no NaN or Infinity, no number too large for a double, no lone
    surrogate (raw or escaped), valid UTF-8 (or UTF-16/32 with their BOM, which json.loads
    detects)."""
    if not raw.strip():
        return None, False
    try:
        utf8 = 0 < raw[0] < 0x80 and (len(raw) == 1 or raw[1])
        # What json.loads(bytes) would detect as UTF-8 is decoded strictly, without its
        # detection on every request; a BOM, UTF-16 or UTF-32 as json.loads decodes it.
        text = (
            raw.decode("utf-8") if utf8 else raw.decode(json.detect_encoding(raw), "surrogatepass")
        )
        body = _LOADS(text)
    except UnicodeDecodeError as exc:
        raise Invalid("Request body is not valid UTF-8", kind="body") from exc
    except (ValueError, RecursionError) as exc:
        raise Invalid(f"Request body is not valid JSON: {exc}", kind="body") from exc
    if (not utf8 or b"\\u" in raw) and _has_lone_surrogate(body):
        raise Invalid("Request body is not valid JSON: a lone surrogate in a string", kind="body")
    return body, True


def _media(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def parse_form(raw: bytes) -> tuple[dict[str, str], bool]:
    """An `application/x-www-form-urlencoded` body as a dict of strings (the first value of a
    repeated field) and whether there was one; `Invalid` for percent-escapes that are not
    UTF-8."""
    if not raw.strip():
        return {}, False
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Invalid(f"Request body is not a valid form: {exc}", kind="body") from exc
    return {name: values[0] for name, values in fields.items()}, True


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


_LOADS = json.JSONDecoder(parse_constant=_refuse_constant, parse_float=_finite).decode


def _has_lone_surrogate(value: Any) -> bool:
    """Whether a string anywhere in `value` holds half a surrogate pair (only escapes, or a
    UTF-16/32 body, can put one there: strict UTF-8 decoding refuses the raw bytes)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False
