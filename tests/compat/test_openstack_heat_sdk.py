"""Compat test: python-heatclient and openstacksdk, unmodified, against the live mock under its
`/openstack_heat` prefix.

Pins: ``python-heatclient==5.3.0``, ``openstacksdk==4.22.0`` (with ``keystoneauth1==5.18.1``).
Neither talks to Keystone here: heatclient takes an endpoint and a token; openstacksdk uses the
``admin_token`` auth plugin with an endpoint override, and still discovers versions with an
unauthenticated ``GET <prefix>/v1`` whose ``href`` it rebuilds later URLs from.
"""

from __future__ import annotations

import uuid

import pytest

pytest.importorskip("heatclient")
pytest.importorskip("openstack")

import openstack
from heatclient import client as heat_client
from heatclient import exc as heat_exc
from openstack import exceptions as os_exc

pytestmark = [
    pytest.mark.compat,
    # Both SDKs leave requests sessions for the garbage collector.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
    # openstacksdk 4.22 warns about its own internals (InfluxDB default, _compute_attributes).
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
    pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning"),
]

PROVIDER = "openstack_heat"
TOKEN = "compat-token"


@pytest.fixture
def endpoint(mockserver_live, mockserver):
    return f"{mockserver_live.url(PROVIDER)}/v1/{mockserver.tenant}"


@pytest.fixture
def heat(endpoint):
    return heat_client.Client("1", endpoint=endpoint, token=TOKEN)


@pytest.fixture
def conn(endpoint):
    connection = openstack.connect(
        auth_type="admin_token",
        auth={"endpoint": endpoint, "token": TOKEN},
        orchestration_endpoint_override=endpoint,
        load_yaml_config=False,
        load_envvars=False,
    )
    yield connection
    connection.close()


def test_heatclient_config_deployment_partial_updates(heat, mockserver):
    config = heat.software_configs.create(
        name="compat-config",
        group="script",
        config="#!/bin/sh\necho hi",
        inputs=[{"name": "foo"}],
        outputs=[{"name": "result"}],
    )
    assert config.id
    assert heat.software_configs.get(config.id).inputs == [{"name": "foo", "type": "String"}]
    assert config.id in {c.id for c in heat.software_configs.list()}

    dep = heat.software_deployments.create(
        config_id=config.id,
        server_id="srv-hc",
        action="CREATE",
        status="IN_PROGRESS",
        status_reason="Deploy data available",
        input_values={"foo": "bar"},
    )
    assert (dep.status, dep.action, dep.server_id) == ("IN_PROGRESS", "CREATE", "srv-hc")
    mockserver.clock.advance(30)

    # heatclient sends exactly the kwargs given: a partial PUT, None as null.
    done = heat.software_deployments.update(
        dep.id,
        status="COMPLETE",
        status_reason="Outputs received",
        output_values={"deploy_status_code": 0, "result": "ok"},
        action=None,
    )
    assert done.status == "COMPLETE"
    assert done.action == "CREATE"
    assert done.input_values == {"foo": "bar"}
    assert done.updated_time > done.creation_time

    heat.software_deployments.update(dep.id, output_values={"deploy_status_code": 1})
    got = heat.software_deployments.get(dep.id)
    assert got.status == "COMPLETE"  # a non-zero code does not change the status sent
    assert got.output_values == {"deploy_status_code": 1}
    assert got.creation_time == dep.creation_time

    assert [d.id for d in heat.software_deployments.list(server_id="srv-hc")] == [dep.id]
    assert [c["id"] for c in heat.software_deployments.metadata("srv-hc")] == [config.id]

    with pytest.raises(heat_exc.HTTPConflict):
        heat.software_configs.delete(config.id)
    heat.software_deployments.delete(dep.id)
    heat.software_configs.delete(config.id)
    assert not any(mockserver.state(PROVIDER).values())  # nothing left


def test_heatclient_errors(heat):
    missing = str(uuid.uuid4())
    with pytest.raises(heat_exc.HTTPNotFound) as not_found:
        heat.software_deployments.get(missing)
    assert f"Deployment with id {missing} not found" in str(not_found.value)

    config = heat.software_configs.create(name="c")
    dep = heat.software_deployments.create(config_id=config.id, server_id="s")
    with pytest.raises(heat_exc.HTTPBadRequest):
        heat.software_deployments.update(dep.id, status="DONE")
    with pytest.raises(heat_exc.HTTPBadRequest) as bad_config:
        heat.software_deployments.update(dep.id, config_id=missing)
    assert f"Config with id {missing} not found" in str(bad_config.value)
    with pytest.raises(heat_exc.HTTPNotFound):
        heat.software_deployments.update(missing, status="COMPLETE")
    assert heat.software_deployments.get(dep.id).status is None


def test_heatclient_without_token_is_unauthorized(endpoint):
    anonymous = heat_client.Client("1", endpoint=endpoint, token="")
    with pytest.raises(heat_exc.HTTPUnauthorized):
        anonymous.software_configs.list()


def test_openstacksdk_discovers_the_prefix_and_updates(conn, mockserver):
    journal = mockserver.mock.journal
    start = max((e.seq for e in journal.entries()), default=0)
    config = conn.orchestration.create_software_config(name="sdk", group="script", config="x")
    dep = conn.orchestration.create_software_deployment(
        config_id=config.id,
        server_id="srv-sdk",
        action="CREATE",
        status="IN_PROGRESS",
    )
    mockserver.clock.advance(30)
    updated = conn.orchestration.update_software_deployment(
        dep,
        status="COMPLETE",
        output_values={"result": "ok", "deploy_status_code": 0},
    )
    assert updated.status == "COMPLETE"
    assert updated.action == "CREATE"
    assert updated.updated_at > updated.created_at

    # openstacksdk sends only the changed attributes.
    again = conn.orchestration.update_software_deployment(dep.id, status_reason="checked")
    assert again.status == "COMPLETE"
    assert again.output_values == {"result": "ok", "deploy_status_code": 0}
    got = conn.orchestration.get_software_deployment(dep.id)
    assert (got.status, got.status_reason, got.server_id) == ("COMPLETE", "checked", "srv-sdk")

    # The version document was read under the prefix and every later call stayed there.
    discovery = [
        e
        for e in journal.entries(provider=PROVIDER)
        if e.seq > start and e.operation_id in {"showVersionV1", "listVersions"}
    ]
    assert [(e.path, e.status) for e in discovery] == [(f"/{PROVIDER}/v1", 300)]
    calls = mockserver.requests(PROVIDER)
    assert [e.operation_id for e in calls] == [
        "createSoftwareConfig",
        "createSoftwareDeployment",
        "updateSoftwareDeployment",
        "updateSoftwareDeployment",
        "showSoftwareDeployment",
    ]
    assert all(e.path.startswith(f"/{PROVIDER}/v1/{mockserver.tenant}/") for e in calls)
    puts = mockserver.requests(PROVIDER, operation_id="updateSoftwareDeployment")
    assert puts[1].body == {"status_reason": "checked"}

    conn.orchestration.delete_software_deployment(dep)
    conn.orchestration.delete_software_config(config)
    assert not any(mockserver.state(PROVIDER).values())  # nothing left


def test_openstacksdk_errors(conn):
    with pytest.raises(os_exc.NotFoundException):
        conn.orchestration.get_software_deployment(str(uuid.uuid4()))
    config = conn.orchestration.create_software_config(name="c")
    dep = conn.orchestration.create_software_deployment(config_id=config.id, server_id="s")
    with pytest.raises(os_exc.BadRequestException):
        conn.orchestration.update_software_deployment(dep, status="DONE")
    assert conn.orchestration.get_software_deployment(dep.id).status is None
