"""Online deployments: `initializing -> ready`, and JSON Patch updates that may restart them.

A restart patch (asset, prompt template, base model, hardware) answers 202 and puts the
deployment in `updating`; it ends `ready` with the new values, or `failed` with the previous
values restored and `entity.status.failure` set (a different model framework always fails).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from mockserver.provider import Conflict, Ctx, Forbidden, Invalid, NotFound, Reply
from mockserver.providers.ibm_wml import models, patch
from mockserver.providers.ibm_wml.common import (
    OWNER_ROLES,
    caller,
    new_metadata,
    role_of,
    touch,
)
from mockserver.statemachine import Lifecycle, Step
from mockserver.store import Record

DELAYS = {"initialize": 10.0, "update": 10.0}
BUSY = frozenset({"initializing", "updating"})
DEFAULT_LIMIT = 100
ENTITY_KEYS = (
    "asset",
    "prompt_template",
    "online",
    "custom",
    "hardware_spec",
    "hardware_request",
    "base_model_id",
    "base_deployment_id",
)
# What a failed restart puts back as it was.
RESTART_FIELDS = (
    "asset",
    "prompt_template",
    "base_model_id",
    "hardware_spec",
    "hardware_request",
    "deployed_asset_type",
)
# Model types (by prefix) that give a deployment its `deployed_asset_type`.
ASSET_TYPES = ("custom_foundation_model", "curated_foundation_model", "prompt_tune")
SCHEMA_WARNING = (  # seed 001, word for word
    "The input schema of the asset being patched does not match with the currently deployed "
    "asset. Please ensure that the score payloads are up to date as per the asset being patched."
)
FAILURES = {
    "deployment_creation_failed": "Deployment creation failed.",
    "deployment_patch_failed": "Deployment update failed; the previous asset is still deployed.",
}
FIELDS = {
    "name": "metadata",
    "description": "metadata",
    "tags": "metadata",
    "owner": "metadata",
    **{key: "entity" for key in ENTITY_KEYS if key != "base_deployment_id"},
}
RULES: patch.Rules = {
    "/name": patch.Rule(patch.SET),
    "/description": patch.Rule(patch.EDIT),
    "/tags": patch.Rule(patch.EDIT, nested=True),
    "/custom": patch.Rule(patch.EDIT, nested=True),
    "/online/parameters": patch.Rule(patch.EDIT, nested=True),
    "/owner": patch.Rule(patch.REPLACE, owner=True),
    "/asset": patch.Rule(patch.REPLACE, restart=True, alone=True),
    "/prompt_template": patch.Rule(patch.REPLACE, restart=True, alone=True),
    "/base_model_id": patch.Rule(patch.REPLACE, restart=True),
    "/hardware_spec": patch.Rule(patch.SET, restart=True),
    "/hardware_request": patch.Rule(patch.SET, restart=True),
}
ALIASES = {"/metadata/owner": "/owner"}  # the Python SDK's OWNER meta path


def _ready(dep: Record, at: float) -> None:
    dep.pop("_previous", None)
    dep.pop("_fail", None)


def _failed(dep: Record, at: float) -> None:
    previous = dep.pop("_previous", None)
    code = "deployment_patch_failed" if previous is not None else "deployment_creation_failed"
    for key, value in (previous or {}).items():
        if value is None:
            dep["entity"].pop(key, None)
        else:
            dep["entity"][key] = value
    message = dep.pop("_fail", None) or FAILURES[code]
    dep["_failure"] = {"trace": dep["_trace"], "errors": [{"code": code, "message": message}]}


LIFECYCLE = Lifecycle(
    steps={
        "initializing": Step("ready", "initialize", outcomes=frozenset({"failed", "initializing"})),
        "updating": Step("ready", "update", outcomes=frozenset({"failed", "updating"})),
    },
    on_enter={"ready": _ready, "failed": _failed},
)

# Contract hints (mockserver/contract/hints.py), from vendors.md section 2.4: a deployment goes
# `initializing -> ready`, a restart patch `updating -> ready`, or `failed` with the previous
# values back; the SDK polls `entity.status.state` while it is initializing or updating. A
# restart patch of a busy deployment is a 409 here (IBM does not say which error it is:
# vendors.md open question 4). The status (state, message, failure, urls) and `modified_at`
# move on their own.
CONTRACT: dict[str, Any] = {
    "state": "/entity/status/state",
    "transitional": sorted(LIFECYCLE.transitional),
    "failed": sorted(LIFECYCLE.failures),
    "volatile": ["/entity/status", "/metadata/modified_at"],
    "forbidden": [
        {
            "operation": "deploymentsUpdate",
            "patch_paths": [path for path, rule in RULES.items() if rule.restart],
            "states": sorted(BUSY),
            "status": 409,
        }
    ],
}


# -- reading ---------------------------------------------------------------------------------
def _settled(ctx: Ctx, dep: Record) -> Record:
    queued = ctx.decider(dep["metadata"]["id"])
    # A restart that cannot work (another framework) fails whatever a test queued.
    LIFECYCLE.settle(
        dep, ctx.now(), ctx.delays, lambda step: "failed" if dep.get("_fail") else queued(step)
    )
    return dep


def _deployment(ctx: Ctx, did: str) -> Record:
    dep = ctx.store.find("deployment", did)
    if dep is None:
        raise NotFound(
            f"Deployment with id '{did}' does not exist. Re-try with a valid deployment id.",
            kind="deployment",
        )
    return _settled(ctx, dep)


def serving_name(entity: Record) -> str | None:
    name = entity.get("online", {}).get("parameters", {}).get("serving_name")
    return name if isinstance(name, str) else None


def _status(ctx: Ctx, dep: Record) -> dict[str, Any]:
    base = f"{ctx.base_url}/ml/v4/deployments"
    url = f"{base}/{dep['metadata']['id']}/predictions"
    name = serving_name(dep["entity"])
    named = [f"{base}/{name}/predictions"] if name else []
    status: dict[str, Any] = {"state": dep["status"]}
    status.update({key[1:]: dep[key] for key in ("_message", "_failure") if key in dep})
    status.update(
        online_url={"url": url},
        serving_urls=named,
        inference=[{"url": url}] + [{"url": u, "uses_serving_name": True} for u in named],
    )
    return status


def _view(ctx: Ctx, dep: Record) -> dict[str, Any]:
    return copy.deepcopy(
        {"metadata": dep["metadata"], "entity": {**dep["entity"], "status": _status(ctx, dep)}}
    )


def get_deployment(ctx: Ctx) -> Reply:
    return Reply(200, _view(ctx, _deployment(ctx, ctx.path["deployment_id"])))


# -- listing ---------------------------------------------------------------------------------
FILTERS: dict[str, Callable[[Record], Iterable[Any]]] = {
    "serving_name": lambda d: [serving_name(d["entity"])],
    "tag.value": lambda d: d["metadata"].get("tags", []),
    "asset_id": lambda d: [d["entity"].get("asset", {}).get("id")],
    "prompt_template_id": lambda d: [d["entity"].get("prompt_template", {}).get("id")],
    "name": lambda d: [d["metadata"]["name"]],
    "type": lambda d: [
        d["entity"].get("deployed_asset_type"),
        "prompt_template" if "prompt_template" in d["entity"] else None,
    ],
    "state": lambda d: [d["status"]],
}


def _href(ctx: Ctx, start: int) -> str:
    query = {
        k: str(v).lower() if isinstance(v, bool) else v
        for k, v in ctx.query.items()
        if k != "start"
    }
    if start:
        query["start"] = str(start)
    return f"{ctx.base_url}/ml/v4/deployments?{urlencode(query)}"


def _start(ctx: Ctx) -> int:
    token = str(ctx.query.get("start", "0"))
    if not (token.isdigit() and len(token) <= 18):  # an offset this mock handed out
        message = f"Invalid start token '{token}': take it from next.href."
        raise Invalid(message, details=[{"field": "query.start", "message": message}])
    return int(token)


def list_deployments(ctx: Ctx) -> Reply:
    q = ctx.query
    found = [
        d
        for d in (_settled(ctx, d) for d in ctx.store.all("deployment"))
        if all(q[key] in test(d) for key, test in FILTERS.items() if key in q)
    ]
    start, limit = _start(ctx), q.get("limit", DEFAULT_LIMIT)
    body: dict[str, Any] = {
        "limit": limit,
        "first": {"href": _href(ctx, start)},
        "resources": [_view(ctx, d) for d in found[start : start + limit]],
    }
    if start + limit < len(found):
        body["next"] = {"href": _href(ctx, start + limit)}
    if q.get("total_count"):
        body["total_count"] = len(found)
    return Reply(200, body)


# -- creating and deleting -------------------------------------------------------------------
def _check_serving_name(ctx: Ctx, name: str | None, did: str | None = None) -> None:
    taken = name is not None and any(
        serving_name(d["entity"]) == name and d["metadata"]["id"] != did
        for d in ctx.store.all("deployment")
    )
    ctx.require(
        not taken,
        Conflict(
            f"The serving name '{name}' is already used by another deployment.",
            code="serving_name_conflict",
        ),
    )


def _asset_type(model: Record) -> str | None:
    kind = str(model["entity"].get("type", ""))
    return next((t for t in ASSET_TYPES if kind.startswith(t)), None)


def create_deployment(ctx: Ctx) -> Reply:
    body = ctx.body
    entity = {key: copy.deepcopy(body[key]) for key in ENTITY_KEYS if key in body}
    if "asset" in body:
        kind = _asset_type(models.find(ctx, body["asset"]["id"], body["asset"].get("rev")))
    else:
        kind = "foundation_model"
    _set_type(entity, kind)
    _check_serving_name(ctx, serving_name(entity))
    dep: dict[str, Any] = {"entity": entity, "_trace": ctx.request_id}
    dep["metadata"] = new_metadata(ctx, ctx.new_id("uuid"), body)
    LIFECYCLE.enter(dep, "initializing", ctx.now())
    ctx.store.put("deployment", dep["metadata"]["id"], dep)
    return Reply(202, _view(ctx, dep))


def delete_deployment(ctx: Ctx) -> Reply:
    dep = _deployment(ctx, ctx.path["deployment_id"])
    ctx.store.delete("deployment", dep["metadata"]["id"])
    return Reply(204, None)


# -- patching --------------------------------------------------------------------------------
def _framework(model: Record | None) -> str | None:
    return None if model is None else str(model["entity"].get("type", "")).rsplit("_", 1)[0]


def _input_schema(model: Record | None) -> Any:
    return None if model is None else model["entity"].get("schemas", {}).get("input")


def _swap_notes(ctx: Ctx, dep: Record, new: Record) -> dict[str, Any]:
    """What replacing the deployed model with `new` notes on the deployment's status."""
    old_asset = dep["entity"].get("asset")
    try:
        old = models.find(ctx, old_asset["id"], old_asset.get("rev")) if old_asset else None
    except NotFound:  # the deployed model was deleted since; nothing to compare with
        old = None
    notes: dict[str, Any] = {}
    if _input_schema(new) != _input_schema(old):
        notes["_message"] = {"level": "warning", "text": SCHEMA_WARNING}
    if old is not None and _framework(new) != _framework(old):
        notes["_fail"] = (
            f"Deployment update failed: model '{new['metadata']['id']}' is "
            f"'{_framework(new)}', not compatible with the deployed "
            f"'{_framework(old)}'. The previous asset is still deployed."
        )
    return notes


def _set_type(entity: Record, kind: str | None) -> None:
    if kind is None:
        entity.pop("deployed_asset_type", None)
    else:
        entity["deployed_asset_type"] = kind


def _check_owner(ctx: Ctx, owner: str) -> None:
    ctx.require(
        role_of(ctx.store, caller(ctx)) == "admin",
        Forbidden("Only an admin of the space or project can change the deployment owner."),
    )
    ctx.require(
        role_of(ctx.store, owner) in OWNER_ROLES,
        Invalid(
            f"The new owner '{owner}' must be an admin or editor of the space or project.",
            code=patch.INVALID_ENTITY,
        ),
    )


def _restart(ctx: Ctx, dep: Record, previous: dict[str, Any], notes: dict[str, Any]) -> None:
    for key in ("_message", "_failure", "_fail"):
        dep.pop(key, None)
    dep.update(notes, _previous=previous, _trace=ctx.request_id)
    LIFECYCLE.enter(dep, "updating", ctx.now())


def update_deployment(ctx: Ctx) -> Reply:
    dep = _deployment(ctx, ctx.path["deployment_id"])
    ops, changes = patch.rules_for(RULES, ctx.body, ALIASES)
    restart = any(rule.restart for _, rule in changes)
    ctx.require(
        not (restart and dep["status"] in BUSY),
        Conflict(
            f"Deployment '{dep['metadata']['id']}' is {dep['status']}; retry when it is ready.",
            code="deployment_update_in_progress",
        ),
    )
    new = patch.apply(patch.document(dep, FIELDS), ops, "DeploymentPatchTarget")
    if any(rule.owner for _, rule in changes):
        _check_owner(ctx, new["owner"])
    if serving_name(new) != serving_name(dep["entity"]):
        _check_serving_name(ctx, serving_name(new), dep["metadata"]["id"])
    swapped = any(op["path"] == "/asset" for op, _ in changes)
    model = models.find(ctx, new["asset"]["id"], new["asset"].get("rev")) if swapped else None
    notes = _swap_notes(ctx, dep, model) if model is not None else {}
    previous = {key: copy.deepcopy(dep["entity"].get(key)) for key in RESTART_FIELDS}
    patch.store(dep, FIELDS, new)
    if model is not None:
        _set_type(dep["entity"], _asset_type(model))
    touch(dep, ctx)
    if not restart:
        return Reply(200, _view(ctx, dep))
    _restart(ctx, dep, previous, notes)
    return Reply(202, _view(ctx, dep))
