"""Access tokens: the account a token belongs to, its role and the projects it may use.

A LaunchDarkly access token belongs to one account, and deployment ids are unique in the
account, which is why `GET /deployments/{id}` needs no project. The mock's tenant is therefore
the account, and the account is read from the token: the text after its last `@`
(`api-deploymock@<tenant>` is what `client_headers(tenant)` sends), or `default` for a token
without one. Projects and environments are namespaces inside the account.

Every token that has no spaces is valid and may do everything until a test says otherwise with
the admin actions `set_token` (role and projects) or `revoke_token`; both write to the account's
own store, so a test's reset forgets them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mockserver.provider import Call, Ctx, Forbidden, NotFound, Unauthorized
from mockserver.store import Record, TenantStore

PROVIDER_NAME = "launchdarkly"
DEFAULT_ACCOUNT = "default"
TOKEN = "token"  # store kind of the token table
# What each role may do (LaunchDarkly's built-in roles); a GET reads, everything else writes.
ROLES: dict[str, frozenset[str]] = {
    "no_access": frozenset(),
    "reader": frozenset({"read"}),
    "writer": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write"}),
    "owner": frozenset({"read", "write"}),
}
READ_METHODS = frozenset({"GET", "HEAD"})
DEFAULT_GRANT: Record = {"role": "writer", "projects": None, "revoked": False}
FORBIDDEN = "Forbidden. Access to the requested resource was denied."


def account_of(token: str) -> str:
    """The account (mock tenant) a token belongs to: the text after its last `@`."""
    _, at, account = token.rpartition("@")
    return account if at and account else DEFAULT_ACCOUNT


def token_for(tenant: str, name: str = "deploymock") -> str:
    """A token of the account `tenant`; `name` tells tokens of one account apart."""
    return f"api-{name}@{tenant}"


def client_headers(tenant: str) -> dict[str, str]:
    return {"Authorization": token_for(tenant), "LD-API-Version": "beta"}


def token_of(ctx: Call) -> str:
    return ctx.headers.get("authorization", "").strip()


def authenticate(ctx: Call) -> None:
    """Stateless checks, before the request is validated: a token, then the beta header."""
    token = token_of(ctx)
    # The header is the token itself; "Bearer <token>" (or anything with a space) is not one.
    if not token or any(c.isspace() for c in token):
        raise Unauthorized("Invalid access token")
    if ctx.options.get("require_beta_header", True) and ctx.headers.get("ld-api-version") != "beta":
        raise Forbidden("This is a beta resource: send the header 'LD-API-Version: beta' to use it")


def grant_of(ctx: Ctx) -> Record:
    return ctx.store.find(TOKEN, token_of(ctx)) or DEFAULT_GRANT


def admit_token(ctx: Ctx) -> None:
    """A revoked token is unknown: 401."""
    if grant_of(ctx)["revoked"]:
        raise Unauthorized("Invalid access token")


def admit(ctx: Ctx) -> None:
    """The token's role decides whether it may read or write."""
    grant = grant_of(ctx)
    need = "read" if ctx.method in READ_METHODS else "write"
    if need not in ROLES[grant["role"]]:
        raise Forbidden(f"{FORBIDDEN} The token's role {grant['role']!r} cannot {need}.")


def sees(ctx: Ctx, project: str) -> bool:
    projects = grant_of(ctx)["projects"]
    return projects is None or project in projects


def require_project(ctx: Ctx, project: str) -> None:
    if not sees(ctx, project):
        raise Forbidden(f"{FORBIDDEN} The token has no access to project {project!r}.")


def visible(ctx: Ctx, deployment: Record | None, did: str) -> Record:
    """The deployment if this token may see it; else 404, as if it did not exist."""
    if deployment is None or not sees(ctx, deployment["_projectKey"]):
        raise NotFound(f"Invalid resource identifier: no deployment {did}", kind="deployment")
    return deployment


# -- the admin side: `mockserver.admin("launchdarkly", "set_token", ...)` and /__admin --
def put_token(store: TenantStore, token: str, grant: Record) -> Record:
    return store.put(TOKEN, token, {**DEFAULT_GRANT, **(store.find(TOKEN, token) or {}), **grant})


def grant(role: str = "writer", projects: Iterable[str] | None = None) -> Record:
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}")
    return {
        "role": role,
        "projects": None if projects is None else sorted(projects),
        "revoked": False,
    }


def _own_token(store: TenantStore, args: dict[str, Any]) -> str:
    token = str(args["token"])
    if account_of(token) != store.tenant:
        raise ValueError(
            f"token {token!r} belongs to account {account_of(token)!r}, not {store.tenant!r}"
        )
    return token


def _admin_set(store: TenantStore, args: dict[str, Any]) -> Record:
    role_and_projects = grant(args.get("role", "writer"), args.get("projects"))
    return put_token(store, _own_token(store, args), role_and_projects)


def _admin_revoke(store: TenantStore, args: dict[str, Any]) -> Record:
    return put_token(store, _own_token(store, args), {"revoked": True})


# POST /__admin/providers/launchdarkly/set_token {"tenant": account, "token", "role", "projects"}
# POST /__admin/providers/launchdarkly/revoke_token {"tenant": account, "token"}
ADMIN: dict[str, Callable[[TenantStore, dict[str, Any]], Any]] = {
    "set_token": _admin_set,
    "revoke_token": _admin_revoke,
}
