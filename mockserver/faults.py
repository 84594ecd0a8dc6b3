"""Fault injection: rules that make the mock fail the way a real service does.

A rule is scoped (provider, operationId, tenant: None = any), says what happens and when:

- `kind`: `error` (a status with the vendor's error body), `rate_limit` (429 with the vendor's
  rate-limit headers), `latency` (answer late), `drop` (close the connection without an
  answer), `truncate` (send half the body, then close).
- `latency` / `jitter`: seconds of delay (jitter adds a seeded uniform random part); combine
  with any kind.
- when: `nth` (only the Nth matching call), `times` (the first N matching calls, then never
  again), `probability` (with the rule's `seed`, so runs repeat).
- `after`: run the handler first (the change happens) and fail the answer anyway.
- `body`: for `error` and `rate_limit`, the body to send instead of the vendor's error body
  (as a gateway in front of the service would send its own).
- Statuses the operation's spec documents are sent, and the gateway statuses (429, 500, 502,
  503, 504) on every operation, as real gateways send them whatever the docs say; any other
  status needs `allow_undocumented`.

The fixture (`mockserver.fault(...)`), the marker (`faults=[...]`) and `/__admin/faults` all
add `Rule`s to the same `Faults` object; `ProviderApp` consults it once per request.
"""

from __future__ import annotations

import itertools
import random
import threading
from dataclasses import asdict, dataclass, field, fields
from typing import Any

KINDS = ("error", "rate_limit", "latency", "drop", "truncate")
GATEWAY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class Rule:
    kind: str = "error"
    provider: str | None = None
    operation_id: str | None = None
    tenant: str | None = None
    status: int | None = None
    message: str = "Injected fault"
    code: str | None = None
    retry_after: float = 1.0
    latency: float = 0.0
    jitter: float = 0.0
    nth: int | None = None
    times: int | None = None
    probability: float = 1.0
    seed: int = 0
    after: bool = False
    allow_undocumented: bool = False
    body: Any = None
    id: str = ""
    seen: int = 0
    fired: int = 0
    _rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self) -> None:
        problems = []
        if self.kind not in KINDS:
            problems.append(f"kind must be one of {', '.join(KINDS)}")
        if self.kind == "error" and (self.status is None or not 400 <= self.status <= 599):
            problems.append("an error rule needs a status from 400 to 599")
        if self.kind == "rate_limit":
            self.status = 429
        if self.body is not None and self.kind not in ("error", "rate_limit"):
            problems.append("only error and rate_limit rules send a body")
        if not 0.0 <= self.probability <= 1.0:
            problems.append("probability must be between 0 and 1")
        if self.latency < 0 or self.jitter < 0 or self.retry_after < 0:
            problems.append("latency, jitter and retry_after cannot be negative")
        for name in ("nth", "times"):
            value = getattr(self, name)
            if value is not None and value < 1:
                problems.append(f"{name} must be 1 or more")
        if problems:
            raise ValueError("; ".join(problems))
        self._rng = random.Random(self.seed)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Rule:
        allowed = {f.name for f in fields(cls) if not f.name.startswith("_")} - {"seen", "fired"}
        unknown = sorted(set(data) - allowed - {"operationId"})
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(unknown)}")
        data = dict(data)
        if "operationId" in data:
            data["operation_id"] = data.pop("operationId")
        try:
            return cls(**data)
        except TypeError as exc:
            raise ValueError(str(exc)) from exc

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if not k.startswith("_")}

    def matches(self, provider: str, operation_id: str, tenant: str) -> bool:
        return (
            self.provider in (None, provider)
            and self.operation_id in (None, operation_id)
            and self.tenant in (None, tenant)
        )

    def fires(self) -> bool:
        """Count one matching call and decide whether this one fails."""
        self.seen += 1
        if self.nth is not None and self.seen != self.nth:
            return False
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability < 1.0 and self._rng.random() >= self.probability:
            return False
        self.fired += 1
        return True

    def allowed_by(self, documented: set[str] | frozenset[str]) -> bool:
        """Whether this rule's status may be sent on an operation documenting `documented`."""
        return (
            self.status is None
            or self.allow_undocumented
            or self.status in GATEWAY_STATUSES
            or str(self.status) in documented
        )

    def outside(self, documented: set[str] | frozenset[str]) -> bool:
        """Whether what this rule sends is not the spec's to judge (an undocumented status or
        a body of the rule's own)."""
        return self.status is not None and (
            self.body is not None or str(self.status) not in documented
        )

    def delay(self) -> float:
        return self.latency + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.rules: list[Rule] = []
        self._ids = itertools.count(1)

    def add(self, rule: Rule) -> Rule:
        with self._lock:
            rule.id = rule.id or f"fault-{next(self._ids)}"
            self.rules.append(rule)
        return rule

    def remove(
        self, *, id: str | None = None, provider: str | None = None, tenant: str | None = None
    ) -> int:
        with self._lock:
            keep = [
                r
                for r in self.rules
                if not (
                    id in (None, r.id)
                    and provider in (None, r.provider)
                    and tenant in (None, r.tenant)
                )
            ]
            removed = len(self.rules) - len(keep)
            self.rules = keep
            return removed

    def pick(
        self, provider: str, operation_id: str, tenant: str, documented: set[str]
    ) -> Rule | None:
        """The first rule that fires for this call (every matching rule counts the call)."""
        chosen = None
        with self._lock:
            for rule in self.rules:
                if not rule.matches(provider, operation_id, tenant):
                    continue
                if not rule.allowed_by(documented):
                    continue
                if rule.fires() and chosen is None:
                    chosen = rule
        return chosen
