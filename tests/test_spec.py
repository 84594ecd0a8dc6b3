"""Specs are valid OpenAPI 3.1, and the router/validator built from them behaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from openapi_spec_validator import validate

from mockserver.errors import Invalid, MethodNotAllowed, NotFound
from mockserver.spec import Spec, load_document, spec_dir

SPECS = sorted(p.name for p in spec_dir().glob("*.yaml"))


@pytest.mark.parametrize("filename", SPECS)
def test_spec_is_valid_openapi_31(filename: str) -> None:
    doc = load_document(filename)
    assert doc["openapi"].startswith("3.1")
    validate(doc)


@pytest.mark.parametrize("filename", SPECS)
def test_every_operation_has_an_id_and_documents_its_errors(filename: str) -> None:
    spec = Spec(filename)
    for op in spec.operations.values():
        assert any(s.startswith("2") or s.startswith("3") for s in op.responses), op.operation_id
        if op.secured:
            assert "401" in op.responses, f"{op.operation_id} has no 401"


def test_specs_ship_in_the_repository_layout() -> None:
    assert (Path(__file__).parents[1] / "openapi" / "sap_ai_core.yaml").is_file()


@pytest.fixture(scope="module")
def sap() -> Spec:
    return Spec("sap_ai_core.yaml")


def test_literal_segments_win_over_templates(sap: Spec) -> None:
    op, params = sap.match("GET", "/v2/lm/deployments/$count")
    assert (op.operation_id, params) == ("deployment.count", {})
    op, params = sap.match("GET", "/v2/lm/deployments/abcd1234")
    assert (op.operation_id, params) == ("deployment.get", {"deploymentId": "abcd1234"})
    op, _ = sap.match("PATCH", "/v2/lm/deployments/")
    assert op.operation_id == "deployment.batch_modify"


def test_unknown_path_and_method(sap: Spec) -> None:
    with pytest.raises(NotFound):
        sap.match("GET", "/v2/lm/nothing")
    with pytest.raises(MethodNotAllowed) as info:
        sap.match("PUT", "/v2/lm/deployments/abcd1234")
    assert set(info.value.headers["Allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    with pytest.raises(MethodNotAllowed) as info:  # not PATCH of a deployment called "$count"
        sap.match("PATCH", "/v2/lm/deployments/$count")
    assert info.value.headers["Allow"] == "GET"


def test_int64_and_int32_formats_are_enforced() -> None:
    from jsonschema import Draft202012Validator

    from mockserver.spec import formats

    int64 = Draft202012Validator({"type": "integer", "format": "int64"}, format_checker=formats())
    assert int64.is_valid(2**63 - 1) and not int64.is_valid(2**63)
    int32 = Draft202012Validator({"type": "integer", "format": "int32"}, format_checker=formats())
    assert int32.is_valid(-(2**31)) and not int32.is_valid(2**31)


def test_a_default_response_is_found() -> None:
    spec = Spec("ibm_wml.yaml")
    op = next(o for o in spec.operations.values() if "default" in o.responses)
    assert "DEFAULT" not in op.responses


def test_query_values_are_coerced_by_schema_type(sap: Spec) -> None:
    op = sap.operations["deployment.query"]
    _, query, header, invalid = op.validate_request(
        {},
        {"$top": ["5"], "executableIds": ["exec-a,exec-b"], "status": ["RUNNING"]},
        {"AI-Resource-Group": "rg"},
        None,
        False,
        None,
    )
    assert query == {"$top": 5, "executableIds": ["exec-a", "exec-b"], "status": "RUNNING"}
    assert header == {"AI-Resource-Group": "rg"}
    assert invalid is None


def test_validation_collects_every_problem(sap: Spec) -> None:
    op = sap.operations["deployment.query"]
    checked = op.validate_request({}, {"$top": ["x"], "status": ["NOPE"]}, {}, None, False, None)
    assert isinstance(checked.invalid, Invalid)
    fields = sorted(d["field"] for d in checked.invalid.details)
    assert fields == ["header.AI-Resource-Group", "query.$top", "query.status"]
    assert checked.query == {"$top": "x", "status": "NOPE"}  # what was sent, for the journal


def test_required_body_and_content_type(sap: Spec) -> None:
    op = sap.operations["deployment.create"]
    headers = {"AI-Resource-Group": "rg"}
    missing = op.validate_request({}, {}, headers, None, False, "application/json").invalid
    assert missing is not None and "request body is required" in missing.message
    body = {"configurationId": "abcd"}
    text = op.validate_request({}, {}, headers, body, True, "text/plain").invalid
    assert text is not None and "not accepted" in text.message
    json_utf8 = "application/json; charset=utf-8"
    assert op.validate_request({}, {}, headers, body, True, json_utf8).invalid is None


def test_response_validation_names_the_problem(sap: Spec) -> None:
    op = sap.operations["deployment.modify"]
    assert op.validate_response(202, {"id": "abcd1234", "message": "ok"}) == []
    assert op.validate_response(200, {"id": "abcd1234", "message": "ok"}) == [
        "status 200 is not documented for deployment.modify"
    ]
    problems = op.validate_response(202, {"id": "abcd1234"})
    assert problems == ["body: 'message' is a required property"]
    error = {"error": {"code": "x", "message": "y", "requestId": "r", "target": "/t"}}
    assert op.validate_response(412, error) == []
    assert op.validate_response(412, {"message": "y"}) != []


def test_an_undeclared_json_media_type_is_still_validated(sap: Spec) -> None:
    op = sap.operations["deployment.batch_modify"]  # declares only application/merge-patch+json
    checked = op.validate_request(
        {}, {}, {"AI-Resource-Group": "rg"}, "not an object", True, "application/json"
    )
    assert isinstance(checked.invalid, Invalid)


def test_parsed_specs_are_cached_as_json_by_content(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEPLOYMOCK_CACHE_DIR", str(tmp_path))
    load_document.cache_clear()
    first = load_document("sap_ai_core.yaml")
    cached = list(tmp_path.glob("*.json"))
    assert len(cached) == 1
    load_document.cache_clear()
    assert load_document("sap_ai_core.yaml") == first  # read back from the cache
    cached[0].write_text("{not json")  # a broken cache is no cache
    load_document.cache_clear()
    assert load_document("sap_ai_core.yaml") == first
    load_document.cache_clear()


def test_what_json_cannot_hold_exactly_is_not_cached(tmp_path: Path, monkeypatch) -> None:
    from mockserver import spec

    monkeypatch.setenv("DEPLOYMOCK_CACHE_DIR", str(tmp_path))
    spec._cache(b"openapi: 3.1.0\npaths: {}\nx: {200: ok}\n", {"x": {200: "ok"}})
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("DEPLOYMOCK_CACHE_DIR", "/proc/no-such-place")  # not writable: no cache
    spec._cache(b"openapi: 3.1.0\n", {"openapi": "3.1.0"})
