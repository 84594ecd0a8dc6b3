"""The contract hints recommended for the providers that exist (see the report of issue 7).

They belong in each provider's `Provider(contract=...)`; until a provider sets them, the tests
pass them explicitly, which shows both that they hold for the real provider and that the
checks they enable catch a broken one.
"""

from __future__ import annotations

from typing import Any

SAP_AI_CORE: dict[str, Any] = {
    "state": "/status",
    "transitional": ["UNKNOWN", "PENDING", "STOPPING"],
    "failed": ["DEAD"],
    "volatile": ["/status", "/modifiedAt", "/deploymentUrl", "/startTime", "/completionTime"],
    "forbidden": [
        {
            "operation": "deployment.modify",
            "body_keys": ["targetStatus"],
            "states": ["UNKNOWN", "STOPPING", "STOPPED", "DEAD"],
            "status": 412,
        },
        {
            "operation": "deployment.modify",
            "body_keys": ["configurationId"],
            "states": ["UNKNOWN", "STOPPING", "STOPPED"],
            "status": 412,
        },
        {
            "operation": "deployment.delete",
            "states": ["PENDING", "RUNNING", "STOPPING"],
            "status": 412,
        },
    ],
    "cleanup": {
        "deployment.delete": {"operation": "deployment.modify", "body": {"targetStatus": "STOPPED"}}
    },
}

RESTART_PATHS = [
    "/asset",
    "/prompt_template",
    "/base_model_id",
    "/hardware_spec",
    "/hardware_request",
]
IBM_WML: dict[str, Any] = {
    "state": "/entity/status/state",
    "transitional": ["initializing", "updating"],
    "failed": ["failed"],
    "volatile": ["/entity/status", "/metadata/modified_at"],
    "forbidden": [
        {
            "operation": "deploymentsUpdate",
            "patch_paths": RESTART_PATHS,
            "states": ["initializing", "updating"],
            "status": 409,
        }
    ],
}

HINTS = {"sap_ai_core": SAP_AI_CORE, "ibm_wml": IBM_WML}
