"""The app: provider discovery and checks, mounting, admin API, limits, server errors."""

from __future__ import annotations

import dataclasses
from typing import Any

import httpx
import pytest

from mockserver.app import check_provider, create_app, discover, mock_of
from mockserver.clock import VirtualClock
from mockserver.errors import ConfigError
from mockserver.provider import Reply
from mockserver.spec import Spec, spec_dir
from pytest_plugin.transport import InProcessTransport

SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}
CONFIG = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}


@pytest.fixture
def app() -> Any:
    return create_app(clock=VirtualClock.fake(), validate_responses=True)


@pytest.fixture
def http(app: Any) -> Any:
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as client:
        yield client
    transport.close()


def deployment(http: httpx.Client, group: str = "rg-a") -> str:
    headers = {**SAP, "AI-Resource-Group": group}
    cid = http.post("/sap_ai_core/v2/lm/configurations", json=CONFIG, headers=headers).json()["id"]
    r = http.post("/sap_ai_core/v2/lm/deployments", json={"configurationId": cid}, headers=headers)
    return str(r.json()["id"])


def test_every_spec_has_a_provider_and_every_provider_matches_its_spec() -> None:
    providers = discover()
    assert sorted(p.spec for p in providers.values()) == sorted(
        p.name for p in spec_dir().glob("*.yaml")
    )
    for provider in providers.values():
        check_provider(provider, Spec(provider.spec))
        assert provider.name == provider.spec.removesuffix(".yaml")


def test_a_handler_table_that_disagrees_with_the_spec_stops_the_app() -> None:
    sap = discover()["sap_ai_core"]
    handlers = dict(sap.handlers)
    del handlers["deployment.modify"]
    handlers["deployment.rename"] = handlers["deployment.get"]
    broken = dataclasses.replace(sap, handlers=handlers)
    with pytest.raises(
        ConfigError,
        match=r"without a handler: deployment\.modify.*"
        r"without an operation .*deployment\.rename",
    ):
        check_provider(broken, Spec(sap.spec))
    marked = dataclasses.replace(sap, unimplemented=frozenset({"deployment.get"}))
    with pytest.raises(ConfigError, match="both handled and unimplemented"):
        check_provider(marked, Spec(sap.spec))


def with_handlers(monkeypatch: pytest.MonkeyPatch, **changes: Any) -> Any:
    """An app whose SAP provider is changed (handlers, unimplemented) as given."""
    sap = discover()["sap_ai_core"]
    changed = dataclasses.replace(sap, **changes)
    monkeypatch.setattr("mockserver.app.discover", lambda: {"sap_ai_core": changed})
    return create_app(clock=VirtualClock.fake(), validate_responses=True)


def test_unimplemented_operation_answers_501_in_vendor_format(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sap = discover()["sap_ai_core"]
    handlers = {k: v for k, v in sap.handlers.items() if k != "deployment.count"}
    app = with_handlers(
        monkeypatch, handlers=handlers, unimplemented=frozenset({"deployment.count"})
    )
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        r = http.get("/sap_ai_core/v2/lm/deployments/$count", headers=SAP)
    transport.close()
    assert r.status_code == 501 and "deployment.count" in r.json()["error"]["message"]


def test_unknown_provider_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown provider"):
        create_app(providers=["nope"])
    with pytest.raises(ConfigError, match="root provider"):
        create_app(providers=["sap_ai_core"], root="nope")
    with pytest.raises(ConfigError, match="unknown provider"):
        create_app(delays={"nope": {"start": 0}})


def test_index_and_unknown_top_level_paths_answer_json(http: httpx.Client) -> None:
    index = http.get("/").json()
    assert index["providers"]["sap_ai_core"] == "http://mock/sap_ai_core"
    r = http.get("/nowhere")
    assert r.status_code == 404 and "/sap_ai_core" in r.json()["error"]


def test_unknown_provider_path_is_a_vendor_404(http: httpx.Client) -> None:
    r = http.get("/sap_ai_core/v2/lm/nothing", headers=SAP)
    assert r.status_code == 404 and set(r.json()["error"]) >= {"code", "message"}


def test_root_mount_serves_one_provider_at_slash() -> None:
    app = create_app(providers=["sap_ai_core"], root="sap_ai_core")
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        cid = http.post("/v2/lm/configurations", json=CONFIG, headers=SAP).json()["id"]
        assert http.get(f"/sap_ai_core/v2/lm/configurations/{cid}", headers=SAP).status_code == 200
        assert http.get("/__admin/").json()["providers"] == ["sap_ai_core"]
    transport.close()


def test_oversized_body_is_a_vendor_4xx() -> None:
    small = create_app(max_body=64)
    transport = InProcessTransport(small)
    with httpx.Client(transport=transport, base_url="http://mock") as client:
        r = client.post(
            "/sap_ai_core/v2/lm/configurations", headers=SAP, json={**CONFIG, "name": "x" * 100}
        )
        assert r.status_code == 400 and "larger than 64 bytes" in r.json()["error"]["message"]
        assert client.get("/sap_ai_core/v2/lm/configurations", headers=SAP).json()["count"] == 0
    transport.close()


def test_a_bug_in_a_handler_is_a_vendor_500_and_is_recorded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def boom(ctx: Any) -> Any:
        raise RuntimeError("boom")

    handlers = {**discover()["sap_ai_core"].handlers, "configuration.query": boom}
    app = with_handlers(monkeypatch, handlers=handlers)
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        r = http.get("/sap_ai_core/v2/lm/configurations", headers=SAP)
        assert r.status_code == 500 and "boom" in r.json()["error"]["message"]
        assert [e.operation_id for e in mock_of(app).errors] == ["configuration.query"]
        assert (
            http.get("/__admin/errors").json()["errors"][0]["operationId"] == "configuration.query"
        )
    transport.close()


def test_a_response_that_breaks_the_spec_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    handlers = {
        **discover()["sap_ai_core"].handlers,
        "configuration.query": lambda ctx: Reply(200, {"count": 0}),
    }
    app = with_handlers(monkeypatch, handlers=handlers)
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        r = http.get("/sap_ai_core/v2/lm/configurations", headers=SAP)
    transport.close()
    assert (
        r.status_code == 500
        and "'resources' is a required property" in r.json()["error"]["message"]
    )
    assert "does not match the spec" in mock_of(app).errors[0].message


# -- admin -----------------------------------------------------------------------------------
def test_admin_reset_is_scoped_to_a_tenant(http: httpx.Client) -> None:
    mine, theirs = deployment(http, "rg-a"), deployment(http, "rg-b")
    r = http.post("/__admin/reset", json={"provider": "sap_ai_core", "tenant": "rg-a"})
    assert r.json()["reset"] == 1
    a = http.get(f"/sap_ai_core/v2/lm/deployments/{mine}", headers=SAP)
    b = http.get(
        f"/sap_ai_core/v2/lm/deployments/{theirs}", headers={**SAP, "AI-Resource-Group": "rg-b"}
    )
    assert (a.status_code, b.status_code) == (404, 200)
    assert http.post("/__admin/reset", json={}).json()["reset"] >= 1
    assert http.get("/__admin/state").json() == {}


def test_admin_reset_rejects_unknown_provider_and_bad_bodies(http: httpx.Client) -> None:
    assert http.post("/__admin/reset", json={"provider": "nope"}).status_code == 404
    as_json = {"content-type": "application/json"}
    assert http.post("/__admin/reset", content=b"[1]", headers=as_json).status_code == 400
    assert http.post("/__admin/reset", content=b"{", headers=as_json).status_code == 400
    assert http.post("/__admin/reset", json={"tenant": 5}).status_code == 400


def test_admin_clock_moves_time_for_one_tenant_or_all(http: httpx.Client) -> None:
    did = deployment(http)
    start = http.get("/__admin/clock").json()
    assert start["frozen"] is True
    moved = http.post("/__admin/clock", json={"advance": 60, "tenant": "rg-a"}).json()
    assert moved["now"] == start["now"] + 60
    assert http.get("/__admin/clock").json()["now"] == start["now"]
    dep = http.get(f"/sap_ai_core/v2/lm/deployments/{did}", headers=SAP).json()
    assert dep["status"] == "RUNNING"
    assert http.post("/__admin/clock", json={"advance": -1}).status_code == 400
    assert http.post("/__admin/clock", json={"advance": "soon"}).status_code == 400
    assert http.post("/__admin/clock", json={"advance": 5}).json()["now"] == start["now"] + 5


def test_admin_clock_freeze_and_unfreeze() -> None:
    app = create_app()  # wall-clock time, as in `serve`
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        assert http.get("/__admin/clock").json()["frozen"] is False
        frozen = http.post("/__admin/clock", json={"freeze": True}).json()
        assert frozen["frozen"] is True
        assert http.get("/__admin/clock").json()["now"] == frozen["now"]
        assert http.post("/__admin/clock", json={"unfreeze": True}).json()["frozen"] is False
    transport.close()


def test_admin_outcomes_decide_the_next_transition(http: httpx.Client) -> None:
    r = http.post(
        "/__admin/outcomes", json={"provider": "sap_ai_core", "tenant": "rg-a", "outcome": "DEAD"}
    )
    assert r.status_code == 200 and r.json()["queued"][0]["outcomes"] == ["DEAD"]
    did = deployment(http)
    http.post("/__admin/clock", json={"advance": 60})
    dep = http.get(f"/sap_ai_core/v2/lm/deployments/{did}", headers=SAP).json()
    assert dep["status"] == "DEAD"
    assert http.get("/__admin/outcomes").json()["outcomes"] == []
    bad = http.post(
        "/__admin/outcomes",
        json={"provider": "sap_ai_core", "tenant": "rg-a", "outcome": "ON_FIRE"},
    )
    assert bad.status_code == 400 and "DEAD" in bad.json()["error"]
    assert http.post("/__admin/outcomes", json={"provider": "sap_ai_core"}).status_code == 400


def test_admin_journal_filters_and_clears(http: httpx.Client) -> None:
    deployment(http, "rg-a")
    deployment(http, "rg-b")
    entries = http.get("/__admin/requests", params={"tenant": "rg-b"}).json()["requests"]
    assert [e["operation_id"] for e in entries] == ["configuration.create", "deployment.create"]
    only = http.get(
        "/__admin/requests", params={"operationId": "deployment.create", "limit": 1}
    ).json()
    assert [e["tenant"] for e in only["requests"]] == ["rg-b"]
    assert http.get("/__admin/requests", params={"limit": "x"}).status_code == 400
    http.delete("/__admin/requests", params={"tenant": "rg-a"})
    left = http.get("/__admin/requests").json()["requests"]
    assert {e["tenant"] for e in left} == {"rg-b"}


def test_journal_is_bounded() -> None:
    app = create_app(journal_size=3)
    transport = InProcessTransport(app)
    with httpx.Client(transport=transport, base_url="http://mock") as http:
        for _ in range(10):
            http.get("/sap_ai_core/v2/lm/deployments", headers=SAP)
        seqs = [e["seq"] for e in http.get("/__admin/requests").json()["requests"]]
    transport.close()
    assert seqs == [8, 9, 10]


def test_admin_state_dumps_one_tenant_without_secrets_of_others(http: httpx.Client) -> None:
    did = deployment(http, "rg-a")
    deployment(http, "rg-b")
    state = http.get("/__admin/state", params={"provider": "sap_ai_core", "tenant": "rg-a"}).json()
    assert list(state["sap_ai_core"]) == ["rg-a"]
    assert list(state["sap_ai_core"]["rg-a"]["deployment"]) == [did]


def test_provider_admin_actions_over_http(http: httpx.Client) -> None:
    space = "0a0b0c0d-0000-4000-8000-000000000001"
    url = "/__admin/providers/ibm_wml/set_role"
    r = http.post(url, json={"tenant": space, "user": "IBMid-viewer", "role": "viewer"})
    assert r.status_code == 200
    state = http.get("/__admin/state", params={"provider": "ibm_wml", "tenant": space}).json()
    assert state["ibm_wml"][space]["member"]["IBMid-viewer"]["role"] == "viewer"
    assert http.post(url, json={"user": "u", "role": "viewer"}).status_code == 400  # no tenant
    bad_role = http.post(url, json={"tenant": space, "user": "u", "role": "owner"})
    assert bad_role.status_code == 400 and "role" in bad_role.json()["error"]
    assert http.post(url, json={"tenant": space}).status_code == 400  # no user
    missing = http.post("/__admin/providers/ibm_wml/nope", json={"tenant": space})
    assert missing.status_code == 404 and "set_role" in missing.json()["error"]
    assert http.post("/__admin/providers/nope/x", json={"tenant": space}).status_code == 404


@pytest.mark.parametrize(
    ("target", "patch", "result"),
    [  # examples from RFC 7386, appendix A
        ({"a": "b"}, {"a": "c"}, {"a": "c"}),
        ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
        ({"a": "b"}, {"a": None}, {}),
        ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
        ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
        (["a", "b"], {"a": "c"}, {"a": "c"}),
        ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
        ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
    ],
)
def test_merge_patch_follows_rfc_7386(target: Any, patch: Any, result: Any) -> None:
    from mockserver.app import merge_patch

    assert merge_patch(target, patch) == result


def test_patched_options_keep_nested_defaults_and_persist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    sap = discover()["sap_ai_core"]
    with_defaults = dataclasses.replace(sap, options={"limits": {"rate": 10, "window": 10}})
    monkeypatch.setattr("mockserver.app.discover", lambda: {"sap_ai_core": with_defaults})
    app = create_app(state=tmp_path / "s.db")
    mock = mock_of(app)
    assert mock.patch_options("sap_ai_core", {"limits": {"rate": 2}})["limits"] == {
        "rate": 2,
        "window": 10,
    }
    assert mock.providers["sap_ai_core"].options["limits"]["rate"] == 10  # defaults untouched
    again = mock_of(create_app(state=tmp_path / "s.db"))
    assert again.options_of("sap_ai_core")["limits"] == {"rate": 2, "window": 10}


# -- settings: delays and options name what exists ----------------------------------------------
@pytest.mark.parametrize("what", ["delays", "options"])
def test_settings_for_an_unknown_provider_name_the_setting_and_the_known_providers(
    what: str,
) -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(**{what: {"sap_ai_cor": {"start": 0}}})
    message = str(caught.value)
    assert message.startswith(f"{what} for unknown provider(s) sap_ai_cor; known: ")
    assert all(name in message for name in discover())


def test_an_unknown_delay_names_the_providers_delays() -> None:
    with pytest.raises(ConfigError) as caught:
        create_app(delays={"sap_ai_core": {"strat": 0}})
    assert str(caught.value) == (
        "unknown delay(s) strat for sap_ai_core; known: "
        + ", ".join(sorted(discover()["sap_ai_core"].delays))
    )


def test_a_delay_for_every_provider_must_be_one_a_served_provider_has() -> None:
    every = {d for p in discover().values() for d in p.delays}
    with pytest.raises(ConfigError, match=r'strat for any served provider \("\*"\)') as caught:
        create_app(delays={"*": {"strat": 0}})
    assert all(name in str(caught.value) for name in every)
    with pytest.raises(ConfigError, match="known: none"):
        create_app(providers=["openstack_heat"], delays={"*": {"start": 0}})
    # A "*" delay one served provider has is fine, and applies where it exists.
    mock = mock_of(create_app(providers=["sap_ai_core", "ibm_wml"], delays={"*": {"start": 0}}))
    assert mock.delays["sap_ai_core"]["start"] == 0


def test_a_near_miss_of_a_declared_option_is_refused_and_names_the_known_ones() -> None:
    declared = list(discover()["launchdarkly"].options)
    with pytest.raises(ConfigError) as caught:
        create_app(options={"launchdarkly": {"require_beta_heder": False}})
    assert str(caught.value) == (
        "unknown option(s) for launchdarkly: require_beta_heder (did you mean "
        f"require_beta_header?); known: {', '.join(declared)}"
    )
    create_app(options={"launchdarkly": {"require_beta_header": False, "token_rate_limit": 5}})
    create_app(options={"openstack_heat": {"tokens": {}}, "huawei_rts": {"tokens": {}}})
    with pytest.raises(ConfigError, match=r"unknown option\(s\) for ibm_wml: speed; known: none"):
        create_app(options={"ibm_wml": {"speed": 1}})


def test_options_changed_while_serving_are_checked_the_same_way(http: httpx.Client) -> None:
    r = http.patch("/__admin/options/launchdarkly", json={"token_rate_limt": 5})
    assert r.status_code == 400 and "did you mean token_rate_limit?" in r.json()["error"]
    assert http.get("/__admin/options/launchdarkly").json()["token_rate_limit"] is None


@pytest.mark.parametrize(
    ("method", "path", "raw"),
    [
        ("POST", "/__admin/clock", b'{"advance": NaN}'),
        ("POST", "/__admin/clock", b'{"advance": 1e999}'),
        ("POST", "/__admin/faults", b"[" * 5000 + b"]" * 5000),
        ("POST", "/__admin/reset", b'{"tenant": "\\ud800"}'),
        ("PATCH", "/__admin/options/sap_ai_core", b"\xff"),
    ],
)
def test_admin_bodies_that_are_not_json_are_a_400(
    http: httpx.Client, method: str, path: str, raw: bytes
) -> None:
    r = http.request(method, path, content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    assert http.get("/__admin/clock").status_code == 200


def test_admin_bodies_are_bounded_and_limits_too(http: httpx.Client) -> None:
    big = b'{"tenant": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    as_json = {"content-type": "application/json"}
    assert http.post("/__admin/reset", content=big, headers=as_json).status_code == 413
    assert http.get("/__admin/requests", params={"limit": "9" * 5000}).status_code == 400
    assert http.get("/__admin/requests", params={"limit": "5"}).status_code == 200


@pytest.mark.parametrize("seconds", [1e12, -1, "soon", True])
def test_clock_moves_are_finite_and_bounded(http: httpx.Client, seconds: Any) -> None:
    before = http.get("/__admin/clock").json()["now"]
    r = http.post("/__admin/clock", json={"advance": seconds})
    assert r.status_code == 400 and "advance" in r.json()["error"]
    assert http.get("/__admin/clock").json()["now"] == before
    created = http.post("/sap_ai_core/v2/lm/configurations", headers=SAP, json=CONFIG)
    assert created.status_code == 201
