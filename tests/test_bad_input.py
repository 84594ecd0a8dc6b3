"""Every provider, every operation with a body: hostile input gets a vendor 4xx, changes nothing.

Driven by the specs, so a new provider is covered without editing this file. The fixture
validates each answer against the spec (the error body must be the vendor's documented one).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from mockserver.app import discover
from mockserver.spec import Spec

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}
BAD_BODIES: dict[str, tuple[bytes, dict[str, str]]] = {
    "oversized": (b'{"name": "' + b"x" * MIB + b'"}', JSON),
    "deeply nested": (b"[" * 50_000 + b"]" * 50_000, JSON),
    "huge array": (b"[" + b"1," * 200_000 + b"1]", JSON),
    "invalid utf-8": (b'{"name": "\xff\xfe"}', JSON),
    "malformed json": (b'{"name": ', JSON),
    "wrong content type": (b"name=x", {"content-type": "application/x-www-form-urlencoded"}),
    "not an object": (b'"just a string"', JSON),
    "NaN": (b'{"name": NaN}', JSON),
    "a number past a double": (b'{"name": 1e400}', JSON),
    "a lone surrogate": (b'{"name": "\\ud800"}', JSON),
}
BASE_QUERY = {"ibm_wml": {"version": "2024-01-01"}}
HOSTILE_VALUES = ["9" * 5000, "-" + "9" * 5000, "1e999", "NaN", "\u0000", "x" * 8000]


def operations_with_bodies() -> list[Any]:
    found = []
    for name, provider in discover().items():
        spec = Spec(provider.spec)
        for op in spec.operations.values():
            if op.body_types:
                found.append(pytest.param(name, op, id=f"{name}:{op.operation_id}"))
    return found


def fill(template: str, tenant: str) -> str:
    """A concrete path: tenant-like parameters get the test's tenant, ids an unknown id."""

    def value(m: re.Match[str]) -> str:
        return (
            tenant
            if m.group(1) in ("tenant_id", "project_id")
            else "0d0e0a0d-0000-4000-8000-00000000beef"
        )

    return re.sub(r"\{([^}]+)\}", value, template)


@pytest.mark.parametrize(("provider", "op"), operations_with_bodies())
@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_hostile_body_is_a_vendor_4xx_and_changes_nothing(
    mockserver: Any, provider: str, op: Any, kind: str
) -> None:
    api = mockserver.client(provider)
    before = mockserver.mock.store.dump(provider)
    content, headers = BAD_BODIES[kind]
    r = api.request(
        op.method, fill(op.template, mockserver.tenant), content=content, headers=headers
    )
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    assert r.headers["content-type"].startswith("application/json")
    assert mockserver.mock.store.dump(provider) == before


def operations_with_query_parameters() -> list[Any]:
    found = []
    for name, provider in discover().items():
        for op in Spec(provider.spec).operations.values():
            for param in op.params:
                if param.location == "query":
                    found.append(
                        pytest.param(
                            name, op, param.name, id=f"{name}:{op.operation_id}:{param.name}"
                        )
                    )
    return found


@pytest.mark.parametrize(("provider", "op", "name"), operations_with_query_parameters())
def test_hostile_query_values_never_give_a_500(
    mockserver: Any, provider: str, op: Any, name: str
) -> None:
    api = mockserver.client(provider)
    before = mockserver.mock.store.dump(provider)
    path = fill(op.template, mockserver.tenant)
    # The other required parameters valid, so the hostile value reaches the provider's code.
    base = {p.name: "x" for p in op.params if p.location == "query" and p.required}
    base |= BASE_QUERY.get(provider, {})
    if provider == "ibm_wml" and name not in ("space_id", "project_id"):
        base["space_id"] = mockserver.tenant  # WML wants one container
    for value in HOSTILE_VALUES:
        params = {**base, name: value}
        r = api.request(op.method, path, params=params, json={} if op.body_types else None)
        assert r.status_code < 500, (value[:20], r.status_code, r.text[:300])
        if r.status_code >= 400:  # in the vendor's format (the fixture checks it is the spec's)
            assert r.headers["content-type"].startswith("application/json")
    if op.method == "GET":
        assert mockserver.mock.store.dump(provider) == before
