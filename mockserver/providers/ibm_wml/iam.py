"""IBM Cloud IAM's token endpoint, `POST /identity/token`, as the WML provider serves it.

The Python SDK (`ibm_watsonx_ai.utils.auth.iam_auth.IAMTokenAuth`) posts the form
`apikey=<key>&grant_type=urn:ibm:params:oauth:grant-type:apikey` with `Authorization: Basic
Yng6Yng=` (`bx:bx`) to `Credentials.auth_url` when given, else to IAM's URL for IBM Cloud, and
reads only `access_token` (its JWT `exp` decides when to ask again). IAM also takes
`grant_type=refresh_token&refresh_token=...`. See https://cloud.ibm.com/apidocs/iam-identity-token-api.

- The tenant of a token request is the API key (the mock has no accounts: a key stands for its
  owner); of a refresh, the key the refresh token was issued for. Use the WML space id as the
  key and tokens expire on that space's clock.
- Any non-blank key is accepted, as the default user. The admin action `api_key` (run on the
  key's tenant, i.e. the key) gives a key its user (`user=`), or deletes it (`deleted=True`):
  a deleted key answers 400 BXNIM0415E, as does a refresh token issued for it.
- Nothing is stored; errors are IAM's `{"errorCode", "errorMessage", "context"}`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from mockserver.provider import Call, Ctx, Invalid, MockError, Reply
from mockserver.providers.ibm_wml.common import DEFAULT_USER, token_for
from mockserver.store import TenantStore

TOKEN_OPERATION = "iamToken"
TOKEN_PATH = "/identity/token"
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
REFRESH_GRANT = "refresh_token"
LIFETIME = 3600
SCOPE = "ibm openid"
REFRESH_MARK = "deploymock-refresh"
KEY_KIND, KEY_ID = "api_key", "key"  # the key's own record, in the key's tenant
MISSING = ("BXNIM0109E", "Property missing or empty.")
# IAM's codes have no status of their own; these are for statuses IAM's docs give none for.
STATUS_CODES = {
    401: "BXNIM0401E",
    405: "BXNIM0405E",
    413: "BXNIM0413E",
    429: "BXNIM0429E",
    503: "BXNIM0503E",
}


def is_token_call(call: Call) -> bool:
    return call.operation_id == TOKEN_OPERATION or call.url.endswith(TOKEN_PATH)  # also a 405


def render_iam_error(err: MockError, call: Call) -> dict[str, Any]:
    if err.code:
        code = err.code
    elif err.status == 400:
        missing = any("required" in str(d.get("message", "")) for d in err.details)
        code = MISSING[0] if missing else "BXNIM0106E"
    else:
        code = STATUS_CODES.get(err.status, "BXNIM0500E")
    context = {
        "requestId": call.request_id,
        "requestType": "incoming.Identity_Token",
        "userAgent": call.headers.get("user-agent", ""),
        "url": call.base_url,
        "instanceId": "deploymock",
        "locale": "en_US",
    }
    return {"errorCode": code, "errorMessage": err.message, "context": context}


def _field(body: Any, name: str) -> str:
    value = body.get(name, "") if isinstance(body, Mapping) else ""
    return value.strip() if isinstance(value, str) else ""


def _missing(name: str) -> Invalid:
    return Invalid(f"{MISSING[1]} Property '{name}' is missing or empty.", code=MISSING[0])


def _bad_refresh() -> Invalid:
    return Invalid("Provided refresh token is invalid.", code="BXNIM0407E")


def _refresh_payload(token: str) -> dict[str, Any]:
    mark, _, encoded = token.partition(".")
    try:
        payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError):
        raise _bad_refresh() from None
    if mark != REFRESH_MARK or not isinstance(payload, dict):
        raise _bad_refresh()
    if not isinstance(payload.get("apikey"), str) or not payload["apikey"]:
        raise _bad_refresh()
    return payload


def _api_key(call: Call) -> str:
    """The API key a token request is for: given, or the one its refresh token names."""
    if _field(call.body, "grant_type") == REFRESH_GRANT:
        given = _field(call.body, "refresh_token")
        if not given:
            raise _missing("refresh_token")
        return str(_refresh_payload(given)["apikey"])
    key = _field(call.body, "apikey")
    if not key:
        raise _missing("apikey")
    return key


def token_tenant(call: Call) -> str:
    return _api_key(call)


def set_api_key(store: TenantStore, args: Mapping[str, Any]) -> dict[str, Any]:
    """Admin action `api_key` on the key's tenant: its IAM id (`user`, else the default user),
    or `deleted=True` to make IAM refuse it."""
    user, deleted = args.get("user") or DEFAULT_USER, args.get("deleted", False)
    if not isinstance(user, str) or not isinstance(deleted, bool):
        raise ValueError("user must be a string and deleted a boolean")
    record = {"iam_id": user, "deleted": deleted}
    store.put(KEY_KIND, KEY_ID, record)
    return record


def _user(ctx: Ctx) -> str:
    record = ctx.store.find(KEY_KIND, KEY_ID)
    if record is None:
        return DEFAULT_USER
    if record["deleted"]:
        raise Invalid("Provided API key could not be found.", code="BXNIM0415E")
    return str(record["iam_id"])


def issue_token(ctx: Ctx) -> Reply:
    grant = ctx.body["grant_type"]
    if grant not in (APIKEY_GRANT, REFRESH_GRANT):
        raise Invalid(
            f"Validation of property 'grant_type' with value '{grant}' failed. Valid values: "
            f"'{APIKEY_GRANT}', '{REFRESH_GRANT}'.",
            code="BXNIM0106E",
        )
    key = _api_key(ctx)
    user = _user(ctx)
    now = int(ctx.now())
    access = token_for(
        user,
        id=user,
        realmid="IBMid",
        identifier=user.removeprefix("IBMid-"),
        iss=f"{ctx.base_url}/identity",
        grant_type=grant,
        scope=SCOPE,
        client_id="bx",
        jti=ctx.new_id(),
        iat=now,
        exp=now + LIFETIME,
    )
    refresh = {"apikey": key, "iam_id": user, "iat": now, "jti": ctx.new_id()}
    encoded = base64.urlsafe_b64encode(json.dumps(refresh).encode()).rstrip(b"=").decode()
    body = {
        "access_token": access,
        "refresh_token": f"{REFRESH_MARK}.{encoded}",
        "token_type": "Bearer",
        "expires_in": LIFETIME,
        "expiration": now + LIFETIME,
        "scope": SCOPE,
    }
    return Reply(200, body, {"Cache-Control": "no-store"})
