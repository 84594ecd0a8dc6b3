"""IBM Cloud IAM's token endpoint as the WML provider serves it, through HTTP: the API key and
refresh grants, IAM's errors, and the tokens on the WML routes.

Every response below is also checked against openapi/ibm_wml.yaml by the fixture.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from mockserver.providers.ibm_wml import DEFAULT_USER

pytestmark = pytest.mark.mockserver(provider="ibm_wml")

TOKEN = "/identity/token"
APIKEY_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
LIFETIME = 3600
VERSION = "2026-10-14"
BX = {"Authorization": "Basic Yng6Yng="}  # what the Python SDK sends (bx:bx)


@pytest.fixture
def api(mockserver: Any) -> httpx.Client:
    return mockserver.client(auth=False)


def claims(token: str) -> dict[str, Any]:
    header, payload, _ = token.split(".")
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=="))
    assert json.loads(base64.urlsafe_b64decode(header + "=="))["typ"] == "JWT"
    return decoded


def get_token(api: httpx.Client, key: str, **extra: str) -> httpx.Response:
    return api.post(TOKEN, data={"grant_type": APIKEY_GRANT, "apikey": key, **extra}, headers=BX)


def assert_token(r: httpx.Response, mockserver: Any, user: str = DEFAULT_USER) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_in",
        "expiration",
        "scope",
    }
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "ibm openid"
    assert body["expires_in"] == LIFETIME
    now = int(mockserver.clock.now())
    assert body["expiration"] == now + LIFETIME
    payload = claims(body["access_token"])
    assert payload["iam_id"] == payload["sub"] == user
    assert payload["iat"] == now
    assert payload["exp"] == body["expiration"]
    return dict(body)


def assert_iam_error(r: httpx.Response, code: str) -> dict[str, Any]:
    assert r.status_code == 400, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"errorCode", "errorMessage", "context"}
    assert body["errorCode"] == code
    assert body["errorMessage"]
    assert body["context"]["requestId"]
    return dict(body)


def stored(mockserver: Any, tenant: str) -> dict[str, Any]:
    kinds = mockserver.mock.store.tenant("ibm_wml", tenant).kinds
    return {kind: dict(records) for kind, records in kinds.items() if records}


def nothing_stored(mockserver: Any, tenant: str) -> bool:
    return not stored(mockserver, tenant)


def deployments(mockserver: Any, token: str) -> httpx.Response:
    return mockserver.client(auth=False).get(
        "/ml/v4/deployments",
        params={"version": VERSION, "space_id": mockserver.tenant},
        headers={"Authorization": f"Bearer {token}"},
    )


# -- success ---------------------------------------------------------------------------------
def test_any_api_key_gets_a_token_on_the_tenants_clock(mockserver: Any, api: httpx.Client) -> None:
    mockserver.clock.advance(1234)  # the key is the tenant: its clock, not the shared one
    body = assert_token(get_token(api, mockserver.tenant), mockserver)
    assert nothing_stored(mockserver, mockserver.tenant)
    assert r_ok(deployments(mockserver, body["access_token"]))


def r_ok(r: httpx.Response) -> bool:
    assert r.status_code == 200, r.text
    return True


def test_other_form_fields_and_no_basic_header_are_fine(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(
        TOKEN,
        data={
            "grant_type": APIKEY_GRANT,
            "apikey": mockserver.tenant,
            "response_type": "cloud_iam",
        },
    )
    assert_token(r, mockserver)


def test_the_token_expires_after_an_hour(mockserver: Any, api: httpx.Client) -> None:
    body = assert_token(get_token(api, mockserver.tenant), mockserver)
    mockserver.clock.advance(LIFETIME)
    r = deployments(mockserver, body["access_token"])
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "authentication_token_expired"


def test_refresh_token_gets_a_new_token(mockserver: Any, api: httpx.Client) -> None:
    first = assert_token(get_token(api, mockserver.tenant), mockserver)
    mockserver.clock.advance(LIFETIME + 60)  # the access token is dead; the refresh token not
    r = api.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )
    second = assert_token(r, mockserver)
    assert second["access_token"] != first["access_token"]
    assert claims(second["access_token"])["grant_type"] == "refresh_token"
    assert r_ok(deployments(mockserver, second["access_token"]))
    assert nothing_stored(mockserver, mockserver.tenant)


def test_an_api_key_given_a_user_is_that_user(mockserver: Any, api: httpx.Client) -> None:
    mockserver.admin("ibm_wml", "api_key", user="IBMid-alice")
    body = assert_token(get_token(api, mockserver.tenant), mockserver, user="IBMid-alice")
    r = api.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert_token(r, mockserver, user="IBMid-alice")


# -- errors: IAM's body, 400, nothing stored ---------------------------------------------------
def test_a_deleted_api_key_is_bxnim0415e(mockserver: Any, api: httpx.Client) -> None:
    mockserver.admin("ibm_wml", "api_key", deleted=True)
    before = stored(mockserver, mockserver.tenant)
    body = assert_iam_error(get_token(api, mockserver.tenant), "BXNIM0415E")
    assert body["errorMessage"] == "Provided API key could not be found."
    assert body["context"]["requestType"] == "incoming.Identity_Token"
    assert stored(mockserver, mockserver.tenant) == before


def test_a_refresh_token_of_a_deleted_key_is_refused(mockserver: Any, api: httpx.Client) -> None:
    body = assert_token(get_token(api, mockserver.tenant), mockserver)
    mockserver.admin("ibm_wml", "api_key", deleted=True)
    r = api.post(
        TOKEN, data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
    )
    assert_iam_error(r, "BXNIM0415E")


def test_the_api_key_action_refuses_bad_arguments(mockserver: Any) -> None:
    with pytest.raises(ValueError, match="boolean"):
        mockserver.admin("ibm_wml", "api_key", deleted="yes")
    assert nothing_stored(mockserver, mockserver.tenant)


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": APIKEY_GRANT},
        {"grant_type": APIKEY_GRANT, "apikey": ""},
        {"grant_type": APIKEY_GRANT, "apikey": "   "},
        {"grant_type": "refresh_token"},
        {"grant_type": "refresh_token", "refresh_token": ""},
        {"apikey": "some-key"},
    ],
)
def test_a_missing_property_is_bxnim0109e(
    mockserver: Any, api: httpx.Client, form: dict[str, str]
) -> None:
    assert_iam_error(api.post(TOKEN, data=form, headers=BX), "BXNIM0109E")
    assert nothing_stored(mockserver, "some-key")


def test_an_unknown_grant_is_bxnim0106e(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(TOKEN, data={"grant_type": "password", "apikey": mockserver.tenant})
    body = assert_iam_error(r, "BXNIM0106E")
    assert "grant_type" in body["errorMessage"]
    assert nothing_stored(mockserver, mockserver.tenant)


@pytest.mark.parametrize("token", ["not-a-refresh-token", "deploymock-refresh.%%%", "a.b.c"])
def test_a_refresh_token_the_mock_did_not_issue_is_bxnim0407e(
    api: httpx.Client, token: str
) -> None:
    r = api.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})
    assert_iam_error(r, "BXNIM0407E")


def test_a_json_body_is_refused_in_iams_format(mockserver: Any, api: httpx.Client) -> None:
    r = api.post(TOKEN, json={"grant_type": APIKEY_GRANT, "apikey": mockserver.tenant})
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"errorCode", "errorMessage", "context"}
    assert nothing_stored(mockserver, mockserver.tenant)


def test_no_body_is_refused_in_iams_format(api: httpx.Client) -> None:
    r = api.post(TOKEN, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400, r.text
    assert set(r.json()) == {"errorCode", "errorMessage", "context"}


def test_a_wrong_method_is_refused_in_iams_format(api: httpx.Client) -> None:
    r = api.get(TOKEN)
    assert r.status_code == 405, r.text
    assert r.json()["errorCode"] == "BXNIM0405E"
