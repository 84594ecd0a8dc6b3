"""IBM watsonx.ai Runtime / Watson Machine Learning v4: online deployments and models.

Semantics (../shared/reference/vendors.md section 2 and its appendix; IBM's "Updating a
deployment" page, seed 001; `openapi/ibm_wml.yaml` states every choice we made where IBM is
silent):

- Every `/ml/v4` call names `version=YYYY-MM-DD` and exactly one container, `space_id` or
  `project_id` (in the body on POST). The container is the tenant: a space by its id, a project
  as `project:<id>`.
- A deployment goes `initializing -> ready` (delay `initialize`); a restart patch (`/asset`,
  `/prompt_template`, `/base_model_id`, `/hardware_*`) answers 202 and goes `updating -> ready`
  (delay `update`), or `failed` with the previous values back and `entity.status.failure`.
  Tests decide with `mockserver.outcome("ibm_wml", "failed" | "ready", id=<deployment id>)`.
- Metadata patches answer 200. Owner changes need a container admin, and the new owner must be
  admin or editor there. Roles live in the container's state (admin action `set_role`); with
  none set, everybody is admin.
- Errors are `{"trace", "errors": [{"code", "message", "target"?}], "status_code"}`.
- IAM's token endpoint `POST /identity/token` (module `iam`) issues tokens for API keys, for
  `Credentials(url=..., api_key=..., auth_url=<mock>/identity/token)`; its errors are IAM's.
"""

from __future__ import annotations

from typing import Any

from mockserver.provider import (
    Call,
    Ctx,
    Handler,
    MockError,
    NotFound,
    Provider,
    Reply,
    TenantPlace,
)
from mockserver.providers.ibm_wml import common, deployments, iam, models
from mockserver.providers.ibm_wml.common import (
    DEFAULT_USER,
    authenticate,
    authorized,
    set_member,
    token_for,
)

NAME = "ibm_wml"

__all__ = ["DEFAULT_USER", "PROVIDER", "token_for"]


def get_prompt(ctx: Ctx) -> Reply:
    # The Python SDK probes every deployment's asset as a prompt template first; 404 = not one.
    raise NotFound(f"Prompt with id '{ctx.path['prompt_id']}' does not exist.", kind="prompt")


def get_space(ctx: Ctx) -> Reply:
    sid = ctx.path["space_id"]
    entity = {"name": sid, "status": {"state": "active"}}
    return Reply(200, {"metadata": {"id": sid}, "entity": entity})


def tenant(call: Call) -> str:
    return (
        iam.token_tenant(call) if call.operation_id == iam.TOKEN_OPERATION else common.tenant(call)
    )


def render_error(err: MockError, call: Call) -> dict[str, Any]:
    if iam.is_token_call(call):
        return iam.render_iam_error(err, call)
    return common.render_error(err, call)


HANDLERS: dict[str, Handler] = {
    "createDeployment": deployments.create_deployment,
    "listDeployments": deployments.list_deployments,
    "deploymentsGet": deployments.get_deployment,
    "deploymentsUpdate": deployments.update_deployment,
    "deploymentsDelete": deployments.delete_deployment,
    "modelsCreate": models.create_model,
    "modelsGet": models.get_model,
    "modelsUpdate": models.update_model,
    "modelsCreateRevision": models.create_revision,
    "modelsDelete": models.delete_model,
    "getPrompt": get_prompt,
    "getSpace": get_space,
}

PROVIDER = Provider(
    name=NAME,
    spec="ibm_wml.yaml",
    tenant=tenant,
    tenant_in=(
        TenantPlace("query", "space_id", ("project_id",)),
        TenantPlace("body", "space_id", ("project_id",)),
        TenantPlace("path", "space_id"),
    ),
    authenticate=authenticate,
    render_error=render_error,
    client_headers=lambda _tenant: {"Authorization": f"Bearer {token_for(DEFAULT_USER)}"},
    delays=deployments.DELAYS,
    outcomes=frozenset({"ready", "failed", "initializing", "updating"}),
    handlers={
        iam.TOKEN_OPERATION: iam.issue_token,  # no token needed to get one
        **{op: authorized(handler) for op, handler in HANDLERS.items()},
    },
    # POST /__admin/providers/ibm_wml/set_role {"tenant": <space id | project:<id>>, "user", "role"}
    admin={
        "set_role": lambda store, args: set_member(store, args["user"], args.get("role")),
        # POST /__admin/providers/ibm_wml/api_key {"tenant": <api key>, "user"?, "deleted"?}
        "api_key": iam.set_api_key,
    },
    # A token request's tenant is its API key: shown redacted by the admin API.
    secret_tenant_operations=frozenset({iam.TOKEN_OPERATION}),
    secret_tenant_kinds=frozenset({iam.KEY_KIND}),
    description="IBM watsonx.ai Runtime (WML v4) deployments and models",
    contract=deployments.CONTRACT,
)
