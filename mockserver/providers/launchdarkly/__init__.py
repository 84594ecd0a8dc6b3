"""LaunchDarkly REST API v2, Engineering Insights deployments (beta).

Semantics: ../shared/reference/vendors.md section 5; https://launchdarkly.com/docs/api/insights-deployments-beta;
the spec `openapi/launchdarkly.yaml` states every choice where LaunchDarkly is silent.

- `POST .../deployment-events` (201, no body): `started` creates or restarts the deployment of
  (project, environment, application, version); `finished`/`failed` end it (`endedAt`,
  `durationMs`); `custom` changes nothing.
- `GET .../deployments` lists one project and environment (never another's), newest first, with
  `after`/`before` cursors and `_links.next`; `GET .../deployments/{id}` finds an id anywhere in
  the account. `expand=pullRequests,flagReferences` adds those (empty) collections.
- `PATCH .../deployments/{id}`: RFC 6902 through `jsonpatch`, atomic, read-only members
  protected, the result validated against `DeploymentRep` (see `patch.py`). Handlers run under
  the tenant lock, so `test` operations give optimistic concurrency.
- Auth (`access.py`): `Authorization: <token>`, no `Bearer`; the tenant is the token's account;
  `LD-API-Version: beta` is required (option `require_beta_header`); tokens get roles and
  projects from tests through the admin actions `set_token` / `revoke_token`.
- Rate limits (`ratelimit.py`): options `token_rate_limit` and `route_rate_limit` (requests per
  ten seconds, None = off).
- Errors: `{"code", "message", "id"}`, plus `errors: [{"attribute", "reason"}]` on every 400.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from mockserver.provider import Call, Ctx, Handler, MockError, Provider, Reply, TenantPlace
from mockserver.providers.launchdarkly import access, deployments, ratelimit
from mockserver.providers.launchdarkly.access import account_of, client_headers, token_for

__all__ = ["PROVIDER", "account_of", "token_for"]

CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "invalid_request",
    429: "rate_limited",
    501: "not_implemented",
}
LOCATIONS = ("path", "query", "header", "body")
REQUIRED = re.compile(r"'(.+)' is a required property")  # jsonschema's message


def _reason(detail: dict[str, Any]) -> dict[str, str]:
    """Core validation detail -> LaunchDarkly's `{"attribute", "reason"}`.

    `query.projectKey` names `projectKey`, and a missing body member names itself, as
    LaunchDarkly does ({"attribute": "projectKey", "reason": "must be present"}).
    """
    if "attribute" in detail:
        return dict(detail)
    field, reason = str(detail["field"]), str(detail["message"])
    missing = REQUIRED.fullmatch(reason)
    if missing:
        field, reason = f"{field}.{missing.group(1)}", "must be present"
    where, dot, rest = field.partition(".")
    return {"attribute": rest if dot and where in LOCATIONS else field, "reason": reason}


def _reasons(err: MockError) -> list[dict[str, str]]:
    found = [_reason(d) for d in err.details]
    return found or [{"attribute": err.kind or "body", "reason": err.message}]


def render_error(err: MockError, ctx: Call) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": err.code or CODES.get(err.status, "internal_server_error"),
        "message": err.message,
        "id": str(uuid.UUID(hex=ctx.request_id)),  # the journal's request id, as a UUID
    }
    if err.status == 400:
        body["errors"] = _reasons(err)
    return body


def before(ctx: Ctx) -> dict[str, str]:
    """Every authenticated request, before validation: revoked tokens out, rate limits counted.

    The headers returned go on every answer, errors from validation or the handler included.
    """
    access.admit_token(ctx)
    return ratelimit.check(ctx, access.token_of(ctx))


def guarded(handler: Handler) -> Handler:
    """The token's role and projects checked before the handler (under the tenant lock)."""

    def run(ctx: Ctx) -> Reply:
        access.admit(ctx)
        return handler(ctx)

    return run


# No contract hints (mockserver/contract/hints.py): a deployment has no asynchronous lifecycle
# (a PATCH answers 200 with the result, its `status` is whatever events and patches set), no
# documented state refuses a PATCH, and no documented member changes without a request. The
# pull-request counters and `leadTime` come from the source-control integration, and
# LaunchDarkly does not say whether they can change later (vendors.md section 5).
PROVIDER = Provider(
    name="launchdarkly",
    spec="launchdarkly.yaml",
    tenant=lambda ctx: account_of(access.token_of(ctx)),
    tenant_in=(TenantPlace("credentials", "Authorization"),),
    authenticate=access.authenticate,
    render_error=render_error,
    client_headers=client_headers,
    before=before,
    admin=access.ADMIN,
    secret_kinds=frozenset({access.TOKEN}),
    options={"require_beta_header": True, "token_rate_limit": None, "route_rate_limit": None},
    handlers={
        op: guarded(fn)
        for op, fn in {
            "createDeploymentEvent": deployments.create_deployment_event,
            "getDeployments": deployments.get_deployments,
            "getDeployment": deployments.get_deployment,
            "updateDeployment": deployments.update_deployment,
        }.items()
    },
)
