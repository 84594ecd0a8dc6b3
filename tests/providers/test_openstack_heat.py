"""What only `openstack_heat` does; the shared Heat semantics are in test_heat_engine.py."""

from __future__ import annotations

import httpx
import pytest

from mockserver.app import create_app, mock_of
from mockserver.clock import VirtualClock
from pytest_plugin.transport import InProcessTransport

PROVIDER = "openstack_heat"


def test_challenge_names_keystone(mockserver):
    anon = mockserver.client(PROVIDER, auth=False)
    resp = anon.get(f"/v1/{mockserver.tenant}/software_configs")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == 'Keystone uri="http://localhost:5000/v3"'


def test_paths_use_tenant_id(mockserver):
    spec = mockserver.mock.specs[PROVIDER]
    templates = {op.template for op in spec.operations.values()}
    assert "/v1/{tenant_id}/software_deployments/{deployment_id}" in templates
    assert not any("project_id" in t for t in templates)


def test_signed_requests_are_not_accepted(mockserver):
    """AK/SK signing is Huawei's; Heat wants a Keystone token."""
    signed = mockserver.client(
        PROVIDER,
        auth=False,
        headers={
            "Authorization": "SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=00",
            "X-Project-Id": mockserver.tenant,
        },
    )
    assert signed.get(f"/v1/{mockserver.tenant}/software_configs").status_code == 401


@pytest.fixture
def custom_identity():
    app = create_app(
        providers=[PROVIDER],
        clock=VirtualClock.fake(),
        validate_responses=True,
        options={PROVIDER: {"identity_uri": "https://keystone.example/v3"}},
    )
    transport = InProcessTransport(app)
    yield httpx.Client(transport=transport, base_url=f"http://deploymock/{PROVIDER}")
    transport.close()
    assert mock_of(app).errors == []


def test_identity_uri_is_an_option(custom_identity):
    resp = custom_identity.get("/v1/p/software_deployments")
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == 'Keystone uri="https://keystone.example/v3"'
