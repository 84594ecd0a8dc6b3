"""Compat test: the official SAP AI Core Python SDK against the live deploymock server.

Runs ``sap-ai-sdk-core==3.5.0`` (with ``sap-ai-sdk-base==3.4.0``, which ships the
``ai_api_client_sdk`` package) unmodified. Skipped where the SDK is not installed.

Client construction notes (see notes/sap_sdk.md):
* ``base_url`` is ``<provider base>/v2``; the SDK appends ``/lm`` itself.
* Pass ``token_creator`` ONLY. Passing it together with auth_url/client_id/client_secret
  raises ``AIAPIAuthenticatorException`` at construction. The callable's return value is
  sent verbatim as the ``Authorization`` header, so it must include ``Bearer ``.
* ``resource_group`` becomes the ``AI-Resource-Group`` header on every request.
"""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("ai_core_sdk")
pytest.importorskip("ai_api_client_sdk")

from ai_api_client_sdk.models.base_models import BasicResponse
from ai_api_client_sdk.models.deployment import Deployment
from ai_api_client_sdk.models.deployment_get_status_response import (
    DeploymentGetStatusResponse,
)
from ai_api_client_sdk.models.parameter_binding import ParameterBinding
from ai_api_client_sdk.models.status import Status
from ai_api_client_sdk.models.target_status import TargetStatus
from ai_core_sdk.ai_core_v2_client import AICoreV2Client
from ai_core_sdk.exception import (
    AIAPIInvalidRequestException,
    AIAPINotFoundException,
    AIAPIServerException,
)

pytestmark = [
    pytest.mark.compat,
    # The SDK opens a new requests.Session per call and never closes it; on error paths
    # (e.g. urllib3 RetryError) the leaked socket raises ResourceWarning from __del__, which
    # filterwarnings=error would turn into a failure unrelated to the mock.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PROVIDER = "sap_ai_core"
SCENARIO_ID = "compat-scenario"
EXECUTABLE_ID = "compat-executable"
# Advancing this far always completes UNKNOWN -> PENDING -> RUNNING and STOPPING -> STOPPED.
SETTLE_SECONDS = 3600


@pytest.fixture
def client(mockserver_live, mockserver):
    return AICoreV2Client(
        base_url=mockserver_live.url(PROVIDER) + "/v2",
        token_creator=lambda: "Bearer compat-token",
        resource_group=mockserver.tenant,
        read_timeout=30,
        connect_timeout=10,
    )


def _create_config(client, name, executable_id=EXECUTABLE_ID, model="m1"):
    resp = client.configuration.create(
        name=name,
        scenario_id=SCENARIO_ID,
        executable_id=executable_id,
        parameter_bindings=[ParameterBinding(key="modelName", value=model)],
    )
    assert isinstance(resp, BasicResponse)
    assert resp.id
    assert isinstance(resp.message, str)
    return resp.id


def _settle(client, mockserver, deployment_id):
    """Advance virtual time, then read the deployment back."""
    mockserver.clock.advance(SETTLE_SECONDS)
    dep = client.deployment.get(deployment_id)
    assert isinstance(dep, Deployment)
    return dep


def _running_deployment(client, mockserver, config_id):
    created = client.deployment.create(configuration_id=config_id)
    assert created.id
    assert isinstance(created.message, str)
    assert created.status in {Status.UNKNOWN, Status.PENDING}
    dep = _settle(client, mockserver, created.id)
    assert dep.status is Status.RUNNING
    return dep


def test_update_lifecycle(client, mockserver):
    cfg1 = _create_config(client, "compat-config-a", model="m1")
    got = client.configuration.get(cfg1)
    assert got.id == cfg1
    assert got.name == "compat-config-a"
    assert got.scenario_id == SCENARIO_ID
    assert got.executable_id == EXECUTABLE_ID
    assert got.created_at is not None

    created = client.deployment.create(configuration_id=cfg1)
    assert created.status in {Status.UNKNOWN, Status.PENDING}
    assert isinstance(created.deployment_url, str)
    dep_id = created.id

    first = client.deployment.get(dep_id)
    assert first.id == dep_id
    assert first.configuration_id == cfg1
    assert first.configuration_name == "compat-config-a"
    assert first.scenario_id == SCENARIO_ID
    assert first.target_status is TargetStatus.RUNNING
    assert first.last_operation is not None
    assert first.last_operation.value == "CREATE"

    running = _settle(client, mockserver, dep_id)
    assert running.status is Status.RUNNING
    assert running.latest_running_configuration_id == cfg1
    url_before = running.deployment_url

    # Second configuration: same scenarioId and executableId, different bindings.
    cfg2 = _create_config(client, "compat-config-b", model="m2")
    assert cfg2 != cfg1

    resp = client.deployment.modify(dep_id, configuration_id=cfg2)
    assert isinstance(resp, BasicResponse)
    assert resp.id == dep_id
    assert isinstance(resp.message, str)

    updating = client.deployment.get(dep_id)
    assert updating.configuration_id == cfg2
    assert updating.configuration_name == "compat-config-b"
    assert updating.last_operation.value == "UPDATE"
    assert updating.status is Status.PENDING
    assert updating.target_status is TargetStatus.RUNNING
    # Only changes once the new configuration reaches RUNNING.
    assert updating.latest_running_configuration_id == cfg1
    assert updating.deployment_url == url_before

    updated = _settle(client, mockserver, dep_id)
    assert updated.status is Status.RUNNING
    assert updated.configuration_id == cfg2
    assert updated.latest_running_configuration_id == cfg2

    # $select=status returns the slim status view (the SDK crashes on any extra key).
    slim = client.deployment.get(dep_id, select="status")
    assert isinstance(slim, DeploymentGetStatusResponse)
    assert slim.id == dep_id
    assert slim.configuration_id == cfg2
    assert slim.status is Status.RUNNING

    listed = client.deployment.query(configuration_id=cfg2)
    assert dep_id in {d.id for d in listed.resources}
    assert listed.count >= 1

    stop = client.deployment.modify(dep_id, target_status=TargetStatus.STOPPED)
    assert stop.id == dep_id
    stopping = client.deployment.get(dep_id)
    assert stopping.target_status is TargetStatus.STOPPED
    assert stopping.status in {Status.STOPPING, Status.STOPPED}

    stopped = _settle(client, mockserver, dep_id)
    assert stopped.status is Status.STOPPED

    deleted = client.deployment.delete(dep_id)
    assert isinstance(deleted, BasicResponse)
    assert deleted.id == dep_id
    assert isinstance(deleted.message, str)


def test_get_unknown_deployment_is_404(client):
    with pytest.raises(AIAPINotFoundException) as excinfo:
        client.deployment.get(f"d{uuid.uuid4().hex[:15]}")
    err = excinfo.value
    assert err.status_code == 404
    assert err.error_code
    assert err.error_message


def test_patch_unknown_deployment_is_404(client):
    cfg = _create_config(client, "compat-config-404")
    with pytest.raises(AIAPINotFoundException) as excinfo:
        client.deployment.modify(f"d{uuid.uuid4().hex[:15]}", configuration_id=cfg)
    assert excinfo.value.status_code == 404
    assert excinfo.value.error_code
    assert excinfo.value.error_message


def test_patch_to_other_executable_is_400(client, mockserver):
    cfg1 = _create_config(client, "compat-config-a")
    dep = _running_deployment(client, mockserver, cfg1)
    other = _create_config(client, "compat-config-other", executable_id="compat-other-executable")

    with pytest.raises(AIAPIInvalidRequestException) as excinfo:
        client.deployment.modify(dep.id, configuration_id=other)
    err = excinfo.value
    assert err.status_code == 400
    assert err.error_code
    assert err.error_message
    # AIAPIInvalidRequestException is also an AIAPIServerException (SDK hierarchy).
    assert isinstance(err, AIAPIServerException)

    unchanged = client.deployment.get(dep.id)
    assert unchanged.configuration_id == cfg1
    assert unchanged.status is Status.RUNNING


def test_rollback_from_dead(client, mockserver):
    """A failed update ends DEAD; PATCHing back to latestRunningConfigurationId recovers."""
    cfg1 = _create_config(client, "compat-config-good", model="good")
    dep = _running_deployment(client, mockserver, cfg1)
    cfg2 = _create_config(client, "compat-config-bad", model="bad")

    mockserver.outcome(PROVIDER, "DEAD")
    client.deployment.modify(dep.id, configuration_id=cfg2)
    dead = _settle(client, mockserver, dep.id)
    assert dead.status is Status.DEAD
    assert dead.configuration_id == cfg2
    assert dead.latest_running_configuration_id == cfg1

    client.deployment.modify(dep.id, configuration_id=dead.latest_running_configuration_id)
    recovering = client.deployment.get(dep.id)
    assert recovering.configuration_id == cfg1
    assert recovering.last_operation.value == "UPDATE"

    recovered = _settle(client, mockserver, dep.id)
    assert recovered.status is Status.RUNNING
    assert recovered.latest_running_configuration_id == cfg1
