"""Per-vendor hints for the contract runner: what a spec cannot say.

A provider sets them as `Provider(contract={...})`; a run can add to or override them with
`deploymock contract --hints FILE` (YAML or JSON with the same keys) or `hints=` in Python.
Every key is optional; without hints the runner derives what it can from the spec and the
provider module, and the checks that need a hint only run their spec-driven part.

- `tenant`: where the tenant goes, `[{"in": "header"|"query"|"body", "name": ...,
  "alternatives": [...]}]` (alternatives name a tenant too and are dropped when it is pinned,
  e.g. `project_id` next to `space_id`). Default: found by asking `Provider.tenant`.
- `token`: the headers a `--token` becomes, `{"Authorization": "Bearer {token}"}`. Default:
  from the spec's security scheme.
- `volatile`: JSON pointers of fields that change on their own on a live server (timestamps, a
  status that moves with time); two reads are compared without them.
- `state`: JSON pointer of the lifecycle state in a read of the resource, e.g. `/status`.
- `transitional`: states an asynchronous change passes through (`PENDING`, `updating`).
- `failed`: states an asynchronous change may end in, undoing itself (`DEAD`, `failed`).
- `forbidden`: updates a state forbids and the documented answer:
  `[{"operation": opId, "states": [...], "status": 412, "body_keys": [...]}]` or with
  `"patch_paths": [...]` for JSON Patch bodies; without a matcher the rule covers every body.
- `cleanup`: what to send before a delete the resource's state refuses,
  `{deleteOpId: {"operation": updateOpId, "body": {...}}}` (e.g. stop a running deployment).
- `settle`: seconds after which an asynchronous change has ended (also `--settle`). Default:
  twice the provider's longest delay, plus one. On a live server the run polls for that long at
  most (`settle.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.provider import TenantPlace

PLACES = ("header", "query", "body", "path", "credentials")


@dataclass(frozen=True)
class Forbidden:
    """An update that a state forbids, and the status the vendor documents for it."""

    operation: str
    states: frozenset[str]
    status: int
    body_keys: frozenset[str] | None = None
    patch_paths: tuple[str, ...] | None = None

    def covers(self, body: Any) -> bool:
        """Whether an update body is one this rule is about. Any body may come here: negative
        cases send scalars, objects for a JSON Patch, or no body at all (Schemathesis' NotSet)."""
        if self.body_keys is not None:
            return isinstance(body, dict) and bool(self.body_keys & set(body))
        if self.patch_paths is not None:
            if not isinstance(body, list):
                return False
            paths = [op.get("path", "") for op in body if isinstance(op, dict)]
            return any(
                str(p) == prefix or str(p).startswith(prefix.rstrip("/") + "/")
                for p in paths
                for prefix in self.patch_paths
            )
        return True


@dataclass(frozen=True)
class Prepare:
    """A request to send before a delete that the resource's state refuses."""

    operation: str
    body: Any = None


@dataclass(frozen=True, kw_only=True)
class Hints:
    tenant: tuple[TenantPlace, ...] | None = None
    token: Mapping[str, str] | None = None
    volatile: tuple[str, ...] = ()
    state: str | None = None
    transitional: frozenset[str] = frozenset()
    failed: frozenset[str] = frozenset()
    forbidden: tuple[Forbidden, ...] = ()
    cleanup: Mapping[str, Prepare] = field(default_factory=dict)
    settle: float | None = None

    @classmethod
    def parse(cls, *layers: Mapping[str, Any] | None) -> Hints:
        """Hints from the given mappings; a later one's keys replace an earlier one's."""
        merged: dict[str, Any] = {}
        for layer in layers:
            merged.update(layer or {})
        unknown = sorted(set(merged) - _KEYS)
        if unknown:
            raise ValueError(f"unknown contract hint(s): {', '.join(unknown)}")
        return cls(
            tenant=_tenant(merged["tenant"]) if "tenant" in merged else None,
            token=_str_map(merged.get("token"), "token"),
            volatile=tuple(str(p) for p in merged.get("volatile", ())),
            state=merged.get("state"),
            transitional=frozenset(map(str, merged.get("transitional", ()))),
            failed=frozenset(map(str, merged.get("failed", ()))),
            forbidden=tuple(_forbidden(r) for r in merged.get("forbidden", ())),
            cleanup={
                str(op): Prepare(str(p["operation"]), p.get("body"))
                for op, p in (merged.get("cleanup") or {}).items()
            },
            settle=float(merged["settle"]) if merged.get("settle") is not None else None,
        )


_KEYS = {
    "tenant",
    "token",
    "volatile",
    "state",
    "transitional",
    "failed",
    "forbidden",
    "cleanup",
    "settle",
}


def _tenant(raw: Any) -> tuple[TenantPlace, ...]:
    places = []
    for item in raw or ():
        where = item.get("in")
        if where not in PLACES:
            raise ValueError(f"tenant hint: 'in' must be one of {', '.join(PLACES)}")
        places.append(
            TenantPlace(where, str(item["name"]), tuple(map(str, item.get("alternatives", ()))))
        )
    return tuple(places)


def _str_map(raw: Any, key: str) -> dict[str, str] | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ValueError(f"{key} hint must be a mapping")
    return {str(k): str(v) for k, v in raw.items()}


def _forbidden(raw: Mapping[str, Any]) -> Forbidden:
    keys = raw.get("body_keys")
    paths = raw.get("patch_paths")
    return Forbidden(
        operation=str(raw["operation"]),
        states=frozenset(map(str, raw["states"])),
        status=int(raw["status"]),
        body_keys=frozenset(map(str, keys)) if keys is not None else None,
        patch_paths=tuple(map(str, paths)) if paths is not None else None,
    )
