"""`/__admin`: thin HTTP over the same `Mock` object the pytest fixtures use.

POST   /__admin/reset      {"provider"?, "tenant"?}            forget state (scoped)
GET    /__admin/clock      ?tenant=                            read the clock
POST   /__admin/clock      {"advance"?, "freeze"?, "unfreeze"?, "tenant"?}
GET    /__admin/requests   ?provider=&tenant=&operationId=&limit=
DELETE /__admin/requests   ?provider=&tenant=
GET    /__admin/state      ?provider=&tenant=                  dump the store
GET    /__admin/outcomes   ?provider=&tenant=
POST   /__admin/outcomes   {"provider", "tenant", "outcome", "id"?}
GET    /__admin/errors                                         mock-side errors so far
POST   /__admin/providers/{provider}/{action}  {"tenant", ...} a provider's own setting
GET    /__admin/faults                                         fault rules and their counters
POST   /__admin/faults     {"kind", "provider"?, "operationId"?, "tenant"?, "status"?, ...}
DELETE /__admin/faults     ?id=&provider=&tenant=
GET    /__admin/options/{provider}                             a provider's effective options
PATCH  /__admin/options/{provider}  merge patch (RFC 7386)     change them while serving
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver.clock import iso
from mockserver.dispatch import parse_body
from mockserver.errors import Invalid
from mockserver.faults import Rule

if TYPE_CHECKING:
    from mockserver.journal import Entry
    from mockserver.mock import Mock


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _json(request: Request) -> dict[str, Any]:
    """The request's JSON object body (RFC 8259, as provider bodies); 413 past `max_body`."""
    limit = _mock(request).max_body
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise AdminError(413, f"body is larger than {limit} bytes")
        chunks.append(chunk)
    try:
        body, present = parse_body(b"".join(chunks))
    except Invalid as exc:
        raise AdminError(400, f"body is not JSON: {exc.message}") from exc
    if not present:
        return {}
    if not isinstance(body, dict):
        raise AdminError(400, "body must be a JSON object")
    return body


def _str_or_none(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise AdminError(400, f"{key} must be a string")
    return value


# -- who may use it --------------------------------------------------------------------------
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
TOKEN_HEADER = "x-deploymock-token"


def _admit(request: Request) -> None:
    """The admin API is the test's own side's: refuse a web page and a neighbour.

    - Host must name this machine (a one-label name, an IP literal, or a name the server was
      told about): a DNS-rebinding page sends its own domain name.
    - Origin, when a browser sends one, must be the admin API's own: a cross-site page's
      request is refused before it does anything.
    - A write with a body must be JSON: the request types a page may send without asking
      (form posts, text/plain) are refused.
    - With a token (`deploymock serve` makes one per process), it must come as
      `Authorization: Bearer <token>` or `X-Deploymock-Token`.
    """
    mock = _mock(request)
    host = request.headers.get("host", "")
    if not _local(_hostname(host), mock.admin_hosts):
        raise AdminError(403, f"Host {host!r} is not this machine; admin requests must name it")
    origin = request.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in (f"http://{host}", f"https://{host}"):
        raise AdminError(403, f"cross-origin admin requests are refused (Origin {origin!r})")
    if mock.admin_token is not None:
        given = request.headers.get(TOKEN_HEADER) or _bearer(request.headers.get("authorization"))
        if given is None or not hmac.compare_digest(given.encode(), mock.admin_token.encode()):
            raise AdminError(401, "the admin API needs its token: Authorization: Bearer <token>")
    if request.method in WRITES and _has_body(request):
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media != "application/json":
            raise AdminError(415, "admin requests with a body must be application/json")


def _hostname(host: str) -> str:
    if host.startswith("["):
        return host[1 : host.find("]")].lower()
    return host.rpartition(":")[0].lower() if host.count(":") == 1 else host.lower()


def _local(name: str, extra: frozenset[str]) -> bool:
    """A name only this machine or its own network gives out: one label (`localhost`, or the
    in-process `deploymock`), `*.localhost`, an IP literal, or a name the server was told.
    A rebinding page's name is a public, dotted one."""
    if "." not in name or name.endswith(".localhost") or name in extra:
        return True
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _bearer(value: str | None) -> str | None:
    scheme, _, token = (value or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


# -- secrets -----------------------------------------------------------------------------------
def redacted(secret: str) -> str:
    """A secret as the admin API shows it: enough to tell two apart, nothing to reuse."""
    return "redacted:" + hashlib.sha256(secret.encode()).hexdigest()[:12]


def _shown_state(mock: Mock, dump: dict[str, Any]) -> dict[str, Any]:
    for provider, tenants in dump.items():
        named = mock.providers[provider].secret_tenant_kinds
        for tenant in [t for t, records in tenants.items() if named & set(records)]:
            tenants[redacted(tenant)] = tenants.pop(tenant)
        for kind in mock.providers[provider].secret_kinds:
            for records in tenants.values():
                if kind in records:
                    records[kind] = {redacted(k): v for k, v in records[kind].items()}
    return dump


# Body members that are credentials wherever they appear (OAuth2 clients, IAM API keys,
# Keystone passwords): the journal keeps what a client sent, the admin API shows them redacted.
SECRET_MEMBERS = frozenset(
    {"client_secret", "password", "apikey", "api_key", "refresh_token", "access_token", "secret"}
)


def _shown_entry(mock: Mock, entry: Entry) -> Entry:
    """An entry with its body's credentials redacted, and its tenant too when a credential
    names it (IAM's token requests: the API key is the tenant)."""
    provider = mock.providers.get(entry.provider)
    secret = entry.tenant in _secrets_in(entry.body) or (
        provider is not None and entry.operation_id in provider.secret_tenant_operations
    )
    tenant = redacted(entry.tenant) if secret and entry.tenant else entry.tenant
    return entry._replace(tenant=tenant, body=_shown_body(entry.body))


def _secrets_in(body: Any) -> set[str]:
    if isinstance(body, dict):
        found = {v for k, v in body.items() if k in SECRET_MEMBERS and isinstance(v, str)}
        return found.union(*(_secrets_in(v) for v in body.values()))
    if isinstance(body, list):
        return set().union(*(_secrets_in(v) for v in body))
    return set()


def _shown_body(body: Any) -> Any:
    if isinstance(body, dict):
        return {
            k: redacted(v) if k in SECRET_MEMBERS and isinstance(v, str) else _shown_body(v)
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [_shown_body(v) for v in body]
    return body


def _shown_options(mock: Mock, provider: str, options: dict[str, Any]) -> dict[str, Any]:
    for name in mock.providers[provider].secret_options:
        if isinstance(options.get(name), dict):
            options[name] = {redacted(k): v for k, v in options[name].items()}
    return options


def _mock(request: Request) -> Mock:
    mock: Mock = request.app.state.mock
    return mock


def _provider(mock: Mock, value: str | None) -> str | None:
    if value is not None and value not in mock.providers:
        raise AdminError(404, f"unknown provider {value!r}; known: {', '.join(mock.providers)}")
    return value


def _clock_view(mock: Mock, tenant: str | None) -> dict[str, Any]:
    clock = mock.clock_for(tenant) if tenant else mock.clock
    now = clock.now()
    return {
        "now": now,
        "iso": iso(now),
        "frozen": mock.clock.frozen,
        "tenant": tenant,
        "offset": getattr(clock, "offset", 0.0),
    }


async def index(request: Request) -> Any:
    mock = _mock(request)
    return {
        "providers": list(mock.providers),
        "clock": _clock_view(mock, None),
        "journal_size": mock.journal.size,
        "validate_responses": mock.validate_responses,
    }


async def reset(request: Request) -> Any:
    mock, body = _mock(request), await _json(request)
    provider = _provider(mock, _str_or_none(body, "provider"))
    tenant = _str_or_none(body, "tenant")
    dropped = mock.reset(provider=provider, tenant=tenant)
    return {"reset": dropped, "provider": provider, "tenant": tenant}


async def read_clock(request: Request) -> Any:
    return _clock_view(_mock(request), request.query_params.get("tenant"))


async def change_clock(request: Request) -> Any:
    mock, body = _mock(request), await _json(request)
    tenant = _str_or_none(body, "tenant")
    if body.get("freeze"):
        mock.freeze(True)
    if body.get("unfreeze"):
        mock.freeze(False)
    if "advance" in body:
        mock.advance(body["advance"], tenant)
    return _clock_view(mock, tenant)


async def read_requests(request: Request) -> Any:
    mock, q = _mock(request), request.query_params
    limit = q.get("limit")
    if limit is not None and not (limit.isdigit() and len(limit) <= 9):
        raise AdminError(400, "limit must be a whole number below 10**9")
    entries = mock.journal.entries(
        provider=_provider(mock, q.get("provider")),
        tenant=q.get("tenant"),
        operation_id=q.get("operationId"),
        limit=int(limit) if limit else None,
    )
    return {"requests": [_shown_entry(mock, e).as_dict() for e in entries]}


async def clear_requests(request: Request) -> Any:
    mock, q = _mock(request), request.query_params
    mock.journal.clear(provider=_provider(mock, q.get("provider")), tenant=q.get("tenant"))
    return {"cleared": True}


async def state(request: Request) -> Any:
    mock, q = _mock(request), request.query_params
    return _shown_state(mock, mock.store.dump(_provider(mock, q.get("provider")), q.get("tenant")))


async def read_outcomes(request: Request) -> Any:
    mock, q = _mock(request), request.query_params
    return {"outcomes": mock.outcomes.pending(_provider(mock, q.get("provider")), q.get("tenant"))}


async def queue_outcome(request: Request) -> Any:
    mock, body = _mock(request), await _json(request)
    name = _provider(mock, _str_or_none(body, "provider"))
    tenant, outcome = _str_or_none(body, "tenant"), _str_or_none(body, "outcome")
    if name is None or tenant is None or outcome is None:
        raise AdminError(400, "provider, tenant and outcome are required")
    resource = _str_or_none(body, "id") or "*"
    return {"queued": mock.queue_outcome(name, tenant, outcome, resource)}


async def provider_action(request: Request) -> Any:
    mock = _mock(request)
    name = _provider(mock, request.path_params["provider"])
    assert name is not None
    args = await _json(request)
    tenant = args.pop("tenant", None)
    if not isinstance(tenant, str) or not tenant:
        raise AdminError(400, "tenant (a string) is required")
    try:
        result = mock.admin(name, request.path_params["action"], tenant, args)
    except KeyError as err:
        if err.args and str(err.args[0]).startswith(name):
            raise AdminError(404, str(err.args[0])) from err
        raise AdminError(400, f"missing argument {err}") from err
    return {"result": result}


async def read_faults(request: Request) -> Any:
    return {"faults": [r.as_dict() for r in _mock(request).faults.rules]}


async def add_fault(request: Request) -> Any:
    mock, body = _mock(request), await _json(request)
    _provider(mock, _str_or_none(body, "provider"))
    return mock.add_fault(Rule.from_dict(body)).as_dict()


async def remove_faults(request: Request) -> Any:
    mock, q = _mock(request), request.query_params
    provider = _provider(mock, q.get("provider"))
    return {
        "removed": mock.faults.remove(id=q.get("id"), provider=provider, tenant=q.get("tenant"))
    }


async def read_options(request: Request) -> Any:
    mock = _mock(request)
    name = _provider(mock, request.path_params["provider"])
    assert name is not None
    return _shown_options(mock, name, dict(mock.options_of(name)))


async def patch_options(request: Request) -> Any:
    mock = _mock(request)
    name = _provider(mock, request.path_params["provider"])
    assert name is not None
    return _shown_options(mock, name, mock.patch_options(name, await _json(request)))


async def errors(request: Request) -> Any:
    found = _mock(request).errors
    return {
        "errors": [
            {
                "provider": e.provider,
                "tenant": e.tenant,
                "operationId": e.operation_id,
                "message": e.message,
            }
            for e in found
        ]
    }


def _endpoint(
    fn: Callable[[Request], Awaitable[Any]],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def run(request: Request) -> JSONResponse:
        try:
            _admit(request)
            return JSONResponse(await fn(request))
        except AdminError as err:
            return JSONResponse({"error": err.message}, status_code=err.status)
        except (ValueError, TypeError) as err:  # the Mock refused the arguments
            return JSONResponse({"error": str(err)}, status_code=400)

    return run


ROUTES: list[tuple[str, str, Callable[[Request], Awaitable[Any]]]] = [
    ("GET", "/", index),
    ("POST", "/reset", reset),
    ("GET", "/clock", read_clock),
    ("POST", "/clock", change_clock),
    ("GET", "/requests", read_requests),
    ("DELETE", "/requests", clear_requests),
    ("GET", "/state", state),
    ("GET", "/outcomes", read_outcomes),
    ("POST", "/outcomes", queue_outcome),
    ("GET", "/errors", errors),
    ("GET", "/faults", read_faults),
    ("POST", "/faults", add_fault),
    ("DELETE", "/faults", remove_faults),
    ("GET", "/options/{provider}", read_options),
    ("PATCH", "/options/{provider}", patch_options),
    ("POST", "/providers/{provider}/{action}", provider_action),
]


def admin_app(mock: Mock) -> Starlette:
    """The admin API over `mock`: one route per method, each a verb the `Mock` owns."""
    app = Starlette(
        routes=[Route(path, _endpoint(fn), methods=[method]) for method, path, fn in ROUTES]
    )
    app.state.mock = mock
    return app
