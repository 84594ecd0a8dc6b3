"""The four operations: deployment events, list, get and JSON Patch of one deployment.

A deployment is identified by (projectKey, environmentKey, applicationKey, version). Records are
the public `DeploymentRep` members plus `_projectKey`; the account's store holds them by id.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from mockserver.provider import Ctx, Invalid, Record, Reply, public
from mockserver.providers.launchdarkly import access, patch

KIND = "deployment"
WEEK_MS = 7 * 24 * 3600 * 1000
EXPANSIONS = ("pullRequests", "flagReferences")
ZERO = ("numberOfContributors", "numberOfPullRequests", "linesAdded", "linesDeleted", "leadTime")
ENDED = ("endedAt", "durationMs")


def now_ms(ctx: Ctx) -> int:
    return int(ctx.now() * 1000)


def _expanded(ctx: Ctx) -> list[str]:
    asked = str(ctx.query.get("expand", "")).split(",")
    return [name for name in EXPANSIONS if name in asked]


def view(ctx: Ctx, dep: Record) -> dict[str, Any]:
    # No source-control integration: the expansions are always empty collections.
    return public(dep, deep=True) | {
        name: {"totalCount": 0, "items": []} for name in _expanded(ctx)
    }


# -- deployment events -----------------------------------------------------------------------
def _same_app(dep: Record, body: Mapping[str, Any]) -> bool:
    return (dep["_projectKey"], dep["environmentKey"], dep["applicationKey"]) == (
        body["projectKey"],
        body["environmentKey"],
        body["applicationKey"],
    )


def _find(ctx: Ctx, body: Mapping[str, Any]) -> Record | None:
    return next(
        (
            d
            for d in ctx.store.all(KIND)
            if _same_app(d, body) and d["applicationVersion"] == body["version"]
        ),
        None,
    )


def _new(ctx: Ctx, body: Mapping[str, Any], at: int) -> Record:
    did = ctx.new_id("uuid")
    dep: Record = {
        "id": did,
        "applicationKey": body["applicationKey"],
        "applicationVersion": body["version"],
        "startedAt": at,
        "status": "started",
        "kind": "deployment",
        "active": True,
        "archived": False,
        "environmentKey": body["environmentKey"],
        **dict.fromkeys(ZERO, 0),
        "_projectKey": body["projectKey"],
    }
    return ctx.store.put(KIND, did, dep)


def _metadata(dep: Record, body: Mapping[str, Any]) -> Record:
    if "deploymentMetadata" in body:
        dep["metadata"] = copy.deepcopy(body["deploymentMetadata"])
    return dep


def _start(ctx: Ctx, dep: Record | None, body: Mapping[str, Any], at: int) -> Record:
    """Create the deployment, or restart it (same id, kind `redeployment`)."""
    if dep is None:
        dep = _new(ctx, body, at)
    else:
        dep.update(status="started", startedAt=at, kind="redeployment")
        for name in ENDED:
            dep.pop(name, None)
    for other in ctx.store.all(KIND):
        if _same_app(other, body):
            other["active"] = other is dep
    return _metadata(dep, body)


def _end(ctx: Ctx, dep: Record | None, body: Mapping[str, Any], at: int) -> Record:
    """finished / failed; a deployment never started is created first."""
    dep = dep or _start(ctx, None, body, at)
    dep.update(status=body["eventType"], endedAt=at, durationMs=max(0, at - dep["startedAt"]))
    return _metadata(dep, body)


def _custom(ctx: Ctx, dep: Record | None, body: Mapping[str, Any], at: int) -> Record | None:
    return dep


EVENTS: Mapping[str, Callable[[Ctx, Record | None, Mapping[str, Any], int], Record | None]] = {
    "started": _start,
    "finished": _end,
    "failed": _end,
    "custom": _custom,
}


def create_deployment_event(ctx: Ctx) -> Reply:
    body = ctx.body
    access.require_project(ctx, body["projectKey"])
    # The schema's integer admits 1796357000000.0 (JSON Schema counts integral numbers): kept
    # as the integer it is, as LaunchDarkly's int64 field would keep it.
    at = int(body.get("eventTime", now_ms(ctx)))
    EVENTS[body["eventType"]](ctx, _find(ctx, body), body, at)
    return Reply(201, None)


# -- list ------------------------------------------------------------------------------------
FILTERS: Mapping[str, Callable[[Record, Any], bool]] = {
    "projectKey": lambda d, v: d["_projectKey"] == v,
    "environmentKey": lambda d, v: d["environmentKey"] == v,
    "applicationKey": lambda d, v: d["applicationKey"] in str(v).split(","),
    "kind": lambda d, v: d["kind"] == v,
    "status": lambda d, v: d["status"] == v,
    "from": lambda d, v: d["startedAt"] >= v,
    "to": lambda d, v: d["startedAt"] <= v,
}


def _matching(ctx: Ctx) -> list[Record]:
    now = now_ms(ctx)
    query = {"from": now - WEEK_MS, "to": now, **ctx.query}
    found = [
        d
        for d in ctx.store.all(KIND)
        if all(test(d, query[name]) for name, test in FILTERS.items() if name in query)
    ]
    return sorted(found, key=lambda d: (-d["startedAt"], d["id"]))


def _cursor(ids: list[str], ctx: Ctx, name: str) -> int:
    try:
        return ids.index(ctx.query[name])
    except ValueError:
        raise Invalid(
            f"{name}={ctx.query[name]} is not a deployment of this list",
            details=[{"attribute": name, "reason": "must be the id of a deployment in this list"}],
        ) from None


def _page(ctx: Ctx, found: list[Record]) -> tuple[list[Record], bool]:
    """`after` / `before` cursors, then `limit`; and whether more items follow the page."""
    ids = [d["id"] for d in found]
    start = _cursor(ids, ctx, "after") + 1 if "after" in ctx.query else 0
    end = _cursor(ids, ctx, "before") if "before" in ctx.query else len(found)
    limit = ctx.query.get("limit", 20)
    if "before" in ctx.query and "after" not in ctx.query:
        start = max(0, end - limit)  # the page just before the cursor
    page = found[start : max(start, min(end, start + limit))]
    return page, start + len(page) < len(found)


def _link(ctx: Ctx, query: Mapping[str, Any]) -> dict[str, str]:
    return {"href": f"{ctx.url}?{urlencode(query)}", "type": "application/json"}


def get_deployments(ctx: Ctx) -> Reply:
    access.require_project(ctx, ctx.query["projectKey"])
    found = _matching(ctx)
    page, more = _page(ctx, found)
    links = {"self": _link(ctx, ctx.query)}
    if more:
        after = {k: v for k, v in ctx.query.items() if k != "before"} | {"after": page[-1]["id"]}
        links["next"] = _link(ctx, after)
    items = [view(ctx, d) for d in page]
    return Reply(200, {"totalCount": len(found), "items": items, "_links": links})


# -- one deployment --------------------------------------------------------------------------
def _deployment(ctx: Ctx) -> Record:
    did = ctx.path["deploymentID"]
    return access.visible(ctx, ctx.store.find(KIND, did), did)


def get_deployment(ctx: Ctx) -> Reply:
    return Reply(200, view(ctx, _deployment(ctx)))


def update_deployment(ctx: Ctx) -> Reply:
    dep = _deployment(ctx)
    ops = ctx.body["patch"] if isinstance(ctx.body, dict) else ctx.body
    updated = patch.apply(public(dep, deep=True), ops)
    kept = {k: v for k, v in dep.items() if k.startswith("_")}
    ctx.store.put(KIND, dep["id"], updated | kept)
    return Reply(200, updated)
