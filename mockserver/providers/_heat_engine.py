"""Heat software configs and software deployments: the one engine behind `openstack_heat` and
`huawei_rts` (Huawei RTS runs Heat). What differs between the two is data (`Flavor`): the name
of the project path parameter, the identity service named in 401 challenges, and whether
AK/SK-signed requests (huaweicloudsdkcore) are accepted. Discovery skips this module (its name
starts with `_`); each provider module builds its `Provider` with `build(Flavor(...))`.

Semantics (../shared/reference/vendors.md sections 3 and 4; the specs state every choice):

- There is no asynchronous state machine: a deployment's status is whatever clients (the
  server-side agent, or a test) PUT, so no delays and no outcomes exist.
- PUT keeps only `config_id`, `input_values`, `output_values`, `action`, `status`,
  `status_reason`; a null or falsy value leaves the stored field unchanged; the dicts replace.
  A non-zero `deploy_status_code` does not change the status sent (Heat's update path never
  looks at outputs; only its signal path, which is not part of this API, does).
- Errors are Heat's FaultWrapper body, whatever raised them (core validation included).
- Tokens: any non-empty `X-Auth-Token` is accepted for any project unless it was bound to a
  project through the provider option `tokens` (token -> project); a bound token used on
  another project's path answers 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from mockserver.clock import iso
from mockserver.errors import PayloadTooLarge
from mockserver.provider import (
    Call,
    Conflict,
    Ctx,
    Forbidden,
    Invalid,
    MockError,
    NotFound,
    Provider,
    Record,
    Reply,
    TenantPlace,
    Unauthorized,
    public,
)

CONFIG, DEPLOYMENT = "software_config", "software_deployment"
UPDATABLE = ("config_id", "input_values", "output_values", "action", "status", "status_reason")
SUMMARY = ("id", "name", "group", "creation_time")
INPUT_DEFAULTS: Mapping[str, Any] = {"type": "String"}
OUTPUT_DEFAULTS: Mapping[str, Any] = {"type": "String", "error_output": False}
SIGNED_PREFIX = "SDK-HMAC-SHA256 "

# webob explanation per status; the title is the HTTP reason phrase, the default error type the
# webob exception class (Heat's own exceptions name themselves through `MockError.code`).
EXPLANATIONS = {
    400: "The server could not comply with the request since it is either malformed or "
    "otherwise incorrect.",
    401: "This server could not verify that you are authorized to access the document you "
    "requested. Either you supplied the wrong credentials (e.g., bad password), or your "
    "browser does not understand how to supply the credentials required.",
    403: "Access was denied to this resource.",
    404: "The resource could not be found.",
    405: "The method specified is not allowed for this resource.",
    409: "There was a conflict when trying to complete your request.",
    413: "The body of your request was too large for this server.",
    500: "The server has either erred or is incapable of performing the requested operation.",
    501: "The server has not implemented the requested method.",
}
WEBOB_TYPES = {
    400: "HTTPBadRequest",
    401: "HTTPUnauthorized",
    403: "HTTPForbidden",
    404: "HTTPNotFound",
    405: "HTTPMethodNotAllowed",
    409: "HTTPConflict",
    413: "HTTPRequestEntityTooLarge",
    500: "HTTPInternalServerError",
    501: "HTTPNotImplemented",
}


@dataclass(frozen=True, kw_only=True)
class Flavor:
    """What one Heat-compatible service does differently."""

    name: str
    spec: str
    project_param: str  # path parameter naming the project: tenant_id (Heat), project_id (RTS)
    identity_uri: str  # named in `WWW-Authenticate: Keystone uri="..."`; option `identity_uri`
    signed_requests: bool = False  # accept huaweicloudsdkcore AK/SK signatures (not verified)
    description: str = ""


# -- errors and auth -----------------------------------------------------------------------------
def render_error(err: MockError, ctx: Call) -> dict[str, Any]:
    """Heat's FaultWrapper body (heat/api/middleware/fault.py), traceback always null."""
    try:
        title = HTTPStatus(err.status).phrase
    except ValueError:
        title = "Error"
    return {
        "code": err.status,
        "title": title,
        "explanation": EXPLANATIONS.get(err.status, EXPLANATIONS[500]),
        "error": {
            "message": (
                f"Request limit exceeded: {err.message}"
                if isinstance(err, PayloadTooLarge)
                else err.message
            ),
            "type": err.code or _error_type(err),
            "traceback": None,
        },
    }


def _error_type(err: MockError) -> str:
    # The core refuses a body over its limit (1 MiB, Heat's max_json_body_size) as
    # PayloadTooLarge; the specs document no 413, so it arrives here as a 400, which Heat calls
    # RequestLimitExceeded. Chunked bodies included.
    if isinstance(err, PayloadTooLarge):
        return "RequestLimitExceeded"
    return WEBOB_TYPES.get(err.status, "HTTPError")


def _signed(ctx: Call) -> bool:
    return ctx.headers.get("authorization", "").startswith(SIGNED_PREFIX) and bool(
        ctx.headers.get("x-project-id", "").strip()
    )


def _authenticator(flavor: Flavor) -> Callable[[Call], None]:
    def authenticate(ctx: Call) -> None:
        token = ctx.headers.get("x-auth-token", "").strip()
        if not token and not (flavor.signed_requests and _signed(ctx)):
            uri = ctx.options["identity_uri"]
            raise Unauthorized(
                "The request you have made requires authentication.",
                headers={"WWW-Authenticate": f'Keystone uri="{uri}"'},
            )

    return authenticate


def _scoped(flavor: Flavor) -> Callable[[Call], str]:
    """The tenant is the path's project; a bound token or a signed request may not leave it."""

    def tenant(ctx: Call) -> str:
        project = str(ctx.path.get(flavor.project_param, ""))
        if not project:  # the version documents
            return project
        bound = ctx.options.get("tokens", {}).get(ctx.headers.get("x-auth-token", "").strip())
        signed_for = ctx.headers.get("x-project-id", "") if flavor.signed_requests else ""
        if bound not in (None, project) or signed_for not in ("", project):
            raise Forbidden("Access was denied to this resource.")
        return project

    return tenant


# -- records -------------------------------------------------------------------------------------
def _io(item: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """One config input/output as Heat's software_config_io stores it."""
    out = {**defaults, **{k: v for k, v in item.items() if v is not None}}
    if not out.get("replace_on_change"):
        out.pop("replace_on_change", None)
    return out


def _config(ctx: Ctx, cid: str) -> Record:
    found = ctx.store.find(CONFIG, cid)
    if found is None:
        raise NotFound(f"Software config with id {cid} not found", code="NotFound")
    return found


def _config_for_deployment(ctx: Ctx, cid: str) -> Record:
    found = ctx.store.find(CONFIG, cid)
    if found is None:
        raise Invalid(
            f"Data supplied was not valid: Config with id {cid} not found", code="Invalid"
        )
    return found


def _deployment(ctx: Ctx, did: str) -> Record:
    found = ctx.store.find(DEPLOYMENT, did)
    if found is None:
        raise NotFound(f"Deployment with id {did} not found", code="NotFound")
    return found


# -- versions ------------------------------------------------------------------------------------
def list_versions(ctx: Ctx) -> Reply:
    """Heat answers 300; `href` points back at the mock, mount prefix included."""
    link = {"rel": "self", "href": f"{ctx.base_url}/v1/"}
    return Reply(300, {"versions": [{"id": "v1.0", "status": "CURRENT", "links": [link]}]})


# -- software configs ----------------------------------------------------------------------------
def create_software_config(ctx: Ctx) -> Reply:
    body, cid = ctx.body, ctx.new_id("uuid")
    config = ctx.store.put(
        CONFIG,
        cid,
        {
            "id": cid,
            "name": body.get("name"),
            "group": body.get("group"),
            "config": body.get("config"),
            "inputs": [_io(i, INPUT_DEFAULTS) for i in body.get("inputs") or []],
            "outputs": [_io(o, OUTPUT_DEFAULTS) for o in body.get("outputs") or []],
            "options": body.get("options") or {},
            "creation_time": iso(ctx.now()),
        },
    )
    return Reply(200, {"software_config": public(config)})


def list_software_configs(ctx: Ctx) -> Reply:
    """Newest first (ties: id descending); the page starts after `marker`, if it is known."""
    found = sorted(ctx.store.all(CONFIG), key=lambda c: (c["creation_time"], c["id"]), reverse=True)
    ids = [c["id"] for c in found]
    marker = ctx.query.get("marker")
    if marker in ids:
        found = found[ids.index(marker) + 1 :]
    limit = ctx.query.get("limit")
    page = found if limit is None else found[:limit]
    return Reply(200, {"software_configs": [public(c, SUMMARY) for c in page]})


def show_software_config(ctx: Ctx) -> Reply:
    return Reply(200, {"software_config": public(_config(ctx, ctx.path["config_id"]))})


def delete_software_config(ctx: Ctx) -> Reply:
    cid = ctx.path["config_id"]
    _config(ctx, cid)
    if any(d["config_id"] == cid for d in ctx.store.all(DEPLOYMENT)):
        raise Conflict(
            f"Software config with id {cid} can not be deleted as it is referenced.",
            code="InvalidRestrictedAction",
        )
    ctx.store.delete(CONFIG, cid)
    return Reply(204, None)


# -- software deployments ------------------------------------------------------------------------
def create_software_deployment(ctx: Ctx) -> Reply:
    body, did = ctx.body, ctx.new_id("uuid")
    _config_for_deployment(ctx, body["config_id"])
    dep = ctx.store.put(
        DEPLOYMENT,
        did,
        {
            "id": did,
            "server_id": body["server_id"],
            "config_id": body["config_id"],
            "input_values": body.get("input_values"),
            "output_values": None,
            "action": body.get("action"),
            "status": body.get("status"),
            "status_reason": str(body.get("status_reason")),  # Heat: str(None) == "None"
            "creation_time": iso(ctx.now()),
            "_stack_user_project_id": body.get("stack_user_project_id"),
        },
    )
    return Reply(200, {"software_deployment": public(dep)})


def list_software_deployments(ctx: Ctx) -> Reply:
    """Oldest first (the store keeps creation order), optionally of one server; no paging."""
    server = ctx.query.get("server_id")
    found = [d for d in ctx.store.all(DEPLOYMENT) if server in (None, d["server_id"])]
    return Reply(200, {"software_deployments": [public(d) for d in found]})


def show_software_deployment(ctx: Ctx) -> Reply:
    return Reply(200, {"software_deployment": public(_deployment(ctx, ctx.path["deployment_id"]))})


def update_software_deployment(ctx: Ctx) -> Reply:
    """Heat's update: falsy means unchanged, dicts replace, `updated_time` moves, no state check."""
    dep = _deployment(ctx, ctx.path["deployment_id"])
    changes = {key: ctx.body[key] for key in UPDATABLE if ctx.body.get(key)}
    if "config_id" in changes:
        _config_for_deployment(ctx, changes["config_id"])
    dep.update(changes, updated_time=iso(ctx.now()))
    return Reply(200, {"software_deployment": public(dep)})


def delete_software_deployment(ctx: Ctx) -> Reply:
    ctx.store.delete(DEPLOYMENT, _deployment(ctx, ctx.path["deployment_id"])["id"])
    return Reply(204, None)


def metadata_software_deployments(ctx: Ctx) -> Reply:
    """The full configs of a server's deployments, sorted by config name (Heat)."""
    server = ctx.path["server_id"]
    configs = [
        _config(ctx, d["config_id"]) for d in ctx.store.all(DEPLOYMENT) if d["server_id"] == server
    ]
    configs.sort(key=lambda c: c["name"] or "")
    return Reply(200, {"metadata": [public(c) for c in configs]})


# Contract hints (mockserver/contract/hints.py), true for Heat and for RTS, which runs Heat. A
# PUT is synchronous (200, the change applied) and no state refuses it or a DELETE, so there are
# no transitional, failed or forbidden states. IN_PROGRESS is not transitional in the hints'
# sense: it ends only when the agent on the named server signals, so a deployment a run creates
# may stay IN_PROGRESS for good. That signal (not part of this API) is also why a live
# deployment's status, reason, outputs and `updated_time` may change between two reads
# (vendors.md section 3.3).
CONTRACT: Mapping[str, Any] = {
    "state": "/software_deployment/status",
    "volatile": [
        f"/software_deployment/{name}"
        for name in ("status", "status_reason", "output_values", "updated_time")
    ],
}

HANDLERS = {
    "listVersions": list_versions,
    "showVersionV1": list_versions,
    "createSoftwareConfig": create_software_config,
    "listSoftwareConfigs": list_software_configs,
    "showSoftwareConfig": show_software_config,
    "deleteSoftwareConfig": delete_software_config,
    "createSoftwareDeployment": create_software_deployment,
    "listSoftwareDeployments": list_software_deployments,
    "showSoftwareDeployment": show_software_deployment,
    "updateSoftwareDeployment": update_software_deployment,
    "deleteSoftwareDeployment": delete_software_deployment,
    "metadataSoftwareDeployments": metadata_software_deployments,
}


def build(flavor: Flavor) -> Provider:
    """A `Provider` serving Heat's semantics with this flavor's data."""
    return Provider(
        name=flavor.name,
        spec=flavor.spec,
        handlers=HANDLERS,
        tenant=_scoped(flavor),
        tenant_in=(TenantPlace("path", flavor.project_param),),
        authenticate=_authenticator(flavor),
        render_error=render_error,
        client_headers=lambda tenant: {"X-Auth-Token": "deploymock"},
        # tokens: token -> the one project it may use (unbound tokens work everywhere)
        options={"identity_uri": flavor.identity_uri, "tokens": {}},
        secret_options=frozenset({"tokens"}),
        description=flavor.description,
        contract=CONTRACT,
    )
