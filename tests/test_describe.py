"""`describe`: what a provider serves and what can be set, read from its module and its spec."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from mockserver.app import PROVIDER_PATH, discover
from mockserver.cli import main
from mockserver.describe import describe, overview, render, render_overview
from mockserver.errors import ConfigError
from mockserver.spec import Spec

PROVIDERS = discover()
MINIMAL = Path(__file__).resolve().parent / "minimal_provider"


@pytest.mark.parametrize("name", list(PROVIDERS))
def test_describe_says_what_the_module_and_the_spec_say(name: str) -> None:
    provider, info = PROVIDERS[name], describe(name)
    spec = Spec(provider.spec)
    assert [(o["operationId"], o["method"], o["path"]) for o in info["operations"]] == [
        (op.operation_id, op.method.upper(), op.template) for op in spec.operations.values()
    ]
    assert info["delays"] == dict(provider.delays)
    assert info["outcomes"] == sorted(provider.outcomes)
    assert info["options"] == dict(provider.options)
    assert [a["action"] for a in info["admin"]] == list(provider.admin)
    assert info["client_headers"] == provider.client_headers("<tenant>")
    assert info["spec"]["file"] == provider.spec and info["description"]
    json.dumps(info)  # JSON-ready as it is


def test_describe_marks_unimplemented_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    sap = PROVIDERS["sap_ai_core"]
    handlers = {k: v for k, v in sap.handlers.items() if k != "deployment.count"}
    partial = dataclasses.replace(
        sap, handlers=handlers, unimplemented=frozenset({"deployment.count"})
    )
    info = describe("sap_ai_core", providers={"sap_ai_core": partial})
    implemented = {o["operationId"]: o["implemented"] for o in info["operations"]}
    assert implemented["deployment.count"] is False and implemented["deployment.modify"] is True
    line = next(line for line in render(info).splitlines() if "deployment.count" in line)
    assert line.split() == [
        "deployment.count",
        "GET",
        "/v2/lm/deployments/$count",
        "unimplemented",
        "(501)",
    ]
    assert "1 unimplemented" in render_overview(overview(providers={"sap_ai_core": partial}))


def test_the_text_shows_operations_delays_outcomes_options_admin_and_headers() -> None:
    text = render(describe("sap_ai_core"))
    assert "deployment.modify        PATCH   /v2/lm/deployments/{deploymentId}" in text
    assert (
        "  start     5\n" in text and "outcomes (queue with POST /__admin/outcomes): DEAD" in text
    )
    assert "AI-Resource-Group:  <tenant>" in text
    ld = render(describe("launchdarkly"))
    assert "  require_beta_header  true\n" in ld
    assert "set_token     POST /__admin/providers/launchdarkly/set_token" in ld


def test_an_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown provider nope; known: huawei_rts, ibm_wml"):
        describe("nope")


def test_the_overview_has_a_row_per_provider() -> None:
    rows = overview()
    assert [r["name"] for r in rows] == list(PROVIDERS)
    sap = next(r for r in rows if r["name"] == "sap_ai_core")
    assert sap["operations"] == len(Spec("sap_ai_core.yaml").operations)
    lines = render_overview(rows).splitlines()
    assert lines[0].split() == ["PROVIDER", "OPERATIONS", "DELAYS", "DESCRIPTION"]
    assert sum(line.startswith(tuple(PROVIDERS)) for line in lines) == len(PROVIDERS)


# -- deploymock describe -------------------------------------------------------------------------
def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(["describe", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_command_prints_a_provider_or_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "ibm_wml")
    assert status == 0 and out == render(describe("ibm_wml"))
    assert "deploymentsUpdate" in out and "PATCH" in out and "initialize  10" in out
    status, out, _ = run(capsys)
    assert status == 0 and out == render_overview(overview())


def test_the_command_prints_json_for_scripts(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "sap_ai_core", "--json")
    info: dict[str, Any] = json.loads(out)
    assert status == 0 and info == describe("sap_ai_core")
    spec = Spec("sap_ai_core.yaml")
    for op in info["operations"]:
        assert spec.operations[op["operationId"]].template == op["path"]
    status, out, _ = run(capsys, "--json")
    assert status == 0 and [r["name"] for r in json.loads(out)] == list(PROVIDERS)


def test_the_command_refuses_an_unknown_provider(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "sap")
    assert status == 2 and out == ""
    assert err == f"deploymock: unknown provider sap; known: {', '.join(PROVIDERS)}\n"


def test_the_command_finds_providers_on_the_provider_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PROVIDER_PATH, str(MINIMAL))
    status, out, _ = run(capsys, "notes", "--json")
    assert status == 0
    ids = [op["operationId"] for op in json.loads(out)["operations"]]
    assert ids == list(Spec(str(MINIMAL / "notes.yaml")).operations)
