"""SAP AI Core's token endpoint (XSUAA) through HTTP: the client credentials grant, OAuth2's
errors, and the `service_key` admin action.

Every response below is also checked against openapi/sap_ai_core.yaml by the fixture.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.mockserver(provider="sap_ai_core")

TOKEN = "/oauth/token"
LIFETIME = 43199


@pytest.fixture
def api(mockserver: Any) -> httpx.Client:
    return mockserver.client(auth=False)


def grant(mockserver: Any, **extra: str) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": mockserver.tenant,
        "client_secret": "s3cret",
        **extra,
    }


def basic(client_id: str, secret: str) -> dict[str, str]:
    pair = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def claims(token: str) -> dict[str, Any]:
    header, payload, _ = token.split(".")
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "JWT"
    return decoded


def assert_token(r: httpx.Response, mockserver: Any, client_id: str) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope", "jti"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == LIFETIME
    payload = claims(body["access_token"])
    assert payload["client_id"] == client_id
    assert payload["jti"] == body["jti"]
    assert payload["zid"] == client_id
    assert payload["exp"] == int(mockserver.clock.now()) + LIFETIME
    return payload


def assert_oauth_error(r: httpx.Response, status: int, code: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "error_description"}
    assert body["error"] == code
    assert body["error_description"]


def nothing_stored(mockserver: Any, tenant: str) -> bool:
    return not any(mockserver.mock.store.tenant("sap_ai_core", tenant).kinds.values())


# -- success ---------------------------------------------------------------------------------
def test_client_credentials_in_the_form_get_a_token(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(TOKEN, data=grant(mockserver))
    payload = assert_token(r, mockserver, mockserver.tenant)
    assert payload["iat"] == int(mockserver.clock.now())


def test_client_credentials_in_http_basic_get_a_token(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers=basic(mockserver.tenant, "s3cret"),
    )
    assert_token(r, mockserver, mockserver.tenant)


def test_basic_credentials_are_form_decoded(mockserver: Any, api: httpx.Client) -> None:
    client_id = "sb-x!b1|aicore!b540"
    r = api.post(
        TOKEN,
        data={"grant_type": "client_credentials"},
        headers=basic("sb-x%21b1%7Caicore%21b540", "a%3Ab"),
    )
    assert r.status_code == 200, r.text
    assert claims(r.json()["access_token"])["client_id"] == client_id


def test_token_expiry_follows_the_virtual_clock(mockserver: Any, api: httpx.Client) -> None:
    first = claims(api.post(TOKEN, data=grant(mockserver)).json()["access_token"])
    mockserver.clock.advance(3600)
    second = assert_token(api.post(TOKEN, data=grant(mockserver)), mockserver, mockserver.tenant)
    assert second["exp"] == first["exp"] + 3600
    assert second["jti"] != first["jti"]


def test_the_issued_token_works_on_the_api(mockserver: Any, api: httpx.Client) -> None:
    token = api.post(TOKEN, data=grant(mockserver)).json()["access_token"]
    r = api.get(
        "/v2/lm/deployments",
        headers={"Authorization": f"Bearer {token}", "AI-Resource-Group": mockserver.tenant},
    )
    assert r.status_code == 200, r.text


# -- errors: OAuth2's format, nothing stored -------------------------------------------------
@pytest.mark.parametrize(
    ("send", "status", "code"),
    [
        ({"data": {"client_id": "c", "client_secret": "s"}}, 400, "invalid_request"),
        ({"data": {"grant_type": "password", "client_id": "c", "client_secret": "s"}}, 400,
         "unsupported_grant_type"),
        ({"content": b"", "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
         400, "invalid_request"),
        ({"json": {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}},
         400, "invalid_request"),
        ({"content": b"grant_type=client_credentials&client_id=c&client_secret=s"}, 400,
         "invalid_request"),
        ({"content": b"grant_type=client_credentials&client_id=%ff&client_secret=s",
          "headers": {"Content-Type": "application/x-www-form-urlencoded"}},
         400, "invalid_request"),
        ({"data": {"grant_type": "client_credentials", "client_secret": "s"}}, 401,
         "invalid_client"),
        ({"data": {"grant_type": "client_credentials", "client_id": "c"}}, 401,
         "invalid_client"),
        ({"data": {"grant_type": "client_credentials"}, "headers": {"Authorization": "Basic !!"}},
         401, "invalid_client"),
        ({"data": {"grant_type": "client_credentials"},
          "headers": {"Authorization": "Basic " + base64.b64encode(b"no-colon").decode()}},
         401, "invalid_client"),
    ],
    ids=[
        "no-grant-type",
        "unsupported-grant",
        "empty-body",
        "json-body",
        "no-content-type",
        "not-utf8",
        "no-client-id",
        "no-secret",
        "unreadable-basic",
        "basic-without-colon",
    ],
)  # fmt: skip
def test_bad_token_requests_answer_oauth2_errors(
    mockserver: Any, api: httpx.Client, send: dict[str, Any], status: int, code: str
) -> None:
    r = api.post(TOKEN, **send)
    assert_oauth_error(r, status, code)
    assert nothing_stored(mockserver, "c")
    assert mockserver.mock.errors == []


def test_wrong_method_is_405_in_oauth2_format(api: httpx.Client) -> None:
    r = api.get(TOKEN)
    assert r.status_code == 405
    assert r.json()["error"] == "method_not_allowed"


# -- service key -----------------------------------------------------------------------------
def test_service_key_names_the_mock_and_its_secret(mockserver: Any, api: httpx.Client) -> None:
    base = "http://127.0.0.1:9/sap_ai_core"
    key = mockserver.admin("sap_ai_core", "service_key", base_url=base + "/")
    assert key["clientid"] == mockserver.tenant
    assert key["url"] == base
    assert key["serviceurls"] == {"AI_API_URL": base}
    assert mockserver.admin("sap_ai_core", "service_key", base_url=base) == key
    good = {
        "grant_type": "client_credentials",
        "client_id": key["clientid"],
        "client_secret": key["clientsecret"],
    }
    assert_token(api.post(TOKEN, data=good), mockserver, mockserver.tenant)
    r = api.post(TOKEN, data={**good, "client_secret": "guess"})
    assert_oauth_error(r, 401, "invalid_client")


def test_service_key_needs_a_base_url(mockserver: Any) -> None:
    with pytest.raises(KeyError):
        mockserver.admin("sap_ai_core", "service_key")
