"""Compat test: the official SAP AI Core Python SDK, set up the way SAP documents it (a service
key's `url`, `clientid` and `clientsecret`), against the live deploymock server.

``AICoreV2Client(base_url=<AI_API_URL>/v2, auth_url=<url>/oauth/token, client_id=...,
client_secret=..., resource_group=...)``: the SDK (``ai_api_client_sdk.helpers.authenticator``)
posts the form ``grant_type=client_credentials&client_id=...&client_secret=...`` to
``auth_url`` as given, reads ``access_token`` and ``expires_in``, and sends
``Authorization: Bearer <access_token>`` on every API request. Skipped where the SDK is not
installed.
"""

from __future__ import annotations

import base64
import json

import pytest

pytest.importorskip("ai_core_sdk")
pytest.importorskip("ai_api_client_sdk")

from ai_api_client_sdk.exception import AIAPIAuthenticatorAuthorizationException
from ai_api_client_sdk.models.parameter_binding import ParameterBinding
from ai_api_client_sdk.models.status import Status
from ai_api_client_sdk.models.target_status import TargetStatus
from ai_core_sdk.ai_core_v2_client import AICoreV2Client

pytestmark = [
    pytest.mark.compat,
    # As in test_sap_ai_core_sdk.py: the SDK leaks a requests.Session per call.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

PROVIDER = "sap_ai_core"
SETTLE_SECONDS = 3600


@pytest.fixture
def service_key(mockserver_live, mockserver):
    return mockserver.admin(PROVIDER, "service_key", base_url=mockserver_live.url(PROVIDER))


def _client(service_key, resource_group, secret=None):
    return AICoreV2Client(
        base_url=service_key["serviceurls"]["AI_API_URL"] + "/v2",
        auth_url=service_key["url"] + "/oauth/token",
        client_id=service_key["clientid"],
        client_secret=secret or service_key["clientsecret"],
        resource_group=resource_group,
        read_timeout=30,
        connect_timeout=10,
    )


def _config(client, name, model):
    return client.configuration.create(
        name=name,
        scenario_id="auth-scenario",
        executable_id="auth-executable",
        parameter_bindings=[ParameterBinding(key="modelName", value=model)],
    ).id


def test_sdk_with_client_credentials_creates_and_modifies(service_key, mockserver):
    client = _client(service_key, mockserver.tenant)
    cfg1 = _config(client, "auth-config-a", "m1")
    created = client.deployment.create(configuration_id=cfg1)
    assert created.status in {Status.UNKNOWN, Status.PENDING}

    mockserver.clock.advance(SETTLE_SECONDS)
    assert client.deployment.get(created.id).status is Status.RUNNING

    cfg2 = _config(client, "auth-config-b", "m2")
    assert client.deployment.modify(created.id, configuration_id=cfg2).id == created.id
    mockserver.clock.advance(SETTLE_SECONDS)
    dep = client.deployment.get(created.id)
    assert dep.status is Status.RUNNING
    assert dep.configuration_id == cfg2
    assert dep.latest_running_configuration_id == cfg2
    assert dep.target_status is TargetStatus.RUNNING

    # One token, cached by the SDK for every request after it.
    tokens = mockserver.requests(PROVIDER, operation_id="oauth.token")
    assert [e.status for e in tokens] == [200]
    assert tokens[0].body["client_id"] == service_key["clientid"]
    assert tokens[0].body["grant_type"] == "client_credentials"


def test_sdk_token_names_the_client_and_expires_on_the_mock_clock(service_key, mockserver):
    client = _client(service_key, mockserver.tenant)
    authorization = client.rest_client.get_token()
    scheme, _, token = authorization.partition(" ")
    assert scheme == "Bearer"
    payload = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert payload["client_id"] == service_key["clientid"]
    assert payload["zid"] == mockserver.tenant
    assert payload["exp"] == int(mockserver.clock.now()) + 43199


def test_sdk_with_a_wrong_secret_is_refused(service_key, mockserver):
    client = _client(service_key, mockserver.tenant, secret="not-the-secret")
    with pytest.raises(AIAPIAuthenticatorAuthorizationException):
        client.deployment.query()


def test_sdk_from_env_reads_the_service_key(service_key, mockserver, monkeypatch, tmp_path):
    # The SDK appends /oauth/token to `url` and /v2 to `serviceurls.AI_API_URL` itself.
    monkeypatch.setenv("AICORE_HOME", str(tmp_path))  # no config file of the machine's
    monkeypatch.setenv("AICORE_SERVICE_KEY", json.dumps(service_key))
    monkeypatch.setenv("AICORE_RESOURCE_GROUP", mockserver.tenant)
    client = AICoreV2Client.from_env(read_timeout=30, connect_timeout=10)
    assert client.deployment.query().count == 0
    assert len(mockserver.requests(PROVIDER, operation_id="oauth.token")) == 1
