"""The state behind one app: providers, specs, store, clocks, outcomes, faults, journal.

One `Mock` is shared by the providers' request handling, the `/__admin` API and the pytest
fixtures, so each of them changes the same objects.
"""

from __future__ import annotations

import asyncio
import copy
import difflib
import itertools
import math
import threading
from collections import ChainMap
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from mockserver.clock import TenantClock, VirtualClock
from mockserver.faults import Faults, Rule
from mockserver.journal import Journal
from mockserver.persist import SqliteState
from mockserver.provider import Provider
from mockserver.spec import Spec
from mockserver.statemachine import Outcomes
from mockserver.store import Ids, Store

DEFAULT_MAX_BODY = 1024 * 1024
LAST_TIME = 253402300799.0  # 9999-12-31T23:59:59Z: what timestamps in answers can show


@dataclass
class ServerError:
    """Something went wrong inside the mock; fixtures re-raise these at teardown."""

    provider: str
    tenant: str
    operation_id: str
    message: str
    exception: BaseException | None = None


@dataclass
class Mock:
    """The objects behind the app, shared by the HTTP admin API and the pytest fixtures."""

    providers: dict[str, Provider]
    specs: dict[str, Spec]
    store: Store
    clock: VirtualClock
    outcomes: Outcomes = field(default_factory=Outcomes)
    journal: Journal = field(default_factory=Journal)
    delays: dict[str, dict[str, float]] = field(default_factory=dict)
    options: dict[str, dict[str, Any]] = field(default_factory=dict)
    validate_responses: bool = False
    max_body: int = DEFAULT_MAX_BODY
    errors: list[ServerError] = field(default_factory=list)
    tenant_clocks: dict[str, TenantClock] = field(default_factory=dict)
    requests_seen: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    faults: Faults = field(default_factory=Faults)
    persist: SqliteState | None = None
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # injected latency waits here
    # The admin API's credential (None: open) and the host names it answers besides this
    # machine's (loopback names and IP literals always; see mockserver/admin.py).
    admin_token: str | None = None
    admin_hosts: frozenset[str] = frozenset()
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def options_of(self, provider: str) -> ChainMap[str, Any]:
        """A provider's effective options: what was set on this app over the provider's defaults."""
        return ChainMap(
            self.options.setdefault(provider, {}), dict(self.providers[provider].options)
        )

    def patch_options(self, provider: str, patch: dict[str, Any]) -> dict[str, Any]:
        """Change a provider's options with JSON merge-patch semantics (RFC 7386); ValueError
        for a name the provider does not declare."""
        problem = unknown_options(self.providers[provider], patch)
        if problem:
            raise ValueError(problem)
        effective = self.options_of(provider)
        overrides = self.options.setdefault(provider, {})
        for key, value in patch.items():
            merged = merge_patch(copy.deepcopy(effective.get(key)), value)
            if merged is None:
                overrides.pop(key, None)
            else:
                overrides[key] = merged
        if self.persist is not None:
            self.persist.save_meta("options", self.options)
        return dict(self.options_of(provider))

    def restore_options(self, provider: str, overrides: dict[str, Any]) -> None:
        """Put a provider's own options back to `overrides` (what `options` held before), in
        place, so the served app keeps seeing them, and in the state file."""
        current = self.options.setdefault(provider, {})
        current.clear()
        current.update(copy.deepcopy(overrides))
        if self.persist is not None:
            self.persist.save_meta("options", self.options)

    def queue_outcome(
        self, provider: str, tenant: str, outcome: str, resource: str = "*"
    ) -> list[dict[str, Any]]:
        """Decide how the next asynchronous step of `resource` (or of any) ends; returns what
        the tenant has queued. ValueError for an outcome the provider does not have."""
        allowed = self.providers[provider].outcomes
        if outcome not in allowed:
            raise ValueError(f"outcome must be one of {sorted(allowed)}")
        with self.store.locked(provider, tenant):
            self.outcomes.push(provider, tenant, outcome, resource=resource)
            self.commit(provider, tenant)
        return self.outcomes.pending(provider, tenant)

    def advance(self, seconds: float, tenant: str | None = None) -> None:
        """Move the shared clock (or one tenant's) forward; ValueError unless seconds >= 0."""
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise ValueError("advance must be a number of seconds >= 0")
        if not math.isfinite(seconds) or seconds < 0:
            raise ValueError("advance must be a number of seconds >= 0")
        clock = self.clock_for(tenant) if tenant else self.clock
        if clock.now() + seconds > LAST_TIME:
            raise ValueError("advance would move the clock past the year 9999")
        clock.advance(float(seconds))
        self.save_clocks()

    def freeze(self, frozen: bool) -> None:
        if frozen:
            self.clock.freeze()
        else:
            self.clock.unfreeze()
        self.save_clocks()

    def commit(self, provider: str, tenant: str) -> None:
        """Write what changed in one tenant since its last commit to the state file: the
        records handed out or changed since, and its outcomes (call it holding the tenant's
        lock)."""
        if self.persist is None:
            return
        store = self.store.tenant(provider, tenant)
        self.persist.save(
            provider, tenant, store.changes(), self.outcomes.of_tenant(provider, tenant)
        )
        store.saved()  # not before: after a failed write the next commit tries them again

    def save_clocks(self) -> None:
        if self.persist is not None:
            self.persist.save_metas(
                {
                    "clock": self.clock.state(),
                    "tenant_clocks": {t: c.offset for t, c in self.tenant_clocks.items()},
                }
            )

    def load(self) -> int:
        """Restore what the state file holds for the served providers; returns tenants loaded."""
        if self.persist is None:
            return 0
        meta = self.persist.meta()
        for provider, options in meta.get("options", {}).items():
            if provider in self.providers:
                self.options.setdefault(provider, {}).update(options)
        if "clock" in meta:
            self.clock.restore(meta["clock"])
        for tenant, offset in meta.get("tenant_clocks", {}).items():
            self.clock_for(tenant).offset = float(offset)
        loaded = 0
        for saved in self.persist.tenants():
            if saved.provider in self.providers:
                self.store.tenant(saved.provider, saved.tenant).restore(saved.kinds)
                self.outcomes.restore(saved.provider, saved.tenant, saved.outcomes)
                loaded += 1
        if loaded:
            self.store.ids = Ids(None)  # a seeded run would hand out the stored ids again
        return loaded

    def clock_for(self, tenant: str) -> TenantClock:
        """The clock a tenant's resources live by: the shared clock plus the tenant's offset."""
        found = self.tenant_clocks.get(tenant)
        if found is None:
            with self._lock:
                found = self.tenant_clocks.setdefault(tenant, TenantClock(self.clock))
        return found

    def reset(self, *, provider: str | None = None, tenant: str | None = None) -> int:
        if provider is not None and provider not in self.providers:
            raise KeyError(provider)
        dropped = self.store.reset(provider, tenant)
        self.outcomes.reset(provider, tenant)
        self.faults.remove(provider=provider, tenant=tenant)
        if self.persist is not None:
            self.persist.drop(provider, tenant)
        self.journal.clear(provider=provider, tenant=tenant)
        if provider is None:
            with self._lock:
                if tenant is None:
                    self.tenant_clocks.clear()
                else:
                    self.tenant_clocks.pop(tenant, None)
        return dropped

    def admin(self, provider: str, action: str, tenant: str, args: dict[str, Any]) -> Any:
        """Run one of a provider's admin actions on one tenant (see `Provider.admin`)."""
        actions = self.providers[provider].admin
        if action not in actions:
            known = ", ".join(sorted(actions)) or "none"
            raise KeyError(f"{provider} has no admin action {action!r} (it has: {known})")
        with self.store.locked(provider, tenant) as store:
            result = actions[action](store, args)
            self.commit(provider, tenant)
            return result

    def add_fault(self, rule: Rule) -> Rule:
        """Add a fault rule after checking its scope and status against the specs."""
        if rule.provider is not None and rule.provider not in self.providers:
            raise ValueError(f"unknown provider {rule.provider!r}")
        if rule.operation_id is not None:
            specs = [self.specs[rule.provider]] if rule.provider else list(self.specs.values())
            ops = [
                s.operations[rule.operation_id] for s in specs if rule.operation_id in s.operations
            ]
            if not ops:
                raise ValueError(f"no operation {rule.operation_id!r} in the served specs")
            if not any(rule.allowed_by(set(op.responses)) for op in ops):
                raise ValueError(
                    f"{rule.operation_id} documents no {rule.status} (and it is not one of the "
                    "gateway statuses 429, 500, 502, 503, 504); set allow_undocumented to send it"
                )
        return self.faults.add(rule)

    def record_error(self, error: ServerError) -> None:
        with self._lock:
            self.errors.append(error)


def unknown_options(provider: Provider, names: Iterable[str]) -> str | None:
    """What is wrong with option `names` for `provider` (None: nothing): every option a
    provider reads has a default in `Provider.options`, so any other name is a mistake."""
    declared = list(provider.options)
    unknown = [n for n in names if n not in provider.options]
    if not unknown:
        return None
    named = []
    for name in unknown:
        near = difflib.get_close_matches(name, declared, n=1)
        named.append(f"{name} (did you mean {near[0]}?)" if near else name)
    return (
        f"unknown option(s) for {provider.name}: {', '.join(named)}; "
        f"known: {', '.join(declared) or 'none'}"
    )


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386: objects merge key by key, `null` removes a key, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out
