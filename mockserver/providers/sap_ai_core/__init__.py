"""SAP AI Core deployments (AI API v2). PATCH changes the configuration or stops a deployment.

Semantics (../shared/reference/vendors.md section 1; https://help.sap.com/docs/sap-ai-core,
"Update a Deployment"; the spec `openapi/sap_ai_core.yaml` states every choice we made):

- A deployment goes UNKNOWN -> PENDING -> RUNNING as time passes; how PENDING ends can be decided
  by a test (RUNNING, DEAD, or stuck in PENDING).
- PATCH `configurationId` (from PENDING, RUNNING or DEAD) needs a configuration with the same
  scenarioId and executableId; the deployment goes back to PENDING with lastOperation UPDATE and
  keeps its URL; `latestRunningConfigurationId` moves only when it reaches RUNNING again.
- PATCH `targetStatus: STOPPED` (from PENDING or RUNNING) -> STOPPING -> STOPPED, for good.
- DELETE only from STOPPED, DEAD or UNKNOWN. DEAD deployments vanish 7 days after they died,
  and a deployment with a `ttl` vanishes when it runs out.
- Malformed or invalid requests are 400; a deployment whose status forbids the change is 412
  with code 01010076 (the one code SAP documents for it).
- Tokens (XSUAA, https://help.sap.com/docs/sap-ai-core "Get an Auth Token"): `POST
  /oauth/token` takes the client credentials grant as a form, the client in the form (as SAP's
  Python SDK sends it) or in HTTP Basic, and answers an unsigned JWT-shaped token expiring
  43199 s later on the tenant's clock. The tenant is the client id; any client and secret are
  accepted except a client the `service_key` admin action issued, which needs its secret.
  Errors are OAuth2's (RFC 6749 section 5.2). The API itself still accepts any bearer token.
"""

from __future__ import annotations

from typing import Any

from mockserver.provider import Call, Provider, TenantPlace
from mockserver.providers.sap_ai_core.common import authenticate, render_error
from mockserver.providers.sap_ai_core.configurations import (
    create_configuration,
    get_configuration,
    query_configurations,
)
from mockserver.providers.sap_ai_core.deployments import (
    CONFIG_CHANGE_FROM,
    DELAYS,
    DELETE_FROM,
    LIFECYCLE,
    STOP_FROM,
    batch_modify_deployments,
    count_deployments,
    create_deployment,
    delete_deployment,
    get_deployment,
    modify_deployment,
    query_deployments,
)
from mockserver.providers.sap_ai_core.oauth import (
    SERVICE_KEY,
    TOKEN_OPERATION,
    issue_token,
    service_key,
    token_tenant,
)


def tenant(call: Call) -> str:
    if call.operation_id == TOKEN_OPERATION:
        return token_tenant(call)
    return str(call.header["AI-Resource-Group"])


# Contract hints (mockserver/contract/hints.py), derived from the lifecycle above and the states
# each action needs (vendors.md section 1.5): a deployment goes UNKNOWN -> PENDING -> RUNNING by
# itself, a configuration change back to PENDING and on to RUNNING or DEAD, a stop STOPPING ->
# STOPPED; an action in a state it does not allow is SAP's documented 412 (code 01010076), and
# a running deployment is stopped before the cleanup deletes it. What the lifecycle writes as
# time passes is volatile on a live server.
CONTRACT: dict[str, Any] = {
    "state": "/status",
    "transitional": sorted(LIFECYCLE.transitional),
    "failed": sorted(LIFECYCLE.failures),
    "volatile": [
        "/status",
        "/statusMessage",
        "/modifiedAt",
        "/deploymentUrl",
        "/latestRunningConfigurationId",
        "/startTime",
        "/completionTime",
    ],
    "forbidden": [
        {
            "operation": "deployment.modify",
            "body_keys": ["targetStatus"],
            "states": LIFECYCLE.refusing(STOP_FROM),
            "status": 412,
        },
        {
            "operation": "deployment.modify",
            "body_keys": ["configurationId"],
            "states": LIFECYCLE.refusing(CONFIG_CHANGE_FROM),
            "status": 412,
        },
        {
            "operation": "deployment.delete",
            "states": LIFECYCLE.refusing(DELETE_FROM),
            "status": 412,
        },
    ],
    "cleanup": {
        "deployment.delete": {"operation": "deployment.modify", "body": {"targetStatus": "STOPPED"}}
    },
}

PROVIDER = Provider(
    name="sap_ai_core",
    spec="sap_ai_core.yaml",
    tenant=tenant,
    tenant_in=(TenantPlace("header", "AI-Resource-Group"),),
    authenticate=authenticate,
    render_error=render_error,
    client_headers=lambda tenant: {
        "Authorization": "Bearer deploymock",
        "AI-Resource-Group": tenant,
    },
    delays=DELAYS,
    outcomes=frozenset({"RUNNING", "DEAD", "PENDING"}),
    contract=CONTRACT,
    admin={"service_key": service_key},
    secret_kinds=frozenset({SERVICE_KEY}),
    handlers={
        TOKEN_OPERATION: issue_token,
        "configuration.create": create_configuration,
        "configuration.query": query_configurations,
        "configuration.get": get_configuration,
        "deployment.create": create_deployment,
        "deployment.query": query_deployments,
        "deployment.get": get_deployment,
        "deployment.modify": modify_deployment,
        "deployment.delete": delete_deployment,
        "deployment.batch_modify": batch_modify_deployments,
        "deployment.count": count_deployments,
    },
)
