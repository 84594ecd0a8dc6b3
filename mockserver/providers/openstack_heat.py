"""OpenStack Heat software configs and deployments (orchestration API v1), served by the shared
Heat engine in `_heat_engine.py`. Paths: `/v1/{tenant_id}/software_configs|software_deployments`.

Semantics: ../shared/reference/vendors.md section 3; https://docs.openstack.org/api-ref/orchestration/v1/
("Software config"); every choice is stated in `openapi/openstack_heat.yaml`. Heat has no
asynchronous state machine of its own for software deployments (their status is what clients
PUT), so this provider has no delays and no outcomes. Auth: `X-Auth-Token` (Keystone).
"""

from __future__ import annotations

from mockserver.providers._heat_engine import Flavor, build

PROVIDER = build(
    Flavor(
        name="openstack_heat",
        spec="openstack_heat.yaml",
        project_param="tenant_id",
        identity_uri="http://localhost:5000/v3",
        description="OpenStack Heat v1 software configs and software deployments",
    )
)
