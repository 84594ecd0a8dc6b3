"""What every WML operation shares: the error body, the caller, the container and its roles."""

from __future__ import annotations

import base64
import copy
import functools
import json
from collections.abc import Mapping
from typing import Any

from mockserver.clock import iso
from mockserver.provider import (
    Call,
    Ctx,
    Forbidden,
    Handler,
    Invalid,
    MockError,
    Record,
    Unauthorized,
)
from mockserver.store import TenantStore

DEFAULT_USER = "IBMid-deploymock"
ROLES = ("admin", "editor", "viewer")
OWNER_ROLES = frozenset({"admin", "editor"})
READ_METHODS = frozenset({"GET", "HEAD"})
CONTAINERS = ("space_id", "project_id")
NO_CONTAINER = "-"  # the tenant of a prompt probe that names no container

STATUS_CODES = {
    400: "invalid_input_argument",
    401: "authentication_token_not_valid",
    403: "authorization_rejected",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "request_entity_too_large",
    500: "internal_server_error",
    501: "not_implemented",
}
KIND_CODES = {
    "deployment": "deployment_does_not_exist",
    "model": "model_does_not_exist",
    "prompt": "prompt_does_not_exist",
}
# Where the core's request validation found a problem -> (WML code, target type).
PROBLEM_AT = {
    "body": ("json_validation_error", "field"),
    "query": ("invalid_input_argument", "parameter"),
    "path": ("invalid_input_argument", "parameter"),
    "header": ("invalid_input_argument", "header"),
}


# -- errors ----------------------------------------------------------------------------------
def _problem(detail: Mapping[str, Any]) -> dict[str, Any]:
    where, _, name = str(detail["field"]).partition(".")
    code, target = PROBLEM_AT.get(where, ("invalid_request_entity", "field"))
    entry: dict[str, Any] = {"code": code, "message": f"{detail['field']}: {detail['message']}"}
    if name:
        entry["target"] = {"type": target, "name": name}
    return entry


def _code(err: MockError) -> str:
    if err.code:
        return err.code
    if err.kind == "body":  # the core could not parse the body
        return "json_type_error"
    return KIND_CODES.get(err.kind or "", STATUS_CODES.get(err.status, "internal_server_error"))


def render_error(err: MockError, ctx: Call) -> dict[str, Any]:
    """The WML body: `{"trace", "errors": [{"code", "message", "target"?}], "status_code"}`."""
    errors = [_problem(d) for d in err.details if "field" in d]
    return {
        "trace": ctx.request_id,
        "errors": errors or [{"code": _code(err), "message": err.message}],
        "status_code": err.status,
    }


# -- the caller ------------------------------------------------------------------------------
def token_for(user_id: str, **claims: Any) -> str:
    """An unsigned JWT-shaped token naming `user_id` (the mock reads claims, never signatures)."""

    def part(data: Mapping[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return ".".join(
        (
            part({"alg": "none", "typ": "JWT"}),
            part({"iam_id": user_id, "sub": user_id, **claims}),
            "deploymock",
        )
    )


def _credentials(ctx: Call) -> tuple[str, str]:
    scheme, _, token = ctx.headers.get("authorization", "").partition(" ")
    return scheme.lower(), token.strip()


def authenticate(ctx: Call) -> None:
    # The Python SDK sends `Basic <token>` for a token without dots (client.py `_get_headers`).
    scheme, token = _credentials(ctx)
    if scheme not in ("bearer", "basic") or not token:
        raise Unauthorized(
            "Failed to authenticate the request due to invalid token: expected "
            "'Authorization: Bearer <token>'."
        )


def claims(ctx: Ctx) -> dict[str, Any]:
    """The payload of a Bearer JWT; empty for anything else."""
    scheme, token = _credentials(ctx)
    parts = token.split(".")
    if scheme != "bearer" or len(parts) != 3:
        return {}
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:  # bad base64 (binascii.Error), bad UTF-8 or bad JSON
        return {}
    return payload if isinstance(payload, dict) else {}


def caller(ctx: Ctx) -> str:
    found = claims(ctx)
    user = found.get("iam_id") or found.get("sub")
    return user if isinstance(user, str) and user else DEFAULT_USER


def _check_expiry(ctx: Ctx) -> None:
    exp = claims(ctx).get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= ctx.now():
        raise Unauthorized(
            "Failed to authenticate the request due to an expired token.",
            code="authentication_token_expired",
        )


# -- containers and roles --------------------------------------------------------------------
def container_key(kind: str, cid: str) -> str:
    """The tenant of a container: a space by its id, a project as `project:<id>`."""
    return cid if kind == "space_id" else f"project:{cid}"


def _named(source: Any) -> list[tuple[str, str]]:
    found = source if isinstance(source, dict) else {}
    return [(kind, found[kind]) for kind in CONTAINERS if kind in found]


def tenant(ctx: Call) -> str:
    if "space_id" in ctx.path:  # GET /v2/spaces/{space_id}
        return str(ctx.path["space_id"])
    given = _named(ctx.query)
    if ctx.method == "POST":  # the body schema requires exactly one of them
        body = _named(ctx.body)
        ctx.require(
            not given or given == body,
            _container_error(
                "The space_id or project_id query parameter must name the container of the body."
            ),
        )
        return container_key(*body[0])
    if len(given) == 1:
        return container_key(*given[0])
    if ctx.operation_id == "getPrompt":
        return NO_CONTAINER
    raise _container_error(
        "Exactly one of the query parameters space_id or project_id must be given."
    )


def _container_error(message: str) -> Invalid:
    return Invalid(message, details=[{"field": "query.space_id", "message": message}])


def role_of(store: TenantStore, user_id: str) -> str | None:
    """A member's role; with no members in the container, everybody is admin."""
    if not store.all("member"):
        return "admin"
    member = store.find("member", user_id)
    return None if member is None else str(member["role"])


def set_member(store: TenantStore, user_id: str, role: str | None) -> None:
    """Give `user_id` a role in this container, or (None) remove them from it."""
    if role is None:
        if store.find("member", user_id) is not None:
            store.delete("member", user_id)
        return
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    store.put("member", user_id, {"user_id": user_id, "role": role})


def authorized(handler: Handler) -> Handler:
    """Run `handler` only for a live token of a member allowed to make this call."""

    @functools.wraps(handler)
    def run(ctx: Ctx) -> Any:
        _check_expiry(ctx)
        role = role_of(ctx.store, caller(ctx))
        ctx.require(
            role is not None and (role != "viewer" or ctx.method in READ_METHODS),
            Forbidden(
                f"User '{caller(ctx)}' does not have the required role in the "
                "space or project to perform this action."
            ),
        )
        return handler(ctx)

    return run


# -- records ---------------------------------------------------------------------------------
def new_metadata(ctx: Ctx, rid: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata of a resource created now by the caller from a create body."""
    now = iso(ctx.now(), millis=True)
    meta: dict[str, Any] = {"id": rid, "name": body["name"]}
    meta.update({k: copy.deepcopy(body[k]) for k in ("description", "tags") if k in body})
    kind, cid = _named(body)[0]
    meta.update({kind: cid, "created_at": now, "modified_at": now, "owner": caller(ctx)})
    return meta


def touch(record: Record, ctx: Ctx) -> None:
    record["metadata"]["modified_at"] = iso(ctx.now(), millis=True)
