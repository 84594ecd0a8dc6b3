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

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mockserver.clock import iso
from mockserver.faults import Rule

if TYPE_CHECKING:
    from mockserver.app import Mock


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise AdminError(400, f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise AdminError(400, "body must be a JSON object")
    return body


def _str_or_none(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise AdminError(400, f"{key} must be a string")
    return value


def admin_app(mock: Mock) -> Starlette:
    def provider_arg(value: str | None) -> str | None:
        if value is not None and value not in mock.providers:
            raise AdminError(404, f"unknown provider {value!r}; known: {', '.join(mock.providers)}")
        return value

    def clock_view(tenant: str | None) -> dict[str, Any]:
        clock = mock.clock_for(tenant) if tenant else mock.clock
        now = clock.now()
        return {
            "now": now,
            "iso": iso(now),
            "frozen": mock.clock.frozen,
            "tenant": tenant,
            "offset": getattr(clock, "offset", 0.0),
        }

    async def index(request: Request) -> dict[str, Any]:
        return {
            "providers": list(mock.providers),
            "clock": clock_view(None),
            "journal_size": mock.journal.size,
            "validate_responses": mock.validate_responses,
        }

    async def reset(request: Request) -> dict[str, Any]:
        body = await _json(request)
        provider = provider_arg(_str_or_none(body, "provider"))
        tenant = _str_or_none(body, "tenant")
        return {
            "reset": mock.reset(provider=provider, tenant=tenant),
            "provider": provider,
            "tenant": tenant,
        }

    async def clock(request: Request) -> dict[str, Any]:
        if request.method == "GET":
            return clock_view(request.query_params.get("tenant"))
        body = await _json(request)
        tenant = _str_or_none(body, "tenant")
        if body.get("freeze"):
            mock.clock.freeze()
        if body.get("unfreeze"):
            mock.clock.unfreeze()
        if "advance" in body:
            seconds = body["advance"]
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise AdminError(400, "advance must be a number of seconds >= 0")
            (mock.clock_for(tenant) if tenant else mock.clock).advance(float(seconds))
        mock.save_clocks()
        return clock_view(tenant)

    async def requests(request: Request) -> Any:
        q = request.query_params
        provider = provider_arg(q.get("provider"))
        if request.method == "DELETE":
            mock.journal.clear(provider=provider, tenant=q.get("tenant"))
            return {"cleared": True}
        limit = q.get("limit")
        if limit is not None and not limit.isdigit():
            raise AdminError(400, "limit must be a whole number")
        entries = mock.journal.entries(
            provider=provider,
            tenant=q.get("tenant"),
            operation_id=q.get("operationId"),
            limit=int(limit) if limit else None,
        )
        return {"requests": [e.as_dict() for e in entries]}

    async def state(request: Request) -> Any:
        q = request.query_params
        return mock.store.dump(provider_arg(q.get("provider")), q.get("tenant"))

    async def outcomes(request: Request) -> Any:
        if request.method == "GET":
            q = request.query_params
            return {
                "outcomes": mock.outcomes.pending(provider_arg(q.get("provider")), q.get("tenant"))
            }
        body = await _json(request)
        name = provider_arg(_str_or_none(body, "provider"))
        tenant, outcome = _str_or_none(body, "tenant"), _str_or_none(body, "outcome")
        if name is None or tenant is None or outcome is None:
            raise AdminError(400, "provider, tenant and outcome are required")
        allowed = mock.providers[name].outcomes
        if outcome not in allowed:
            raise AdminError(400, f"outcome must be one of {sorted(allowed)}")
        mock.outcomes.push(name, tenant, outcome, resource=_str_or_none(body, "id") or "*")
        with mock.store.locked(name, tenant):
            mock.commit(name, tenant)
        return {"queued": mock.outcomes.pending(name, tenant)}

    async def provider_action(request: Request) -> Any:
        name = provider_arg(request.path_params["provider"])
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
        except (ValueError, TypeError) as err:
            raise AdminError(400, str(err)) from err
        return {"result": result}

    async def faults(request: Request) -> Any:
        if request.method == "GET":
            return {"faults": [r.as_dict() for r in mock.faults.rules]}
        if request.method == "DELETE":
            q = request.query_params
            return {
                "removed": mock.faults.remove(
                    id=q.get("id"), provider=provider_arg(q.get("provider")), tenant=q.get("tenant")
                )
            }
        body = await _json(request)
        provider_arg(_str_or_none(body, "provider"))
        try:
            rule = mock.add_fault(Rule.from_dict(body))
        except ValueError as err:
            raise AdminError(400, str(err)) from err
        return rule.as_dict()

    async def options(request: Request) -> Any:
        name = provider_arg(request.path_params["provider"])
        assert name is not None
        if request.method == "GET":
            return dict(mock.options_of(name))
        return mock.patch_options(name, await _json(request))

    async def errors(request: Request) -> Any:
        return {
            "errors": [
                {
                    "provider": e.provider,
                    "tenant": e.tenant,
                    "operationId": e.operation_id,
                    "message": e.message,
                }
                for e in mock.errors
            ]
        }

    def endpoint(
        fn: Callable[[Request], Awaitable[Any]],
    ) -> Callable[[Request], Awaitable[JSONResponse]]:
        async def run(request: Request) -> JSONResponse:
            try:
                return JSONResponse(await fn(request))
            except AdminError as err:
                return JSONResponse({"error": err.message}, status_code=err.status)

        return run

    return Starlette(
        routes=[
            Route("/", endpoint(index), methods=["GET"]),
            Route("/reset", endpoint(reset), methods=["POST"]),
            Route("/clock", endpoint(clock), methods=["GET", "POST"]),
            Route("/requests", endpoint(requests), methods=["GET", "DELETE"]),
            Route("/state", endpoint(state), methods=["GET"]),
            Route("/outcomes", endpoint(outcomes), methods=["GET", "POST"]),
            Route("/errors", endpoint(errors), methods=["GET"]),
            Route("/faults", endpoint(faults), methods=["GET", "POST", "DELETE"]),
            Route("/options/{provider}", endpoint(options), methods=["GET", "PATCH"]),
            Route("/providers/{provider}/{action}", endpoint(provider_action), methods=["POST"]),
        ]
    )
