"""Compat test: the official LaunchDarkly Python client against the live deploymock server.

Runs ``launchdarkly-api==25.0.1`` unmodified. Skipped where it is not installed.

Client construction notes:
* ``Configuration(host=<provider base>)``; ``api_key['ApiKey']`` is sent verbatim as
  ``Authorization`` (no ``Bearer``). The token carries the test's tenant after its ``@``.
* The client sends ``LD-API-Version: 20240415`` by default; these beta routes need ``beta``, set
  with ``ApiClient.set_default_header`` (enforcement stays on).
* ``DeploymentRep.id`` is a ``uuid.UUID`` but the methods take ``StrictStr``: pass ``str(id)``.
* Error bodies are deserialized into the client's strict pydantic models (``exc.data``), so these
  tests also check that the mock's errors fit them.
"""

from __future__ import annotations

import json
import uuid

import pytest

pytest.importorskip("launchdarkly_api")

from launchdarkly_api import ApiClient, Configuration
from launchdarkly_api.api.insights_deployments_beta_api import InsightsDeploymentsBetaApi
from launchdarkly_api.exceptions import (
    ApiException,
    BadRequestException,
    ForbiddenException,
    NotFoundException,
    UnauthorizedException,
)
from launchdarkly_api.models.deployment_collection_rep import DeploymentCollectionRep
from launchdarkly_api.models.deployment_rep import DeploymentRep
from launchdarkly_api.models.patch_operation import PatchOperation
from launchdarkly_api.models.post_deployment_event_input import PostDeploymentEventInput
from launchdarkly_api.models.validation_failed_error_rep import ValidationFailedErrorRep

from mockserver.providers import launchdarkly as ld

pytestmark = [pytest.mark.compat, pytest.mark.mockserver(provider="launchdarkly")]

PROJECT, ENV, APP = "default", "production", "billing-service"


def insights(url, token=None, *, beta=True):
    config = Configuration(host=url)
    if token is not None:
        config.api_key["ApiKey"] = token
    client = ApiClient(config)
    if beta:
        client.set_default_header("LD-API-Version", "beta")
    return InsightsDeploymentsBetaApi(client)


@pytest.fixture
def url(mockserver_live):
    return mockserver_live.url("launchdarkly")


@pytest.fixture
def api(url, mockserver):
    return insights(url, ld.token_for(mockserver.tenant))


def start(api, version="a90a8a2", event_type="started", **extra):
    api.create_deployment_event(
        PostDeploymentEventInput(
            project_key=PROJECT,
            environment_key=ENV,
            application_key=APP,
            version=version,
            event_type=event_type,
            **extra,
        )
    )


def only(api):
    listed = api.get_deployments(PROJECT, ENV, application_key=APP)
    assert isinstance(listed, DeploymentCollectionRep)
    assert listed.total_count == 1
    return listed.items[0]


def test_event_list_patch_read_back(api, mockserver):
    now_ms = int(mockserver.clock.now() * 1000)
    assert (
        start(api, event_time=now_ms - 60_000, deployment_metadata={"buildNumber": "1234"}) is None
    )
    dep = only(api)
    assert isinstance(dep, DeploymentRep)
    assert isinstance(dep.id, uuid.UUID)  # the client parses it; its methods want str(id)
    assert (dep.status, dep.kind, dep.started_at, dep.metadata) == (
        "started",
        "deployment",
        now_ms - 60_000,
        {"buildNumber": "1234"},
    )
    assert dep.pull_requests is None

    updated = api.update_deployment(
        str(dep.id),
        [
            PatchOperation(op="test", path="/status", value="started"),
            PatchOperation(op="replace", path="/status", value="finished"),
        ],
    )
    assert isinstance(updated, DeploymentRep)
    assert updated.status == "finished"
    assert updated.id == dep.id

    again = api.get_deployment(str(dep.id))
    assert again == updated
    assert only(api) == updated
    expanded = api.get_deployment(str(dep.id), expand="pullRequests,flagReferences")
    assert (expanded.pull_requests.total_count, expanded.flag_references.total_count) == (0, 0)


def test_finished_event_sets_end_and_duration(api, mockserver):
    now_ms = int(mockserver.clock.now() * 1000)
    start(api, event_time=now_ms - 5_000)
    start(api, event_type="finished", event_time=now_ms)
    dep = only(api)
    assert (dep.status, dep.ended_at, dep.duration_ms) == ("finished", now_ms, 5_000)


def test_missing_token_is_unauthorized(url):
    with pytest.raises(UnauthorizedException) as info:
        insights(url).get_deployments(PROJECT, ENV)
    assert info.value.status == 401
    assert json.loads(info.value.body)["code"] == "unauthorized"


def test_client_default_api_version_is_forbidden(url, mockserver):
    api = insights(url, ld.token_for(mockserver.tenant), beta=False)
    with pytest.raises(ForbiddenException) as info:
        start(api)
    assert info.value.status == 403
    assert info.value.data.code == "forbidden"
    assert mockserver.state() == {}


def test_reader_token_is_forbidden_to_patch(api, url, mockserver):
    start(api)
    dep = only(api)
    token = ld.token_for(mockserver.tenant, "reader")
    mockserver.admin("launchdarkly", "set_token", token=token, role="reader")
    with pytest.raises(ForbiddenException):
        insights(url, token).update_deployment(
            str(dep.id), [PatchOperation(op="replace", path="/status", value="finished")]
        )
    assert api.get_deployment(str(dep.id)).status == "started"


def test_unknown_deployment_is_not_found(api):
    unknown = str(uuid.uuid4())
    with pytest.raises(NotFoundException) as info:
        api.get_deployment(unknown)
    assert info.value.status == 404
    assert info.value.data.code == "not_found"
    with pytest.raises(NotFoundException):
        api.update_deployment(unknown, [PatchOperation(op="replace", path="/status", value="x")])


@pytest.mark.parametrize(
    ("ops", "attribute"),
    [
        ([PatchOperation(op="test", path="/status", value="finished")], "/status"),
        ([PatchOperation(op="replace", path="/id", value=str(uuid.uuid4()))], "/id"),
        ([PatchOperation(op="replace", path="/status", value=None)], "/status"),
        ([PatchOperation(op="teleport", path="/status")], "/status"),
    ],
)
def test_bad_patch_is_bad_request_and_changes_nothing(api, ops, attribute):
    start(api)
    dep = only(api)
    with pytest.raises(BadRequestException) as info:
        api.update_deployment(str(dep.id), ops)
    err = info.value.data
    assert isinstance(err, ValidationFailedErrorRep)
    assert err.code == "invalid_request"
    assert err.errors[0].attribute == attribute
    assert api.get_deployment(str(dep.id)) == dep


def test_limit_out_of_range_is_bad_request(api):
    with pytest.raises(BadRequestException) as info:
        api.get_deployments(PROJECT, ENV, limit=101)
    assert info.value.data.errors[0].attribute == "limit"


def test_every_error_is_an_api_exception(api):
    with pytest.raises(ApiException):
        api.get_deployment(str(uuid.uuid4()))
