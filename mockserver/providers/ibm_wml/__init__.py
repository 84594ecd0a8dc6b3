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
  admin or editor there. Roles live in the container's state (`set_role`); with none set,
  everybody is admin.
- Errors are `{"trace", "errors": [{"code", "message", "target"?}], "status_code"}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mockserver.providers.base import Ctx, Handler, NotFound, Provider, Reply
from mockserver.providers.ibm_wml import deployments, models
from mockserver.providers.ibm_wml.common import (
    DEFAULT_USER,
    authenticate,
    authorized,
    container_key,
    render_error,
    set_member,
    tenant,
    token_for,
)

if TYPE_CHECKING:
    from mockserver.app import Mock

NAME = "ibm_wml"

__all__ = ["DEFAULT_USER", "PROVIDER", "set_role", "token_for"]


def get_prompt(ctx: Ctx) -> Reply:
    # The Python SDK probes every deployment's asset as a prompt template first; 404 = not one.
    raise NotFound(f"Prompt with id '{ctx.path['prompt_id']}' does not exist.", kind="prompt")


def get_space(ctx: Ctx) -> Reply:
    sid = ctx.path["space_id"]
    return 200, {"metadata": {"id": sid}, "entity": {"name": sid, "status": {"state": "active"}}}


def set_role(
    mock: Mock,
    user_id: str,
    role: str | None,
    *,
    space_id: str | None = None,
    project_id: str | None = None,
) -> None:
    """Give `user_id` a role (admin, editor, viewer) in one space or project; None removes it.

    Once a container has a member, callers who are not members get 403 there.
    """
    named = [(k, v) for k, v in (("space_id", space_id), ("project_id", project_id)) if v]
    if len(named) != 1:
        raise ValueError("give exactly one of space_id and project_id")
    with mock.store.locked(NAME, container_key(*named[0])) as store:
        set_member(store, user_id, role)


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
    authenticate=authenticate,
    render_error=render_error,
    client_headers=lambda _tenant: {"Authorization": f"Bearer {token_for(DEFAULT_USER)}"},
    delays=deployments.DELAYS,
    outcomes=frozenset({"ready", "failed", "initializing", "updating"}),
    handlers={op: authorized(handler) for op, handler in HANDLERS.items()},
    # POST /__admin/providers/ibm_wml/set_role {"tenant": <space id | project:<id>>, "user", "role"}
    admin={"set_role": lambda store, args: set_member(store, args["user"], args.get("role"))},
    description="IBM watsonx.ai Runtime (WML v4) deployments and models",
    contract=deployments.CONTRACT,
)
