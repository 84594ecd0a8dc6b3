"""The provider interface: what a provider module supplies and what its handlers work with.

A provider module imports only this module (and the core's value modules it names: `store`,
`statemachine`, `clock`, `errors`); it never reaches for `Mock` or the app. What it needs from
outside a request comes as provider options (`Provider.options`, changed by tests) or as its
own admin actions (`Provider.admin`).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, TypeAlias

from mockserver.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MockError,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)
from mockserver.statemachine import Outcomes, Step
from mockserver.store import Ids, Record, TenantStore

if TYPE_CHECKING:
    from mockserver.clock import Clock

__all__ = [
    "AdminAction",
    "Call",
    "Conflict",
    "Ctx",
    "Forbidden",
    "Handler",
    "Invalid",
    "MockError",
    "NotFound",
    "PreconditionFailed",
    "Provider",
    "Record",
    "Reply",
    "TenantPlace",
    "Unauthorized",
    "public",
]

NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class Reply(NamedTuple):
    """What a handler answers: a status, a body (JSON unless `media_type` says otherwise) and
    any headers of its own."""

    status: int
    body: Any = None
    headers: Mapping[str, str] = NO_HEADERS
    media_type: str = "application/json"


def public(record: Record, fields: Iterable[str] | None = None, *, deep: bool = False) -> Record:
    """What a client sees of a record: its keys (or `fields`, in that order) without the mock's
    own `_` keys. `deep` copies the values too, for a view the caller goes on changing."""
    if fields is None:
        shown = {k: v for k, v in record.items() if k[:1] != "_"}
    else:
        shown = {k: record[k] for k in fields if k[:1] != "_" and k in record}
    return copy.deepcopy(shown) if deep else shown


@dataclass(eq=False, slots=True)
class Call:
    """One request, as `Provider.authenticate` and `Provider.tenant` see it: routed, and its
    parameters validated and coerced by the spec (for a request the spec refuses, `tenant`
    sees what could be read of it)."""

    provider: str
    operation_id: str
    method: str
    url: str  # path as invoked, with any mount prefix, without the query
    base_url: str  # scheme://host[:port][/mount prefix], for hrefs pointing back at the mock
    headers: Mapping[str, str]  # case-insensitive
    path: dict[str, Any]
    query: dict[str, Any]
    header: dict[str, Any]  # declared header parameters
    body: Any
    options: Mapping[str, Any]
    request_id: str

    @staticmethod
    def require(condition: bool, error: MockError) -> None:
        if not condition:
            raise error


@dataclass(eq=False, slots=True)
class Ctx(Call):
    """One request, as a handler sees it: the call plus its tenant's state and time."""

    tenant: str
    store: TenantStore
    clock: Clock
    ids: Ids
    delays: Mapping[str, float]
    outcomes: Outcomes

    def now(self) -> float:
        return self.clock.now()

    def new_id(self, kind: str = "hex16") -> str:
        return self.ids.uuid4() if kind == "uuid" else self.ids.hex(16)

    def decider(self, resource: str) -> Callable[[Step], str | None]:
        """What decides how an asynchronous step of `resource` ends (queued outcomes)."""
        outcomes, provider, tenant = self.outcomes, self.provider, self.tenant
        return lambda step: outcomes.pop(provider, tenant, resource, step)


@dataclass(frozen=True)
class TenantPlace:
    """One place a request names its tenant in."""

    where: str  # header | query | body | path | credentials (the token names the tenant)
    name: str
    alternatives: tuple[str, ...] = ()


Handler: TypeAlias = Callable[[Ctx], Reply]
# A provider setting that tests (fixtures) and the admin API change, e.g. a user's role in a
# space. It runs under the tenant's lock with that tenant's store and the caller's arguments;
# ValueError/KeyError/TypeError from it become a 400 with their message.
AdminAction: TypeAlias = Callable[[TenantStore, dict[str, Any]], Any]


@dataclass(frozen=True, kw_only=True)
class Provider:
    """A vendor: its spec, its handlers (operationId -> function) and its conventions."""

    name: str
    spec: str
    handlers: Mapping[str, Handler]
    tenant: Callable[[Call], str]
    # Where requests name the tenant, in the order `tenant` reads them (the contract suite
    # pins the run's tenant there).
    tenant_in: tuple[TenantPlace, ...]
    authenticate: Callable[[Call], None]
    render_error: Callable[[MockError, Call], Any]
    client_headers: Callable[[str], dict[str, str]]
    unimplemented: frozenset[str] = frozenset()
    delays: Mapping[str, float] = field(default_factory=dict)
    outcomes: frozenset[str] = frozenset()  # what tests may queue with Outcomes
    options: Mapping[str, Any] = field(default_factory=dict)
    admin: Mapping[str, AdminAction] = field(default_factory=dict)
    # Secrets the admin API never shows in clear: store kinds whose record ids are credentials
    # (LaunchDarkly's registered tokens), options whose keys are (Heat's bound tokens).
    secret_kinds: frozenset[str] = frozenset()
    secret_options: frozenset[str] = frozenset()
    # Operations whose tenant is a credential (IAM's token request: the API key), and store
    # kinds whose presence says a tenant is named by one: such tenant names are shown redacted.
    secret_tenant_operations: frozenset[str] = frozenset()
    secret_tenant_kinds: frozenset[str] = frozenset()
    # Runs for every routed request right after authentication and before the request is
    # refused as invalid, under the tenant's lock, for vendors that count or refuse requests
    # before looking at them (rate limits, revoked tokens). The headers it returns go on every
    # answer to the request (an error's own headers win); a MockError it raises is the answer.
    before: Callable[[Ctx], Mapping[str, str]] | None = None
    # Headers a 429 carries (retry after seconds, now): the vendor's rate-limit headers.
    rate_limit_headers: Callable[[float, float], dict[str, str]] = field(
        default=lambda retry_after, now: {"Retry-After": str(max(1, math.ceil(retry_after)))}
    )
    description: str = ""
    # Hints for the contract runner (keys in `mockserver/contract/hints.py`): what its spec
    # cannot say, e.g. which states forbid which update. Optional; the runner derives the rest.
    contract: Mapping[str, Any] = field(default_factory=dict)
