"""Notes: the smallest provider, for tests (see notes.yaml). A provider is this much code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mockserver.provider import (
    Call,
    Ctx,
    Invalid,
    MockError,
    NotFound,
    Provider,
    Reply,
    TenantPlace,
    Unauthorized,
    public,
)

KIND = "note"


def authenticate(call: Call) -> None:
    scheme, _, token = call.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("a bearer token is required")


def render_error(err: MockError, call: Call) -> dict[str, Any]:
    code = err.code or {400: "invalid", 401: "unauthorized", 404: "not_found"}.get(
        err.status, "error"
    )
    return {"error": {"code": code, "message": err.message}}


def _note(ctx: Ctx) -> dict[str, Any]:
    found = ctx.store.find(KIND, ctx.path["noteId"])
    if found is None:
        raise NotFound(f"no note {ctx.path['noteId']}")
    return found


def create_note(ctx: Ctx) -> Reply:
    nid = ctx.new_id()
    note = ctx.store.put(KIND, nid, {"id": nid, "title": ctx.body["title"], "text": ""})
    note["text"] = ctx.body.get("text", "")
    return Reply(201, public(note))


def get_note(ctx: Ctx) -> Reply:
    return Reply(200, public(_note(ctx)))


def update_note(ctx: Ctx) -> Reply:
    note = _note(ctx)
    ctx.require(isinstance(ctx.body, dict), Invalid("the body must be an object"))
    note.update(ctx.body)
    return Reply(200, public(note))


def delete_note(ctx: Ctx) -> Reply:
    _note(ctx)
    ctx.store.delete(KIND, ctx.path["noteId"])
    return Reply(204)


PROVIDER = Provider(
    name="notes",
    spec=str(Path(__file__).with_name("notes.yaml")),
    handlers={
        "createNote": create_note,
        "getNote": get_note,
        "updateNote": update_note,
        "deleteNote": delete_note,
    },
    tenant=lambda call: str(call.header["X-Tenant"]),
    tenant_in=(TenantPlace("header", "X-Tenant"),),
    authenticate=authenticate,
    render_error=render_error,
    client_headers=lambda tenant: {"Authorization": "Bearer notes", "X-Tenant": tenant},
    description="Notes: the smallest provider (a test fixture)",
)
