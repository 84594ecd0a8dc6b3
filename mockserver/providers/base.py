"""What a provider module supplies, and what a handler gets to work with."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

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
from mockserver.store import Ids, TenantStore

if TYPE_CHECKING:
    from mockserver.clock import Clock

__all__ = [
    "AdminAction",
    "Conflict",
    "Ctx",
    "Forbidden",
    "Handler",
    "Invalid",
    "MockError",
    "NotFound",
    "PreconditionFailed",
    "Provider",
    "Reply",
    "Unauthorized",
]

Reply: TypeAlias = tuple[int, Any] | tuple[int, Any, Mapping[str, str]]


@dataclass(eq=False, slots=True)
class Ctx:
    """One request, as a handler sees it. Parameters are validated and coerced by the spec."""

    provider: str
    operation_id: str
    method: str
    url: str  # path as invoked, with any mount prefix, without the query
    base_url: str  # scheme://host[:port][/mount prefix], for hrefs pointing back at the mock
    headers: Mapping[str, str]  # case-insensitive
    path: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    header: dict[str, Any] = field(default_factory=dict)  # declared header parameters
    body: Any = None
    tenant: str = ""
    request_id: str = ""
    store: TenantStore | None = None  # set once the tenant is known
    clock: Clock | None = None
    delays: Mapping[str, float] = field(default_factory=dict)
    outcomes: Outcomes | None = None
    ids: Ids | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def data(self) -> TenantStore:
        assert self.store is not None, "the tenant store is set before a handler runs"
        return self.store

    def now(self) -> float:
        assert self.clock is not None
        return self.clock.now()

    def new_id(self, kind: str = "hex16") -> str:
        assert self.ids is not None
        return self.ids.uuid4() if kind == "uuid" else self.ids.hex(16)

    def decider(self, resource: str) -> Callable[[Step], str | None]:
        """What decides how an asynchronous step of `resource` ends (queued outcomes)."""
        outcomes, provider, tenant = self.outcomes, self.provider, self.tenant
        if outcomes is None:
            return lambda step: None
        return lambda step: outcomes.pop(provider, tenant, resource, step)

    @staticmethod
    def require(condition: bool, error: MockError) -> None:
        if not condition:
            raise error


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
    tenant: Callable[[Ctx], str]
    authenticate: Callable[[Ctx], None]
    render_error: Callable[[MockError, Ctx], Any]
    client_headers: Callable[[str], dict[str, str]]
    unimplemented: frozenset[str] = frozenset()
    delays: Mapping[str, float] = field(default_factory=dict)
    outcomes: frozenset[str] = frozenset()  # what tests may queue with Outcomes
    options: Mapping[str, Any] = field(default_factory=dict)
    admin: Mapping[str, AdminAction] = field(default_factory=dict)
    # Runs for every routed request right after authentication and before the request is
    # validated, under the tenant's lock, for vendors that count or refuse requests before
    # looking at them (rate limits, revoked tokens). Its provider's `tenant` must then work from
    # the credentials and path alone. The headers it returns go on every answer to the request
    # (an error's own headers win); a MockError it raises is the answer.
    before: Callable[[Ctx], Mapping[str, str]] | None = None
    # Headers a 429 carries (retry after seconds, now): the vendor's rate-limit headers.
    rate_limit_headers: Callable[[float, float], dict[str, str]] = field(
        default=lambda retry_after, now: {"Retry-After": str(max(1, math.ceil(retry_after)))}
    )
    description: str = ""
    # Hints for the contract runner (keys in `mockserver/contract/hints.py`): what its spec
    # cannot say, e.g. which states forbid which update. Optional; the runner derives the rest.
    contract: Mapping[str, Any] = field(default_factory=dict)
