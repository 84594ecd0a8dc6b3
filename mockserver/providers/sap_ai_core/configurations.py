"""Configurations: create, read, list (immutable once made)."""

from __future__ import annotations

from typing import Any

from mockserver.clock import iso
from mockserver.provider import (
    Ctx,
    MockError,
    NotFound,
    Record,
    Reply,
    public,
)


# -- configurations --------------------------------------------------------------------------
def create_configuration(ctx: Ctx) -> Reply:
    cid = ctx.new_id("uuid")
    body = ctx.body
    ctx.store.put(
        "configuration",
        cid,
        {
            "id": cid,
            "name": body["name"],
            "executableId": body["executableId"],
            "scenarioId": body["scenarioId"],
            "parameterBindings": body.get("parameterBindings", []),
            "inputArtifactBindings": body.get("inputArtifactBindings", []),
            "createdAt": iso(ctx.now()),
        },
    )
    location = f"{ctx.url.rstrip('/')}/{cid}"
    return Reply(201, {"id": cid, "message": "Configuration created"}, {"Location": location})


def _scenario(config: Record) -> dict[str, Any]:
    return {
        "id": config["scenarioId"],
        "name": config["scenarioId"],
        "description": "",
        "labels": [],
        "createdAt": config["createdAt"],
        "modifiedAt": config["createdAt"],
    }


def _config_view(ctx: Ctx, config: Record) -> dict[str, Any]:
    out = public(config)
    if ctx.query.get("$expand") == "scenario":
        out["scenario"] = _scenario(config)
    return out


def find_config(ctx: Ctx, cid: str, error: type[MockError] = NotFound) -> Record:
    found = ctx.store.find("configuration", cid)
    if found is None:
        raise error(f"Configuration {cid} not found", kind="configuration")
    return found


def get_configuration(ctx: Ctx) -> Reply:
    return Reply(200, _config_view(ctx, find_config(ctx, ctx.path["configurationId"])))


def page(ctx: Ctx, items: list[Any]) -> list[Any]:
    skip = ctx.query.get("$skip", ctx.query.get("skip", 0))
    top = ctx.query.get("$top", ctx.query.get("top"))
    return items[skip:] if top is None else items[skip : skip + top]


def query_configurations(ctx: Ctx) -> Reply:
    q = ctx.query
    found = ctx.store.all("configuration")
    if "scenarioId" in q:
        found = [c for c in found if c["scenarioId"] == q["scenarioId"]]
    if "executableIds" in q:
        found = [c for c in found if c["executableId"] in q["executableIds"]]
    if q.get("$search"):
        needle = q["$search"]
        fold = q.get("searchCaseInsensitive", False) in (True, "True", "true")
        found = [
            c
            for c in found
            if (needle.lower() in c["name"].lower() if fold else needle in c["name"])
        ]
    return Reply(
        200,
        {
            "count": len(found),
            "resources": [_config_view(ctx, c) for c in page(ctx, found)],
        },
    )
