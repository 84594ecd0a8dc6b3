"""Huawei Cloud RTS (Resource Template Service) software configs and deployments, served by the
shared Heat engine in `_heat_engine.py`: RTS runs Heat, with `{project_id}` in the paths.

Semantics: ../shared/reference/vendors.md section 4; the RTS API reference, "Software
Configuration Management" (e.g. "Updating a Software Deployment"); every choice is stated in
`openapi/huawei_rts.yaml`. There is no asynchronous state machine (a deployment's status is what
clients PUT), so no delays and no outcomes. Auth: an IAM token in `X-Auth-Token`, or an AK/SK
request signed by huaweicloudsdkcore (`Authorization: SDK-HMAC-SHA256 ...` with
`X-Project-Id`), whose signature is not verified. huaweicloudsdkcore drops any path prefix, so
serve this provider at the root of a port: `deploymock serve --provider huawei_rts`.
"""

from __future__ import annotations

from mockserver.providers._heat_engine import Flavor, build

PROVIDER = build(
    Flavor(
        name="huawei_rts",
        spec="huawei_rts.yaml",
        project_param="project_id",
        identity_uri="https://iam.myhuaweicloud.com/v3",
        signed_requests=True,
        description="Huawei Cloud RTS v1 software configs and software deployments",
    )
)
