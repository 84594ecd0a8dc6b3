"""XSUAA's OAuth2 token endpoint and the service keys that point clients at it."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any
from urllib.parse import unquote

from mockserver.provider import (
    Call,
    Ctx,
    Invalid,
    MockError,
    Reply,
    Unauthorized,
)
from mockserver.store import TenantStore

# -- tokens (XSUAA) --------------------------------------------------------------------------
TOKEN_OPERATION = "oauth.token"
TOKEN_PATH = "/oauth/token"
TOKEN_LIFETIME = 43199  # what XSUAA answers: 12 hours less a second
TOKEN_SCOPE = "uaa.resource"
OAUTH_CODES = frozenset({"invalid_request", "invalid_client", "unsupported_grant_type"})
# RFC 6749 section 5.2 has codes for 400 and 401 only; other statuses (a wrong method, faults)
# get UAA's and RFC 6749's server codes.
OAUTH_SERVER_CODES = {
    405: "method_not_allowed",
    429: "temporarily_unavailable",
    503: "temporarily_unavailable",
}
SERVICE_KEY = "service_key"  # store kind: issued secrets by value (hidden by the admin API)


def render_oauth_error(err: MockError) -> dict[str, Any]:
    if err.status == 401:
        code = "invalid_client"
    elif err.status == 400:
        code = err.code if err.code in OAUTH_CODES else "invalid_request"
    else:
        code = OAUTH_SERVER_CODES.get(err.status, "server_error")
    return {"error": code, "error_description": err.message}


def _bad_client(message: str) -> Unauthorized:
    return Unauthorized(message, code="invalid_client")


def _client(call: Call) -> tuple[str, str]:
    """The client id and secret: from `Authorization: Basic` (form-encoded, RFC 6749 section
    2.3.1) when sent, else from the form fields."""
    scheme, _, given = call.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            pair = base64.b64decode(given.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise _bad_client("Bad credentials: unreadable HTTP Basic credentials") from None
        client_id, colon, secret = pair.partition(":")
        if not colon:
            raise _bad_client("Bad credentials: HTTP Basic credentials need 'id:secret'")
        return unquote(client_id), unquote(secret)
    body = call.body if isinstance(call.body, dict) else {}
    client_id, secret = body.get("client_id", ""), body.get("client_secret", "")
    return (
        (client_id, secret) if isinstance(client_id, str) and isinstance(secret, str) else ("", "")
    )


def token_tenant(call: Call) -> str:
    client_id, _ = _client(call)
    if not client_id:
        raise _bad_client("Full authentication is required: no client id")
    return client_id


def _part(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def issue_token(ctx: Ctx) -> Reply:
    client_id, secret = _client(ctx)
    grant = ctx.body["grant_type"]
    if not secret:
        raise _bad_client("Bad credentials: no client secret")
    if ctx.store.all(SERVICE_KEY) and ctx.store.find(SERVICE_KEY, secret) is None:
        raise _bad_client("Bad credentials")
    if grant != "client_credentials":
        raise Invalid(f"Unsupported grant type: {grant}", code="unsupported_grant_type")
    now, jti = int(ctx.now()), ctx.new_id()
    claims = {
        "jti": jti,
        "iss": f"{ctx.base_url}/oauth/token",
        "sub": client_id,
        "client_id": client_id,
        "cid": client_id,
        "azp": client_id,
        "zid": ctx.tenant,
        "grant_type": grant,
        "scope": [TOKEN_SCOPE],
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
    }
    token = ".".join((_part({"alg": "none", "typ": "JWT"}), _part(claims), "deploymock"))
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": TOKEN_LIFETIME,
        "scope": TOKEN_SCOPE,
        "jti": jti,
    }
    return Reply(200, body, {"Cache-Control": "no-store"})


def service_key(store: TenantStore, args: dict[str, Any]) -> dict[str, Any]:
    """A service key for this tenant, as SAP's BTP cockpit shows one: `url` is the token
    endpoint's base (clients append `/oauth/token`), `serviceurls.AI_API_URL` the API's (clients
    append `/v2`); both are `base_url`, the provider's URL on the mock. Its client id is the
    tenant, and from now on a token for it needs its secret (the same one every time)."""
    base_url = str(args["base_url"]).rstrip("/")
    secret = "deploymock-" + hashlib.sha256(f"sap_ai_core:{store.tenant}".encode()).hexdigest()[:24]
    store.put(SERVICE_KEY, secret, {"clientid": store.tenant})
    return {
        "clientid": store.tenant,
        "clientsecret": secret,
        "url": base_url,
        "identityzone": store.tenant,
        "serviceurls": {"AI_API_URL": base_url},
    }
