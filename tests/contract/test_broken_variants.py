"""The checks can fail: the suite against deliberately broken variants of SAP AI Core.

Each variant replaces one piece of the real provider (a handler, the error renderer, the
authentication, the tenant) with a subtly wrong one, and the test asserts that the check made
for that mistake reports it. The run checks the contract of the package's provider of that name,
its hints (`Provider.contract`) included, whatever the mock serves. The suite runs small and
focused (a few operations, few examples) so each variant takes seconds; the same options
against the real provider find nothing.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

import mockserver.app
from mockserver.clock import VirtualClock, iso
from mockserver.contract import ContractOptions, ContractReport, run_contract
from mockserver.provider import Ctx, Reply
from mockserver.providers import ibm_wml as wml
from mockserver.providers import sap_ai_core as sap
from mockserver.providers.sap_ai_core import deployments as sap_deployments
from tests.contract.known_issues import unexpected

pytestmark = pytest.mark.slow

LIFECYCLE_OPS = ("configuration.create", "deployment.create", "deployment.modify", "deployment.get")


def run_variant(monkeypatch: pytest.MonkeyPatch, variant: Any, **options: Any) -> ContractReport:
    """The suite, with the real provider's contract, against a mock serving `variant`."""
    with monkeypatch.context() as patched:
        patched.setattr(mockserver.app, "discover", lambda: {variant.name: variant})
        app = mockserver.app.create_app(providers=[variant.name], clock=VirtualClock.fake())
    settings = {"max_examples": 15, "no_shrink": True, **options}
    return run_contract(variant.name, app=app, options=ContractOptions(**settings))


def with_handlers(**handlers: Any) -> Any:
    return dataclasses.replace(sap.PROVIDER, handlers={**sap.PROVIDER.handlers, **handlers})


# Time moves one virtual second per call, so deployments go UNKNOWN -> PENDING -> RUNNING.
STATEFUL = {"phases": ("stateful", "walk"), "operations": LIFECYCLE_OPS, "tick": 1}


# -- the variants ---------------------------------------------------------------------------
def modify_not_persisted(ctx: Ctx) -> Reply:
    """Validates and answers 202 like the real one, but changes a copy."""
    dep = sap_deployments._deployment(ctx, ctx.path["deploymentId"])
    sap_deployments._modify(ctx, copy.deepcopy(dep), ctx.body)
    return Reply(202, {"id": dep["id"], "message": "Deployment modification scheduled"})


def modify_half_applied(ctx: Ctx) -> Reply:
    """Writes the configuration name before it validates the request."""
    dep = sap_deployments._deployment(ctx, ctx.path["deploymentId"])
    dep["configurationName"] = "half-applied"
    return sap.modify_deployment(ctx)


def modify_touches_created_at(ctx: Ctx) -> Reply:
    reply = sap.modify_deployment(ctx)
    sap_deployments._deployment(ctx, ctx.path["deploymentId"])["createdAt"] = iso(ctx.now() + 1)
    return reply


def modify_in_any_state(ctx: Ctx) -> Reply:
    """Stops a deployment whatever its status (the real one answers 412 outside PENDING/RUNNING)."""
    dep = sap_deployments._deployment(ctx, ctx.path["deploymentId"])
    if ctx.body.get("targetStatus") == "STOPPED" and "configurationId" not in ctx.body:
        dep.update(targetStatus="STOPPED", lastOperation="UPDATE")
        sap.LIFECYCLE.enter(dep, "STOPPING", ctx.now())
        return Reply(202, {"id": dep["id"], "message": "Deployment modification scheduled"})
    return sap.modify_deployment(ctx)


def get_anything(ctx: Ctx) -> Reply:
    """200 for any id: an unknown one gets a made-up deployment."""
    did = ctx.path["deploymentId"]
    if ctx.store.find("deployment", did) is not None:
        return sap.get_deployment(ctx)
    return Reply(
        200,
        {
            "id": did,
            "configurationId": "c0nf",
            "status": "UNKNOWN",
            "createdAt": iso(0),
            "modifiedAt": iso(0),
        },
    )


def render_error_plainly(err: Any, ctx: Ctx) -> Any:
    """A 404 as `{"message"}`, not SAP's `{"error": {...}}`."""
    return {"message": err.message} if err.status == 404 else sap.render_error(err, ctx)


# -- the tests ------------------------------------------------------------------------------
def test_an_update_that_is_not_persisted_fails_update_visible(monkeypatch):
    report = run_variant(
        monkeypatch, with_handlers(**{"deployment.modify": modify_not_persisted}), **STATEFUL
    )
    assert "update_visible" in report.failed_checks, report.summary()
    assert "shows /" in report.failures("update_visible")[0].message


def test_a_rejected_update_that_half_applies_fails_rejected_update_unchanged(monkeypatch):
    report = run_variant(
        monkeypatch, with_handlers(**{"deployment.modify": modify_half_applied}), **STATEFUL
    )
    assert "rejected_update_unchanged" in report.failed_checks, report.summary()
    assert "half-applied" in report.failures("rejected_update_unchanged")[0].message


def test_an_error_in_the_wrong_format_fails_vendor_error_format(monkeypatch):
    variant = dataclasses.replace(sap.PROVIDER, render_error=render_error_plainly)
    report = run_variant(monkeypatch, variant, phases=("coverage",), operations=("deployment.get",))
    assert "vendor_error_format" in report.failed_checks, report.summary()
    assert "not the vendor's error format" in report.failures("vendor_error_format")[0].message


def test_a_200_for_an_unknown_id_fails_unknown_id_not_found(monkeypatch):
    report = run_variant(
        monkeypatch,
        with_handlers(**{"deployment.get": get_anything}),
        phases=("fuzzing",),
        operations=("deployment.get",),
        max_examples=10,
    )
    assert "unknown_id_not_found" in report.failed_checks, report.summary()
    assert "not 404" in report.failures("unknown_id_not_found")[0].message


def test_ignoring_credentials_fails_credentials_required(monkeypatch):
    variant = dataclasses.replace(sap.PROVIDER, authenticate=lambda ctx: None)
    report = run_variant(monkeypatch, variant, **STATEFUL)
    assert "credentials_required" in report.failed_checks, report.summary()


def test_one_tenant_for_everybody_fails_tenant_isolation(monkeypatch):
    variant = dataclasses.replace(sap.PROVIDER, tenant=lambda ctx: "everybody")
    report = run_variant(monkeypatch, variant, **STATEFUL)
    assert "tenant_isolation" in report.failed_checks, report.summary()


def test_a_changed_read_only_field_fails_read_only_unchanged(monkeypatch):
    variant = with_handlers(**{"deployment.modify": modify_touches_created_at})
    report = run_variant(monkeypatch, variant, **STATEFUL)
    assert "read_only_unchanged" in report.failed_checks, report.summary()
    assert "/createdAt" in report.failures("read_only_unchanged")[0].message


def test_an_update_a_state_forbids_fails_forbidden_state_update(monkeypatch):
    # With time standing still, every deployment stays UNKNOWN, where a stop is refused.
    variant = with_handlers(**{"deployment.modify": modify_in_any_state})
    report = run_variant(monkeypatch, variant, **{**STATEFUL, "tick": 0})
    assert "forbidden_state_update" in report.failed_checks, report.summary()
    assert "which forbids it" in report.failures("forbidden_state_update")[0].message


@pytest.mark.parametrize("tick", [0, 1])
def test_the_real_provider_passes_the_same_runs_with_its_hints(monkeypatch, tick):
    """The control: what finds the broken variants finds nothing in the real provider."""
    report = run_variant(monkeypatch, sap.PROVIDER, **{**STATEFUL, "tick": tick})
    assert not unexpected("sap_ai_core", report), report.summary()
    applied = {name: stat.applied for name, stat in report.checks.items() if stat.applied}
    for check in (
        "update_visible",
        "rejected_update_unchanged",
        "forbidden_state_update",
        "read_only_unchanged",
        "credentials_required",
        "tenant_isolation",
    ):
        assert applied.get(check), f"{check} never had anything to assert: {applied}"
    assert not report.left, "with the cleanup hint, every deployment is deleted"


# -- the walk: documented requests along the links ------------------------------------------
def wml_update_not_persisted(ctx: Ctx) -> Reply:
    """Answers a JSON Patch with the patched deployment, and keeps the old one."""
    did = ctx.path["deployment_id"]
    kept = copy.deepcopy(ctx.store.find("deployment", did))
    reply = wml.PROVIDER.handlers["deploymentsUpdate"](ctx)
    if kept is not None:
        ctx.store.put("deployment", did, kept)
    return reply


def test_the_walk_alone_finds_a_json_patch_that_is_not_persisted(monkeypatch):
    variant = dataclasses.replace(
        wml.PROVIDER,
        handlers={**wml.PROVIDER.handlers, "deploymentsUpdate": wml_update_not_persisted},
    )
    report = run_variant(monkeypatch, variant, phases=("walk",))
    assert "update_visible" in report.failed_checks, report.summary()
    assert "/metadata/name" in report.failures("update_visible")[0].message


HINTED = sorted(name for name, provider in mockserver.app.discover().items() if provider.contract)


def test_the_lifecycle_providers_carry_hints():
    assert {"sap_ai_core", "ibm_wml"} <= set(HINTED)


@pytest.mark.parametrize("provider", HINTED)
def test_a_providers_hints_hold_for_it(provider):
    """What a live run of `deploymock contract PROVIDER` assumes by default, true of the mock."""
    options = ContractOptions(max_examples=15, phases=("stateful", "walk"))
    report = run_contract(provider, options=options)
    assert not unexpected(provider, report), report.summary()
    assert report.checks["update_visible"].applied, report.summary()
    assert not report.left, report.summary()
