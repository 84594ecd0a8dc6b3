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
- Tokens (XSUAA, https://help.sap.com/docs/sap-ai-core "Get an Auth Token"): `POST
  /oauth/token` takes the client credentials grant as a form, the client in the form (as SAP's
  Python SDK sends it) or in HTTP Basic, and answers an unsigned JWT-shaped token expiring
  43199 s later on the tenant's clock. The tenant is the client id; any client and secret are
  accepted except a client the `service_key` admin action issued, which needs its secret.
  Errors are OAuth2's (RFC 6749 section 5.2). The API itself still accepts any bearer token.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any
from urllib.parse import unquote

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
from mockserver.store import TenantStore

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
    if ctx.operation_id == TOKEN_OPERATION or ctx.url.endswith(TOKEN_PATH):  # also a 405
        return render_oauth_error(err)
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


# -- tokens (XSUAA) --------------------------------------------------------------------------
TOKEN_OPERATION = "oauth.token"
TOKEN_PATH = "/oauth/token"
TOKEN_LIFETIME = 43199  # what XSUAA answers: 12 hours less a second
TOKEN_SCOPE = "uaa.resource"
OAUTH_CODES = frozenset({"invalid_request", "invalid_client", "unsupported_grant_type"})
# RFC 6749 section 5.2 has codes for 400 and 401 only; other statuses (a wrong method, faults)
# get UAA's and RFC 6749's server codes.
OAUTH_SERVER_CODES = {
    405: "method_not_allowed",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}
SERVICE_KEY = "service_key"  # store kind: issued secrets by value (hidden by the admin API)


def render_oauth_error(err: MockError) -> dict[str, Any]:
    if err.status == 401:
        code = "invalid_client"
    elif err.status == 400:
        code = err.code if err.code in OAUTH_CODES else "invalid_request"
    else:
        code = OAUTH_SERVER_CODES.get(err.status, "server_error")
    return {"error": code, "error_description": err.message}


def _bad_client(message: str) -> Unauthorized:
    return Unauthorized(message, code="invalid_client")


def _client(call: Call) -> tuple[str, str]:
    """The client id and secret: from `Authorization: Basic` (form-encoded, RFC 6749 section
    2.3.1) when sent, else from the form fields."""
    scheme, _, given = call.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(given.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _bad_client("Bad credentials: unreadable HTTP Basic credentials") from None
        client_id, colon, secret = pair.partition(":")
        if not colon:
            raise _bad_client("Bad credentials: HTTP Basic credentials need 'id:secret'")
        return unquote(client_id), unquote(secret)
    body = call.body if isinstance(call.body, dict) else {}
    client_id, secret = body.get("client_id", ""), body.get("client_secret", "")
    return (
        (client_id, secret) if isinstance(client_id, str) and isinstance(secret, str) else ("", "")
    )


def token_tenant(call: Call) -> str:
    client_id, _ = _client(call)
    if not client_id:
        raise _bad_client("Full authentication is required: no client id")
    return client_id


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def issue_token(ctx: Ctx) -> Reply:
    client_id, secret = _client(ctx)
    grant = ctx.body["grant_type"]
    if not secret:
        raise _bad_client("Bad credentials: no client secret")
    if ctx.store.all(SERVICE_KEY) and ctx.store.find(SERVICE_KEY, secret) is None:
        raise _bad_client("Bad credentials")
    if grant != "client_credentials":
        raise Invalid(f"Unsupported grant type: {grant}", code="unsupported_grant_type")
    now, jti = int(ctx.now()), ctx.new_id()
    claims = {
        "jti": jti,
        "iss": f"{ctx.base_url}/oauth/token",
        "sub": client_id,
        "client_id": client_id,
        "cid": client_id,
        "azp": client_id,
        "zid": ctx.tenant,
        "grant_type": grant,
        "scope": [TOKEN_SCOPE],
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
    }
    token = ".".join((_part({"alg": "none", "typ": "JWT"}), _part(claims), "deploymock"))
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": TOKEN_SCOPE,
        "jti": jti,
    }
    return Reply(200, body, {"Cache-Control": "no-store"})


def tenant(call: Call) -> str:
    if call.operation_id == TOKEN_OPERATION:
        return token_tenant(call)
    return str(call.header["AI-Resource-Group"])


def service_key(store: TenantStore, args: dict[str, Any]) -> dict[str, Any]:
    """A service key for this tenant, as SAP's BTP cockpit shows one: `url` is the token
    endpoint's base (clients append `/oauth/token`), `serviceurls.AI_API_URL` the API's (clients
    append `/v2`); both are `base_url`, the provider's URL on the mock. Its client id is the
    tenant, and from now on a token for it needs its secret (the same one every time)."""
    base_url = str(args["base_url"]).rstrip("/")
    secret = "deploymock-" + hashlib.sha256(f"sap_ai_core:{store.tenant}".encode()).hexdigest()[:24]
    store.put(SERVICE_KEY, secret, {"clientid": store.tenant})
    return {
        "clientid": store.tenant,
        "clientsecret": secret,
        "url": base_url,
        "identityzone": store.tenant,
        "serviceurls": {"AI_API_URL": base_url},
    }


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
    tenant=tenant,
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
    admin={"service_key": service_key},
    secret_kinds=frozenset({SERVICE_KEY}),
    handlers={
        TOKEN_OPERATION: issue_token,
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
