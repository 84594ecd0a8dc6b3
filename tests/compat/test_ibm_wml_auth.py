"""Compat test: the official IBM watsonx.ai Python SDK set up with an API key, the way IBM
documents it (``Credentials(url=..., api_key=...)``), against the live deploymock server (https).

What the SDK (``ibm-watsonx-ai==1.8.1``) does with an API key, read from its sources:
* With ``platform_url`` (or an IBM Cloud ``url``) it is IBM Cloud, and
  ``utils.auth.iam_auth.IAMTokenAuth`` posts the form
  ``apikey=<key>&grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey`` with
  ``Authorization: Basic Yng6Yng=`` to ``Credentials.auth_url`` when given, else to
  ``https://iam.cloud.ibm.com/identity/token`` (an IBM Cloud ``url``) or
  ``https://iam.test.cloud.ibm.com/identity/token`` (any other ``url``). A custom ``url`` alone
  never sends it to the mock, hence ``auth_url=<mock>/identity/token``.
* It reads ``access_token`` only, and asks again when the JWT's ``exp`` is less than 15 minutes
  (1 minute for short tokens) away by the wall clock: the mock's clock starts in 2026-01-01, so
  it asks before every call, which the mock answers each time.
* Without ``platform_url`` a non-IBM ``url`` is Cloud Pak for Data (``ICPAuth``: needs
  ``username`` and ``version`` and posts JSON to ``<url>/icp4d-api/v1/authorize``), which the
  mock does not serve.

The API key is the test's space id: the token request's tenant is its key, so tokens expire on
the space's clock. See ``test_ibm_wml_sdk.py`` for the TLS and clock set-up.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

pytest.importorskip("ibm_watsonx_ai")

import ibm_watsonx_ai.deployments as sdk_deployments
from ibm_watsonx_ai import APIClient, Credentials
from ibm_watsonx_ai.wml_client_error import InvalidCredentialsError

pytestmark = [pytest.mark.compat, pytest.mark.mockserver(provider="ibm_wml")]

PROVIDER = "ibm_wml"


@pytest.fixture
def tls(mockserver_live_tls: Any, mockserver: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delenv("WX_CLIENT_VERIFY_REQUESTS", raising=False)  # would override the trust
    monkeypatch.setenv("SSL_CERT_FILE", mockserver_live_tls.certfile)
    monkeypatch.setattr(sdk_deployments, "time", SimpleNamespace(sleep=mockserver.clock.advance))
    return str(mockserver_live_tls.url(PROVIDER))


def credentials(url: str, api_key: str) -> Credentials:
    # IBM's docs: Credentials(url="https://us-south.ml.cloud.ibm.com", api_key=...); the mock
    # stands for both the WML URL and the platform and IAM ones.
    return Credentials(url=url, api_key=api_key, platform_url=url, auth_url=f"{url}/identity/token")


@pytest.fixture
def wml(tls: str, mockserver: Any) -> Iterator[APIClient]:
    client = APIClient(credentials(tls, mockserver.tenant), space_id=mockserver.tenant)
    yield client
    client.httpx_client.close()  # the SDK never closes its keep-alive connection


def store_model(wml: APIClient, name: str) -> dict[str, Any]:
    names = wml.repository.ModelMetaNames
    details: dict[str, Any] = wml.repository.store_model(
        model=None,  # a Decision Optimization model may be stored without content
        meta_props={
            names.NAME: name,
            names.TYPE: "do-docplex_22.1",
            names.SOFTWARE_SPEC_ID: "e51999ba-6452-5f1f-8287-17228b88b652",
        },
    )
    return details


def test_api_key_client_creates_deploys_and_patches(wml: APIClient, mockserver: Any) -> None:
    model_id = wml.repository.get_model_id(store_model(wml, "plan"))
    dep_names = wml.deployments.ConfigurationMetaNames
    created = wml.deployments.create(
        model_id, meta_props={dep_names.NAME: "dep", dep_names.ONLINE: {}}
    )
    assert created["entity"]["status"]["state"] == "ready"
    dep_id = wml.deployments.get_id(created)
    assert created["metadata"]["owner"] == "IBMid-deploymock"

    mockserver.clock.advance(600)  # tokens are asked for again on the advanced clock
    updated = wml.deployments.update(dep_id, changes={dep_names.NAME: "dep renamed"})
    assert updated["metadata"]["name"] == "dep renamed"
    details = wml.deployments.get_details(dep_id)
    assert details["metadata"]["name"] == "dep renamed"
    assert details["entity"]["status"]["state"] == "ready"

    calls = [(e.operation_id, e.status) for e in mockserver.requests()]
    assert calls[0] == ("iamToken", 200)
    assert ("createDeployment", 202) in calls
    assert ("deploymentsUpdate", 200) in calls
    assert all(status < 500 for _, status in calls)


def test_an_api_key_given_a_user_is_that_user(tls: str, mockserver: Any) -> None:
    mockserver.admin(PROVIDER, "api_key", user="IBMid-alice")
    client = APIClient(credentials(tls, mockserver.tenant), space_id=mockserver.tenant)
    try:
        assert store_model(client, "m")["metadata"]["owner"] == "IBMid-alice"
    finally:
        client.httpx_client.close()


def test_a_deleted_api_key_is_invalid_credentials(tls: str, mockserver: Any) -> None:
    mockserver.admin(PROVIDER, "api_key", deleted=True)
    # A client of our own: the SDK's would stay open, as APIClient() fails before it returns.
    with httpx.Client() as http, pytest.raises(InvalidCredentialsError, match="BXNIM0415E"):
        APIClient(
            credentials(tls, mockserver.tenant), space_id=mockserver.tenant, httpx_client=http
        )
    assert {kind for kind, found in mockserver.state().items() if found} == {"api_key"}
