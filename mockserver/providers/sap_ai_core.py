"""SAP AI Core deployments (AI API v2). PATCH changes the configuration or stops a deployment.

Semantics (../shared/reference/vendors.md section 1; https://help.sap.com/docs/sap-ai-core,
"Update a Deployment"; the spec `openapi/sap_ai_core.yaml` states every choice we made):

- A deployment goes UNKNOWN -> PENDING -> RUNNING as time passes; how PENDING ends can be decided
  by a test (RUNNING, DEAD, or stuck in PENDING).
- PATCH `configurationId` (from PENDING, RUNNING or DEAD) needs a configuration with the same
  scenarioId and executableId; the deployment goes back to PENDING with lastOperation UPDATE and
  keeps its URL; `latestRunningConfigurationId` moves only when it reaches RUNNING again.
- PATCH `targetStatus: STOPPED` (from PENDING or RUNNING) -> STOPPING -> STOPPED, for good.
- DELETE only from STOPPED, DEAD or UNKNOWN. DEAD deployments vanish 7 days after they died,
  and a deployment with a `ttl` vanishes when it runs out.
- Malformed or invalid requests are 400; a deployment whose status forbids the change is 412
  with code 01010076 (the one code SAP documents for it).
"""

from __future__ import annotations

import re
from typing import Any

from mockserver.clock import iso
from mockserver.provider import (
    Call,
    Ctx,
    Invalid,
    MockError,
    NotFound,
    PreconditionFailed,
    Provider,
    Record,
    Reply,
    TenantPlace,
    Unauthorized,
    public,
)
from mockserver.statemachine import Lifecycle, Step

DEAD_RETENTION = 7 * 24 * 3600.0
DELAYS = {"schedule": 1.0, "start": 5.0, "stop": 3.0, "delete": 0.0}
CONFIG_CHANGE_FROM = frozenset({"PENDING", "RUNNING", "DEAD"})
STOP_FROM = frozenset({"PENDING", "RUNNING"})
DELETE_FROM = frozenset({"STOPPED", "DEAD", "UNKNOWN"})
STATUS_FIELDS = ("id", "configurationId", "status", "createdAt", "modifiedAt")

# SAP's codes are opaque strings. 01010076 is documented; the others are ours (see the spec).
CODES = {
    400: "01010001",
    401: "01000401",
    404: "01010404",
    405: "01010405",
    412: "01010076",
    413: "01010413",
    500: "01000500",
    501: "01000501",
}
CONFIG_MISMATCH = "01010077"
TTL = re.compile(r"^([0-9]+)([mMhHdD])$")
TTL_UNIT = {"m": 60, "h": 3600, "d": 86400}


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


def render_error(err: MockError, ctx: Call) -> dict[str, Any]:
    error: dict[str, Any] = {
        "code": err.code or CODES.get(err.status, f"0101{err.status:04d}"),
        "message": err.message,
        "requestId": ctx.request_id,
        "target": ctx.url,
    }
    if err.details:
        error["details"] = [
            {
                "code": d.get("code", error["code"]),
                "message": d.get("message", "")
                if "field" not in d
                else f"{d['field']}: {d['message']}",
            }
            for d in err.details
        ]
    return {"error": error}


def authenticate(ctx: Call) -> None:
    scheme, _, token = ctx.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized(
            "Missing or invalid authorization: expected 'Authorization: Bearer <token>'"
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


def _config(ctx: Ctx, cid: str, error: type[MockError] = NotFound) -> Record:
    found = ctx.store.find("configuration", cid)
    if found is None:
        raise error(f"Configuration {cid} not found", kind="configuration")
    return found


def get_configuration(ctx: Ctx) -> Reply:
    return Reply(200, _config_view(ctx, _config(ctx, ctx.path["configurationId"])))


def _page(ctx: Ctx, items: list[Any]) -> list[Any]:
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
            "resources": [_config_view(ctx, c) for c in _page(ctx, found)],
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
    config = _config(ctx, ctx.body["configurationId"], Invalid)
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
    page = [_view(ctx, d, detail=False) for d in _page(ctx, found)]
    return Reply(200, {"count": len(found), "resources": page})


def count_deployments(ctx: Ctx) -> Reply:
    return Reply(200, len(_filtered(ctx)), media_type="text/plain")


def _conflict(dep: Record) -> PreconditionFailed:
    return PreconditionFailed(
        f"Invalid Request, Current status {dep['status']} cannot be changed.."
    )


def _change_configuration(ctx: Ctx, dep: Record, cid: str) -> None:
    new = _config(ctx, cid, Invalid)
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


# Contract hints (mockserver/contract/hints.py), derived from the lifecycle above and the states
# each action needs (vendors.md section 1.5): a deployment goes UNKNOWN -> PENDING -> RUNNING by
# itself, a configuration change back to PENDING and on to RUNNING or DEAD, a stop STOPPING ->
# STOPPED; an action in a state it does not allow is SAP's documented 412 (code 01010076), and
# a running deployment is stopped before the cleanup deletes it. What the lifecycle writes as
# time passes is volatile on a live server.
CONTRACT: dict[str, Any] = {
    "state": "/status",
    "transitional": sorted(LIFECYCLE.transitional),
    "failed": sorted(LIFECYCLE.failures),
    "volatile": [
        "/status",
        "/statusMessage",
        "/modifiedAt",
        "/deploymentUrl",
        "/latestRunningConfigurationId",
        "/startTime",
        "/completionTime",
    ],
    "forbidden": [
        {
            "operation": "deployment.modify",
            "body_keys": ["targetStatus"],
            "states": LIFECYCLE.refusing(STOP_FROM),
            "status": 412,
        },
        {
            "operation": "deployment.modify",
            "body_keys": ["configurationId"],
            "states": LIFECYCLE.refusing(CONFIG_CHANGE_FROM),
            "status": 412,
        },
        {
            "operation": "deployment.delete",
            "states": LIFECYCLE.refusing(DELETE_FROM),
            "status": 412,
        },
    ],
    "cleanup": {
        "deployment.delete": {"operation": "deployment.modify", "body": {"targetStatus": "STOPPED"}}
    },
}

PROVIDER = Provider(
    name="sap_ai_core",
    spec="sap_ai_core.yaml",
    tenant=lambda ctx: str(ctx.header["AI-Resource-Group"]),
    tenant_in=(TenantPlace("header", "AI-Resource-Group"),),
    authenticate=authenticate,
    render_error=render_error,
    client_headers=lambda tenant: {
        "Authorization": "Bearer deploymock",
        "AI-Resource-Group": tenant,
    },
    delays=DELAYS,
    outcomes=frozenset({"RUNNING", "DEAD", "PENDING"}),
    contract=CONTRACT,
    handlers={
        "configuration.create": create_configuration,
        "configuration.query": query_configurations,
        "configuration.get": get_configuration,
        "deployment.create": create_deployment,
        "deployment.query": query_deployments,
        "deployment.get": get_deployment,
        "deployment.modify": modify_deployment,
        "deployment.delete": delete_deployment,
        "deployment.batch_modify": batch_modify_deployments,
        "deployment.count": count_deployments,
    },
)
