"""Compat test: the official IBM watsonx.ai Python SDK against the live deploymock server (https).

Runs ``ibm-watsonx-ai==1.8.1`` unmodified. Skipped where the SDK is not installed.

Client construction notes (checked against the installed SDK):
* ``APIClient`` accepts only ``https://`` URLs, hence the ``mockserver_live_tls`` fixture. Its
  certificate is trusted through ``SSL_CERT_FILE`` (httpx reads it when ``verify=True``), set
  for this test only. ``Credentials(verify=<certfile>)`` would work too, but httpx 0.28 warns that
  ``verify=<str>`` is deprecated, and the SDK exports it as a process-wide environment variable.
* ``Credentials(url=U, platform_url=U, token=<JWT-shaped>)`` selects token auth with no IAM call;
  ``platform_url`` sends the platform routes (``/v2/spaces``, ``/wx/v1/prompts``) to the mock too.
* ``APIClient(credentials, space_id=S)`` checks the space with ``GET /v2/spaces/S`` first.
* ``deployments.create`` and ``deployments.update`` poll with ``time.sleep(5)`` between reads.
  The test points that module's ``time`` at the tenant's virtual clock, so each poll moves the
  mock's time by 5 s instead of waiting: the SDK sees the real ``initializing``/``updating`` ->
  ``ready`` sequence with the provider's default delays, in milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

pytest.importorskip("ibm_watsonx_ai")

import ibm_watsonx_ai.deployments as sdk_deployments
from ibm_watsonx_ai import APIClient, Credentials
from ibm_watsonx_ai.wml_client_error import WMLClientError

from mockserver.providers.ibm_wml import token_for

pytestmark = [pytest.mark.compat, pytest.mark.mockserver(provider="ibm_wml")]

PROVIDER = "ibm_wml"
SCHEMA_WARNING = (
    "The input schema of the asset being patched does not match with the currently deployed "
    "asset. Please ensure that the score payloads are up to date as per the asset being patched."
)


@pytest.fixture
def wml(
    mockserver_live_tls: Any, mockserver: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[APIClient]:
    url, certfile = mockserver_live_tls.url(PROVIDER), mockserver_live_tls.certfile
    monkeypatch.delenv("WX_CLIENT_VERIFY_REQUESTS", raising=False)  # would override the trust
    monkeypatch.setenv("SSL_CERT_FILE", certfile)
    monkeypatch.setattr(sdk_deployments, "time", SimpleNamespace(sleep=mockserver.clock.advance))
    credentials = Credentials(url=url, platform_url=url, token=token_for("IBMid-compat"))
    client = APIClient(credentials, space_id=mockserver.tenant)
    yield client
    # The SDK never closes its keep-alive connection; the live server would wait for it to stop.
    client.httpx_client.close()


def store_model(wml: APIClient, name: str, kind: str, field: str) -> str:
    names = wml.repository.ModelMetaNames
    details = wml.repository.store_model(
        model=None,  # a Decision Optimization model may be stored without content
        meta_props={
            names.NAME: name,
            names.TYPE: kind,
            names.SOFTWARE_SPEC_ID: "e51999ba-6452-5f1f-8287-17228b88b652",
            names.INPUT_DATA_SCHEMA: {"id": "1", "fields": [{"name": field, "type": "double"}]},
        },
    )
    assert details["metadata"]["name"] == name
    return str(wml.repository.get_model_id(details))


def deploy(wml: APIClient, model_id: str) -> str:
    names = wml.deployments.ConfigurationMetaNames
    details = wml.deployments.create(model_id, meta_props={names.NAME: "dep", names.ONLINE: {}})
    assert details["entity"]["status"]["state"] == "ready"
    assert details["entity"]["asset"] == {"id": model_id}
    return str(wml.deployments.get_id(details))


def test_store_deploy_update_and_replace_asset(wml: APIClient, mockserver: Any) -> None:
    names = wml.deployments.ConfigurationMetaNames
    first = store_model(wml, "plan v1", "do-docplex_22.1", "demand")
    dep_id = deploy(wml, first)
    assert wml.deployments.get_details(dep_id)["metadata"]["owner"] == "IBMid-compat"

    updated = wml.deployments.update(
        dep_id, changes={names.NAME: "dep renamed", names.DESCRIPTION: "now described"}
    )
    assert updated["metadata"]["name"] == "dep renamed"
    assert updated["metadata"]["description"] == "now described"
    assert updated["entity"]["status"]["state"] == "ready"

    second = store_model(wml, "plan v2", "do-docplex_22.2", "supply")
    revision = wml.repository.create_model_revision(second)
    assert revision["metadata"]["rev"] == "1"
    replaced = wml.deployments.update(dep_id, changes={"asset": {"id": second, "rev": "1"}})
    status = replaced["entity"]["status"]
    assert replaced["entity"]["asset"] == {"id": second, "rev": "1"}
    assert status["state"] == "ready"
    assert "failure" not in status
    assert status["message"]["text"] == SCHEMA_WARNING  # the two input schemas differ

    model = wml.repository.update_model(first, {wml.repository.ModelMetaNames.NAME: "plan v1b"})
    assert model["metadata"]["name"] == "plan v1b"
    assert wml.repository.get_model_details(first)["metadata"]["name"] == "plan v1b"

    calls = {(e.operation_id, e.status) for e in mockserver.requests()}
    assert {("getSpace", 200), ("getPrompt", 404), ("createDeployment", 202)} <= calls
    assert {("deploymentsUpdate", 200), ("deploymentsUpdate", 202), ("modelsUpdate", 200)} <= calls

    listed = wml.deployments.get_details()["resources"]
    assert [d["metadata"]["id"] for d in listed] == [dep_id]
    assert wml.deployments.delete(dep_id) == "SUCCESS"
    assert mockserver.state()["deployment"] == {}


def test_failed_asset_replace_keeps_the_old_asset(wml: APIClient, mockserver: Any) -> None:
    first = store_model(wml, "plan", "do-docplex_22.1", "demand")
    dep_id = deploy(wml, first)
    other = store_model(wml, "forecast", "do-cplex_22.1", "demand")  # another framework
    with pytest.raises(WMLClientError, match="Deployment update failed"):
        wml.deployments.update(dep_id, changes={"asset": {"id": other}})
    details = wml.deployments.get_details(dep_id)
    assert details["entity"]["asset"] == {"id": first}
    assert details["entity"]["status"]["state"] == "failed"
    assert details["entity"]["status"]["failure"]["errors"][0]["code"] == "deployment_patch_failed"


def test_unknown_model_is_the_sdk_invalid_input_error(wml: APIClient) -> None:
    with pytest.raises(WMLClientError, match="Unable to get the details of model_id"):
        wml.repository.update_model("0b8c3c94-9f0e-4a55-a3c4-000000000000", {"name": "x"})
