"""What the runner derives from each provider: tenant places, credentials, error schemas, hints."""

from __future__ import annotations

import pytest
from schemathesis.core import NOT_SET

from mockserver.app import discover
from mockserver.contract.hints import Hints, TenantPlace
from mockserver.contract.profile import pointer
from mockserver.contract.runner import profile_for, provider_named

PROVIDERS = sorted(discover())


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_provider_names_its_tenant_somewhere(name):
    profile = profile_for(provider_named(name))
    assert profile.tenant, f"{name}: no place in a request names the tenant"
    value = profile.tenant_value("0123456789abcdef0123456789abcdef")
    for op in profile.spec.operations.values():
        for param in op.params:
            if any((param.location, param.name) == (p.where, p.name) for p in profile.tenant):
                assert param.validator.is_valid(value), (op.operation_id, param.name, value)


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("sap_ai_core", TenantPlace("header", "AI-Resource-Group")),
        ("ibm_wml", TenantPlace("query", "space_id", ("project_id",))),
        ("launchdarkly", TenantPlace("credentials", "Authorization")),
        ("openstack_heat", TenantPlace("path", "tenant_id")),
    ],
)
def test_tenant_places_found_by_asking_the_provider(name, first):
    if name not in PROVIDERS:
        pytest.skip(f"{name} is not here")
    assert profile_for(provider_named(name)).tenant[0] == first


def test_wml_names_its_tenant_in_the_body_on_create_too():
    places = profile_for(provider_named("ibm_wml")).tenant
    assert TenantPlace("body", "space_id", ("project_id",)) in places


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("sap_ai_core", {"Authorization": "Bearer T"}),
        ("openstack_heat", {"X-Auth-Token": "T"}),
    ],
)
def test_a_token_becomes_what_the_security_scheme_wants(name, headers):
    if name not in PROVIDERS:
        pytest.skip(f"{name} is not here")
    assert profile_for(provider_named(name)).token_headers("T") == headers


def test_hints_override_the_token_and_the_tenant():
    hints = {"token": {"X-Api-Key": "{token}"}, "tenant": [{"in": "query", "name": "group"}]}
    profile = profile_for(provider_named("sap_ai_core"), hints)
    assert profile.token_headers("T") == {"X-Api-Key": "T"}
    assert profile.tenant == (TenantPlace("query", "group"),)


def test_unknown_hints_are_refused():
    with pytest.raises(ValueError, match="unknown contract hint"):
        Hints.parse({"tenants": []})
    with pytest.raises(ValueError, match="'in' must be one of"):
        Hints.parse({"tenant": [{"in": "cookie", "name": "x"}]})


def test_forbidden_rules_match_bodies():
    rule = Hints.parse(
        {"forbidden": [{"operation": "op", "states": ["A"], "status": 412, "body_keys": ["x"]}]}
    ).forbidden[0]
    assert rule.covers({"x": 1})
    assert not rule.covers({"y": 1})
    patch = Hints.parse(
        {"forbidden": [{"operation": "op", "states": ["A"], "status": 409, "patch_paths": ["/a"]}]}
    ).forbidden[0]
    assert patch.covers([{"op": "replace", "path": "/a/b", "value": 1}])
    assert not patch.covers([{"op": "replace", "path": "/ab", "value": 1}])
    # Negative cases send anything, or no body at all (a check once crashed on NOT_SET).
    for body in (NOT_SET, None, 5, "/a", {"op": "replace", "path": "/a"}):
        assert not patch.covers(body), body
        assert not rule.covers(body), body


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_providers_hints_name_what_its_spec_has(name):
    profile = profile_for(provider_named(name))
    hints, operations = profile.hints, profile.spec.operations
    readable = set().union(
        *(profile.readable(op) for op in operations.values() if op.method == "GET")
    )
    for where in filter(None, (hints.state, *hints.volatile)):
        assert pointer(where)[0] in readable, where
    for rule in hints.forbidden:
        assert rule.operation in operations, rule
    for delete, prepare in hints.cleanup.items():
        assert operations[delete].method == "DELETE"
        assert prepare.operation in operations
    if hints.transitional or hints.failed or hints.forbidden:
        assert hints.state, "states without a pointer to read them from"


def test_an_undocumented_error_status_still_needs_the_vendor_format():
    profile = profile_for(provider_named("sap_ai_core"))
    op = profile.spec.operations["deployment.get"]
    [documented] = profile.error_schemas_for(op, 404)
    assert documented is op.responses["404"]
    vendor = profile.error_schemas_for(op, 405)
    sap_error = {"error": {"code": "01010405", "message": "no", "requestId": "1", "target": "/"}}
    assert any(schema.is_valid(sap_error) for schema in vendor)
    assert not any(schema.is_valid({"message": "no"}) for schema in vendor)


def test_read_only_fields_come_from_the_spec():
    profile = profile_for(provider_named("sap_ai_core"))
    reader = profile.spec.operations["deployment.get"]
    assert ("id",) in profile.read_only(reader)
    assert profile.reader(profile.spec.operations["deployment.modify"]) is reader
