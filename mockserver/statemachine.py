"""Lifecycles as data. A status advances when the resource is read, computed from the clock.

A `Lifecycle` maps a status to the `Step` that leaves it: the status it goes to and the name of
the delay (in seconds, configurable per provider) after which it does. A step can have several
possible ends (`outcomes`); which one happens is decided by the first queued outcome for that
resource (see `Outcomes`), else the step's default. An outcome equal to the current status means
"stuck": the resource stays there until something else changes it.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.store import Record

STATUS = "status"
SINCE = "_since"  # when the record entered its current status (epoch seconds)
STUCK = "_stuck"  # set when an outcome held the record in its status


@dataclass(frozen=True)
class Step:
    to: str
    delay: str
    outcomes: frozenset[str] = frozenset()

    def allows(self, outcome: str) -> bool:
        """Only a step with alternatives can be decided; its default end is one of them."""
        return bool(self.outcomes) and (outcome == self.to or outcome in self.outcomes)


@dataclass(frozen=True)
class Transition:
    source: str
    target: str
    at: float


class Outcomes:
    """Queued outcomes, keyed by (provider, tenant, resource id); id `*` = any resource."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queued: dict[tuple[str, str, str], deque[str]] = {}

    def push(self, provider: str, tenant: str, outcome: str, *, resource: str = "*") -> None:
        with self._lock:
            self._queued.setdefault((provider, tenant, resource), deque()).append(outcome)

    def pop(self, provider: str, tenant: str, resource: str, step: Step) -> str | None:
        """Take the first queued outcome that this step can end in (specific id first)."""
        with self._lock:
            for key in ((provider, tenant, resource), (provider, tenant, "*")):
                queue = self._queued.get(key)
                if queue and step.allows(queue[0]):
                    outcome = queue.popleft()
                    if not queue:
                        del self._queued[key]
                    return outcome
        return None

    def pending(
        self, provider: str | None = None, tenant: str | None = None
    ) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"provider": p, "tenant": t, "id": r, "outcomes": list(q)}
                for (p, t, r), q in self._queued.items()
                if provider in (None, p) and tenant in (None, t)
            ]

    def of_tenant(self, provider: str, tenant: str) -> dict[str, list[str]]:
        with self._lock:
            return {
                r: list(q) for (p, t, r), q in self._queued.items() if (p, t) == (provider, tenant)
            }

    def restore(self, provider: str, tenant: str, queued: dict[str, list[str]]) -> None:
        with self._lock:
            for resource, outcomes in queued.items():
                self._queued[(provider, tenant, resource)] = deque(outcomes)

    def reset(self, provider: str | None = None, tenant: str | None = None) -> None:
        with self._lock:
            for key in [
                k for k in self._queued if provider in (None, k[0]) and tenant in (None, k[1])
            ]:
                del self._queued[key]


@dataclass(frozen=True)
class Lifecycle:
    steps: Mapping[str, Step]
    on_enter: Mapping[str, Callable[[Record, float], None]] = field(default_factory=dict)
    # States only user actions reach (e.g. a stopped deployment), if no step or hook names them.
    others: frozenset[str] = frozenset()

    @property
    def states(self) -> frozenset[str]:
        """Every state the lifecycle knows."""
        reached = {s for step in self.steps.values() for s in (step.to, *step.outcomes)}
        return frozenset({*self.steps, *reached, *self.on_enter, *self.others})

    @property
    def transitional(self) -> frozenset[str]:
        """The states a record leaves on its own, as time passes."""
        return frozenset(self.steps)

    @property
    def failures(self) -> frozenset[str]:
        """Where a step may end instead of its own target, other than staying put."""
        ends = {o for step in self.steps.values() for o in step.outcomes}
        return frozenset(ends - self.transitional)

    def refusing(self, allowed: frozenset[str]) -> list[str]:
        """The states outside `allowed`, sorted: where an action allowed only there is refused."""
        return sorted(self.states - allowed)

    def enter(self, record: Record, status: str, at: float) -> None:
        """Put `record` in `status` now (a user action), running that status's hook."""
        record[STATUS] = status
        record[SINCE] = at
        record.pop(STUCK, None)
        hook = self.on_enter.get(status)
        if hook is not None:
            hook(record, at)

    def settle(
        self,
        record: Record,
        now: float,
        delays: Mapping[str, float],
        decide: Callable[[Step], str | None] = lambda step: None,
    ) -> list[Transition]:
        """Apply every transition due by `now`; return them in order."""
        done: list[Transition] = []
        while not record.get(STUCK):
            source = record[STATUS]
            step = self.steps.get(source)
            if step is None:
                break
            at = record[SINCE] + delays.get(step.delay, 0.0)
            if at > now:
                break
            target = decide(step) or step.to
            if target == source:
                record[STUCK] = True
                break
            self.enter(record, target, at)
            done.append(Transition(source, target, at))
        return done
