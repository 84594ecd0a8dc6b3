"""Deployments: their lifecycle, create, read, list, count, modify, delete, bulk modify."""

from __future__ import annotations

from typing import Any

from mockserver.clock import iso
from mockserver.provider import (
    Ctx,
    Invalid,
    MockError,
    NotFound,
    PreconditionFailed,
    Record,
    Reply,
    public,
)
from mockserver.providers.sap_ai_core.common import CONFIG_MISMATCH, TTL, TTL_UNIT, render_error
from mockserver.providers.sap_ai_core.configurations import find_config, page
from mockserver.statemachine import Lifecycle, Step

DEAD_RETENTION = 7 * 24 * 3600.0
DELAYS = {"schedule": 1.0, "start": 5.0, "stop": 3.0, "delete": 0.0}
CONFIG_CHANGE_FROM = frozenset({"PENDING", "RUNNING", "DEAD"})
STOP_FROM = frozenset({"PENDING", "RUNNING"})
DELETE_FROM = frozenset({"STOPPED", "DEAD", "UNKNOWN"})
STATUS_FIELDS = ("id", "configurationId", "status", "createdAt", "modifiedAt")


def _stamp(record: Record, at: float, *fields: str) -> None:
    for name in ("modifiedAt", *fields):
        record[name] = iso(at)


def _running(dep: Record, at: float) -> None:
    _stamp(dep, at, "startTime")
    dep.update(latestRunningConfigurationId=dep["configurationId"], deploymentUrl=dep["_url"])


def _dead(dep: Record, at: float) -> None:
    _stamp(dep, at, "completionTime")
    dep.update(_deadAt=at, statusMessage="Deployment failed to start with its configuration")


LIFECYCLE = Lifecycle(
    steps={
        "UNKNOWN": Step("PENDING", "schedule"),
        "PENDING": Step("RUNNING", "start", outcomes=frozenset({"DEAD", "PENDING"})),
        "STOPPING": Step("STOPPED", "stop"),
    },
    on_enter={
        "PENDING": _stamp,
        "RUNNING": _running,
        "DEAD": _dead,
        "STOPPING": _stamp,
        "STOPPED": lambda dep, at: _stamp(dep, at, "completionTime"),
    },
)


# -- deployments -----------------------------------------------------------------------------
def _settled(ctx: Ctx, dep: Record) -> Record | None:
    """Bring a deployment up to the clock; None when it no longer exists."""
    now = ctx.now()
    LIFECYCLE.settle(dep, now, ctx.delays, ctx.decider(dep["id"]))
    gone = (
        (dep["status"] == "DEAD" and now >= dep.get("_deadAt", now) + DEAD_RETENTION)
        or now >= dep.get("_deleteAt", float("inf"))
        or now > dep.get("_expiresAt", float("inf"))
    )
    if gone:
        ctx.store.delete("deployment", dep["id"])
        return None
    return dep


def _deployment(ctx: Ctx, did: str) -> Record:
    found = ctx.store.find("deployment", did)
    dep = _settled(ctx, found) if found is not None else None
    if dep is None:
        raise NotFound(f"Deployment {did} not found", kind="deployment")
    return dep


def _deployments(ctx: Ctx) -> list[Record]:
    out = []
    for dep in ctx.store.all("deployment"):
        settled = _settled(ctx, dep)
        if settled is not None:
            out.append(settled)
    return out


def create_deployment(ctx: Ctx) -> Reply:
    config = find_config(ctx, ctx.body["configurationId"], Invalid)
    did, now = ctx.new_id(), ctx.now()
    ttl = ctx.body.get("ttl")
    dep: Record = {
        "id": did,
        "deploymentUrl": "",
        "configurationId": config["id"],
        "configurationName": config["name"],
        "executableId": config["executableId"],
        "scenarioId": config["scenarioId"],
        "status": "UNKNOWN",
        "targetStatus": "RUNNING",
        "lastOperation": "CREATE",
        "ttl": ttl,
        "details": {"scaling": {"backendDetails": {}}, "resources": {"backendDetails": {}}},
        "createdAt": iso(now),
        "modifiedAt": iso(now),
        "submissionTime": iso(now),
        "statusDetails": {},
        "_url": f"{ctx.base_url}/v2/inference/deployments/{did}",
    }
    if ttl is not None:
        m = TTL.match(ttl)
        if m is None:
            raise Invalid(f"Invalid ttl {ttl!r}: expected an integer followed by m, h or d")
        dep["_expiresAt"] = now + int(m.group(1)) * TTL_UNIT[m.group(2).lower()]
    LIFECYCLE.enter(dep, "UNKNOWN", now)
    dep["modifiedAt"] = dep["createdAt"]
    ctx.store.put("deployment", did, dep)
    body = {"id": did, "message": "Deployment created.", "deploymentUrl": "", "status": "UNKNOWN"}
    if ttl is not None:
        body["ttl"] = ttl
    return Reply(202, body, {"Location": f"{ctx.url.rstrip('/')}/{did}"})


def _view(ctx: Ctx, dep: Record, *, detail: bool) -> dict[str, Any]:
    if ctx.query.get("$select") == "status":
        return public(dep, STATUS_FIELDS)
    out = public(dep)
    if not detail:
        out.pop("statusDetails", None)
    return out


def get_deployment(ctx: Ctx) -> Reply:
    return Reply(200, _view(ctx, _deployment(ctx, ctx.path["deploymentId"]), detail=True))


def _filtered(ctx: Ctx) -> list[Record]:
    q = ctx.query
    found = _deployments(ctx)
    for key in ("configurationId", "scenarioId", "status"):
        if key in q:
            found = [d for d in found if d[key] == q[key]]
    if "executableIds" in q:
        found = [d for d in found if d["executableId"] in q["executableIds"]]
    return found


def query_deployments(ctx: Ctx) -> Reply:
    found = _filtered(ctx)
    shown = [_view(ctx, d, detail=False) for d in page(ctx, found)]
    return Reply(200, {"count": len(found), "resources": shown})


def count_deployments(ctx: Ctx) -> Reply:
    return Reply(200, len(_filtered(ctx)), media_type="text/plain")


def _conflict(dep: Record) -> PreconditionFailed:
    return PreconditionFailed(
        f"Invalid Request, Current status {dep['status']} cannot be changed.."
    )


def _change_configuration(ctx: Ctx, dep: Record, cid: str) -> None:
    new = find_config(ctx, cid, Invalid)
    if (new["scenarioId"], new["executableId"]) != (dep["scenarioId"], dep["executableId"]):
        raise Invalid(
            f"Configuration {cid} has scenarioId {new['scenarioId']} and executableId "
            f"{new['executableId']}; the deployment needs {dep['scenarioId']} and "
            f"{dep['executableId']}",
            code=CONFIG_MISMATCH,
        )
    if dep["status"] not in CONFIG_CHANGE_FROM:
        raise _conflict(dep)
    dep.update(
        configurationId=cid,
        configurationName=new["name"],
        targetStatus="RUNNING",
        lastOperation="UPDATE",
        submissionTime=iso(ctx.now()),
    )
    dep.pop("statusMessage", None)
    dep.pop("_deadAt", None)
    LIFECYCLE.enter(dep, "PENDING", ctx.now())


def _stop(ctx: Ctx, dep: Record) -> None:
    if dep["status"] not in STOP_FROM:
        raise _conflict(dep)
    dep.update(targetStatus="STOPPED", lastOperation="UPDATE")
    LIFECYCLE.enter(dep, "STOPPING", ctx.now())


def _modify(ctx: Ctx, dep: Record, body: dict[str, Any]) -> None:
    has_config, has_target = "configurationId" in body, "targetStatus" in body
    if has_config == has_target:
        raise Invalid(
            "Exactly one of targetStatus and configurationId must be given"
            if has_config
            else "The request changes nothing: give targetStatus or configurationId"
        )
    if has_config:
        _change_configuration(ctx, dep, body["configurationId"])
    else:
        _stop(ctx, dep)


def modify_deployment(ctx: Ctx) -> Reply:
    dep = _deployment(ctx, ctx.path["deploymentId"])
    _modify(ctx, dep, ctx.body)
    return Reply(202, {"id": dep["id"], "message": "Deployment modification scheduled"})


def _delete(ctx: Ctx, dep: Record) -> None:
    if dep["status"] not in DELETE_FROM:
        raise _conflict(dep)
    now = ctx.now()
    dep.update(
        targetStatus="DELETED",
        lastOperation="DELETE",
        modifiedAt=iso(now),
        _deleteAt=now + ctx.delays.get("delete", 0.0),
    )


def delete_deployment(ctx: Ctx) -> Reply:
    dep = _deployment(ctx, ctx.path["deploymentId"])
    _delete(ctx, dep)
    body = {"id": dep["id"], "message": "Deployment deletion scheduled", "targetStatus": "DELETED"}
    if ctx.now() >= dep["_deleteAt"]:
        ctx.store.delete("deployment", dep["id"])
    return Reply(202, body)


def batch_modify_deployments(ctx: Ctx) -> Reply:
    """Each item is applied on its own; a failing item reports its error in place."""
    results: list[dict[str, Any]] = []
    for item in ctx.body["deployments"]:
        try:
            dep = _deployment(ctx, item["id"])
            if item["targetStatus"] == "DELETED":
                _delete(ctx, dep)
                message = "Deployment deletion scheduled"
            else:
                _stop(ctx, dep)
                message = "Deployment modification scheduled"
            results.append({"id": item["id"], "message": message})
        except MockError as err:
            results.append({"id": item["id"], **render_error(err, ctx)})
    return Reply(202, {"deployments": results})
