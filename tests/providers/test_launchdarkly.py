"""LaunchDarkly Insights deployments: events, list, get, auth, tenancy and rate limits over HTTP.

PATCH semantics are in test_launchdarkly_patch.py. Every response is validated against
openapi/launchdarkly.yaml by the fixture (a mismatch fails the test).
"""

from __future__ import annotations

import uuid

import pytest

from mockserver.app import create_app
from mockserver.clock import VirtualClock
from mockserver.providers import launchdarkly as ld
from pytest_plugin.handle import Mockserver

BASE = "/api/v2/engineering-insights"
EVENTS = f"{BASE}/deployment-events"
LIST = f"{BASE}/deployments"
REQUIRED = {
    "id",
    "applicationKey",
    "applicationVersion",
    "startedAt",
    "status",
    "kind",
    "active",
    "archived",
    "environmentKey",
    "numberOfContributors",
    "numberOfPullRequests",
    "linesAdded",
    "linesDeleted",
    "leadTime",
}
DAY_MS = 24 * 3600 * 1000

pytestmark = pytest.mark.mockserver(provider="launchdarkly")


@pytest.fixture
def api(mockserver):
    return mockserver.client("launchdarkly")


@pytest.fixture
def now_ms(mockserver):
    return lambda: int(mockserver.clock.now() * 1000)


def event(
    api,
    event_type="started",
    *,
    project="proj",
    env="production",
    app="billing",
    version="v1",
    **extra,
):
    body = {
        "projectKey": project,
        "environmentKey": env,
        "applicationKey": app,
        "version": version,
        "eventType": event_type,
        **extra,
    }
    r = api.post(EVENTS, json=body)
    assert r.status_code == 201, r.text
    assert r.content == b""


def listed(api, project="proj", env="production", **params):
    r = api.get(LIST, params={"projectKey": project, "environmentKey": env, **params})
    assert r.status_code == 200, r.text
    return r.json()


def deployment(api, *, project="proj", env="production", app="billing", version="v1"):
    found = [
        d
        for d in listed(api, project, env, applicationKey=app)["items"]
        if d["applicationVersion"] == version
    ]
    assert len(found) == 1
    return found[0]


def get(api, did, **params):
    r = api.get(f"{LIST}/{did}", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def assert_error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    assert body["message"]
    assert uuid.UUID(body["id"])
    if status == 400:
        assert body["errors"]
        assert all(e["attribute"] and e["reason"] for e in body["errors"])
    return body


@pytest.fixture
def other_mock():
    """A second app with its own provider options: `other_mock(require_beta_header=False)`."""
    handles = []

    def make(**options):
        app = create_app(
            providers=["launchdarkly"],
            clock=VirtualClock.fake(),
            options={"launchdarkly": options},
            validate_responses=True,
        )
        handle = Mockserver(app, tenant="other-mock")
        handles.append(handle)
        return handle

    yield make
    for handle in handles:
        errors = handle.new_errors()
        handle.close()
        assert not errors, [e.message for e in errors]


# -- deployment events -----------------------------------------------------------------------
def test_started_event_creates_a_complete_deployment(api, mockserver, now_ms):
    event(
        api,
        deploymentMetadata={"buildNumber": "1234"},
        applicationName="Billing",
        versionName="1.0",
        eventMetadata={"ci": "x"},
    )
    dep = deployment(api)
    assert set(dep) >= REQUIRED
    assert uuid.UUID(dep["id"]).version == 4
    assert dep | {"id": None} == {
        "id": None,
        "applicationKey": "billing",
        "applicationVersion": "v1",
        "startedAt": now_ms(),
        "status": "started",
        "kind": "deployment",
        "active": True,
        "archived": False,
        "environmentKey": "production",
        "numberOfContributors": 0,
        "numberOfPullRequests": 0,
        "linesAdded": 0,
        "linesDeleted": 0,
        "leadTime": 0,
        "metadata": {"buildNumber": "1234"},
    }
    assert all(type(dep[k]) is int for k in ("startedAt", "linesAdded", "leadTime"))
    assert list(mockserver.state()["deployment"]) == [dep["id"]]


def test_finished_and_failed_events_end_the_deployment(api, now_ms):
    event(api, eventTime=now_ms() - 60_000)
    event(api, "finished", eventTime=now_ms() - 10_000)
    dep = deployment(api)
    assert (dep["status"], dep["endedAt"], dep["durationMs"]) == (
        "finished",
        now_ms() - 10_000,
        50_000,
    )
    event(api, version="v2", eventTime=now_ms() - 5_000)
    event(api, "failed", version="v2")
    failed = deployment(api, version="v2")
    assert (failed["status"], failed["durationMs"]) == ("failed", 5_000)


def test_started_again_restarts_the_same_deployment(api, mockserver, now_ms):
    event(api)
    event(api, "finished")
    first = deployment(api)
    mockserver.clock.advance(30)
    event(api)
    again = deployment(api)
    assert again["id"] == first["id"]
    assert (again["status"], again["kind"], again["startedAt"]) == (
        "started",
        "redeployment",
        now_ms(),
    )
    assert "endedAt" not in again
    assert "durationMs" not in again
    assert listed(api)["totalCount"] == 1


def test_only_the_latest_start_of_an_application_is_active(api, mockserver):
    event(api, version="v1")
    event(api, version="v1", app="other")
    mockserver.clock.advance(1)
    event(api, version="v2")
    assert deployment(api, version="v2")["active"] is True
    assert deployment(api, version="v1")["active"] is False
    assert deployment(api, app="other")["active"] is True


def test_finished_without_start_creates_an_ended_deployment(api, now_ms):
    event(api, "finished")
    dep = deployment(api)
    assert (dep["status"], dep["startedAt"], dep["endedAt"], dep["durationMs"]) == (
        "finished",
        now_ms(),
        now_ms(),
        0,
    )


def test_custom_event_changes_nothing(api, mockserver):
    event(api, "custom")
    assert mockserver.state() == {}
    event(api)
    before = deployment(api)
    event(api, "custom", deploymentMetadata={"x": 1})
    assert deployment(api) == before


@pytest.mark.parametrize(
    ("change", "attribute"),
    [
        ({"projectKey": None}, "projectKey"),
        ({"eventType": "deleted"}, "eventType"),
        ({"version": "has space"}, "version"),
        ({"eventTime": "yesterday"}, "eventTime"),
        ({"applicationKind": "desktop"}, "applicationKind"),
    ],
)
def test_invalid_event_is_400_and_changes_nothing(api, mockserver, change, attribute):
    body = {
        "projectKey": "proj",
        "environmentKey": "production",
        "applicationKey": "billing",
        "version": "v1",
        "eventType": "started",
    }
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    err = assert_error(api.post(EVENTS, json=body), 400, "invalid_request")
    assert err["errors"][0]["attribute"] == attribute
    assert mockserver.state() == {}


def test_unknown_event_members_are_ignored(api):
    event(api, somethingNew=True)
    assert "somethingNew" not in deployment(api)


def test_malformed_json_is_400_with_errors(api, mockserver):
    r = api.post(EVENTS, content=b"{not json", headers={"Content-Type": "application/json"})
    assert assert_error(r, 400, "invalid_request")["errors"][0]["attribute"] == "body"
    assert mockserver.state() == {}


# -- list ------------------------------------------------------------------------------------
def test_lists_never_show_another_project_or_environment(api):
    event(api, project="proj", env="production", app="a")
    event(api, project="proj", env="staging", app="b")
    event(api, project="other", env="production", app="c")
    for project, env, app in [
        ("proj", "production", "a"),
        ("proj", "staging", "b"),
        ("other", "production", "c"),
    ]:
        body = listed(api, project, env)
        assert [d["applicationKey"] for d in body["items"]] == [app]
        assert body["totalCount"] == 1
    assert listed(api, "nobody", "production") == {
        "totalCount": 0,
        "items": [],
        "_links": {
            "self": {
                "href": f"/launchdarkly{LIST}?projectKey=nobody&environmentKey=production",
                "type": "application/json",
            }
        },
    }


def test_ids_are_account_wide(api):
    event(api, project="other", env="staging")
    dep = deployment(api, project="other", env="staging")
    assert get(api, dep["id"]) == dep


def test_newest_first_and_cursor_pagination(api, mockserver):
    for i in range(5):
        event(api, version=f"v{i}")
        mockserver.clock.advance(1)
    newest_first = [f"v{i}" for i in reversed(range(5))]
    seen, params = [], {"limit": 2}
    while True:
        body = listed(api, **params)
        assert body["totalCount"] == 5
        seen += [d["applicationVersion"] for d in body["items"]]
        if "next" not in body["_links"]:
            break
        href = body["_links"]["next"]["href"]
        assert href.startswith(f"/launchdarkly{LIST}?")
        params = {"limit": 2, "after": body["items"][-1]["id"]}
        assert f"after={params['after']}" in href
    assert seen == newest_first
    ids = [d["id"] for d in listed(api)["items"]]
    before = listed(api, before=ids[3], limit=2)
    assert [d["id"] for d in before["items"]] == ids[1:3]
    assert [d["id"] for d in listed(api, after=ids[0], before=ids[3])["items"]] == ids[1:3]


def test_unknown_cursor_is_400(api):
    event(api)
    err = assert_error(
        api.get(
            LIST,
            params={
                "projectKey": "proj",
                "environmentKey": "production",
                "after": str(uuid.uuid4()),
            },
        ),
        400,
        "invalid_request",
    )
    assert err["errors"][0]["attribute"] == "after"


@pytest.mark.parametrize("limit", ["0", "101", "ten"])
def test_limit_out_of_range_is_400(api, limit):
    r = api.get(LIST, params={"projectKey": "p", "environmentKey": "e", "limit": limit})
    assert assert_error(r, 400, "invalid_request")["errors"][0]["attribute"] == "limit"


def test_default_limit_is_20(api):
    for i in range(21):
        event(api, version=f"v{i}")
    body = listed(api)
    assert (len(body["items"]), body["totalCount"]) == (20, 21)
    assert "next" in body["_links"]


def test_missing_project_or_environment_is_400(api):
    err = assert_error(api.get(LIST), 400, "invalid_request")
    assert {e["attribute"] for e in err["errors"]} == {"projectKey", "environmentKey"}


def test_filters(api, mockserver, now_ms):
    event(api, app="a")
    event(api, app="b")
    event(api, app="b", version="v2")
    event(api, app="b", version="v2")  # restart: kind redeployment
    event(api, "failed", app="c")
    apps = lambda **p: sorted(d["applicationKey"] for d in listed(api, **p)["items"])  # noqa: E731
    assert apps(applicationKey="a,c") == ["a", "c"]
    assert apps(kind="redeployment") == ["b"]
    assert apps(status="failed") == ["c"]
    assert apps(status="started", kind="deployment") == ["a", "b"]
    mockserver.clock.advance(8 * 24 * 3600)
    assert apps() == []  # default window: the last 7 days
    assert len(apps(**{"from": now_ms() - 9 * DAY_MS})) == 4
    assert apps(**{"from": 0, "to": now_ms() - 9 * DAY_MS}) == []


def test_expand_adds_only_what_is_named(api):
    event(api)
    dep = deployment(api)
    assert "pullRequests" not in dep
    assert "flagReferences" not in dep
    empty = {"totalCount": 0, "items": []}
    full = get(api, dep["id"], expand="pullRequests,flagReferences")
    assert full == dep | {"pullRequests": empty, "flagReferences": empty}
    assert get(api, dep["id"], expand="flagReferences,unknown") == dep | {"flagReferences": empty}
    item = listed(api, expand="pullRequests")["items"][0]
    assert item == dep | {"pullRequests": empty}


# -- get -------------------------------------------------------------------------------------
@pytest.mark.parametrize("did", ["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", "not-a-uuid"])
def test_unknown_deployment_is_404(api, did):
    for r in (api.get(f"{LIST}/{did}"), api.patch(f"{LIST}/{did}", json=[])):
        assert_error(r, 404, "not_found")


def test_wrong_method_and_unknown_route_in_vendor_format(api):
    assert_error(api.delete(f"{LIST}/{uuid.uuid4()}"), 405, "method_not_allowed")
    assert_error(api.get(f"{BASE}/nothing-here"), 404, "not_found")


# -- auth ------------------------------------------------------------------------------------
@pytest.mark.parametrize("authorization", [None, "", "Bearer api-deploymock", "api x"])
def test_missing_or_malformed_token_is_401(mockserver, authorization):
    headers = {"LD-API-Version": "beta"}
    if authorization is not None:
        headers["Authorization"] = authorization
    api = mockserver.client("launchdarkly", auth=False, headers=headers)
    assert_error(
        api.get(LIST, params={"projectKey": "p", "environmentKey": "e"}), 401, "unauthorized"
    )
    assert_error(api.post(EVENTS, json={}), 401, "unauthorized")
    assert mockserver.state() == {}


@pytest.mark.parametrize("version", [None, "20240415", "Beta"])
def test_beta_header_is_required(mockserver, version):
    headers = {"Authorization": ld.token_for(mockserver.tenant)}
    if version is not None:
        headers["LD-API-Version"] = version
    api = mockserver.client("launchdarkly", auth=False, headers=headers)
    body = {
        "projectKey": "p",
        "environmentKey": "e",
        "applicationKey": "a",
        "version": "v",
        "eventType": "started",
    }
    err = assert_error(api.post(EVENTS, json=body), 403, "forbidden")
    assert "LD-API-Version" in err["message"]
    assert mockserver.state() == {}


def test_beta_header_enforcement_can_be_turned_off(other_mock):
    mock = other_mock(require_beta_header=False)
    api = mock.client("launchdarkly", headers={"LD-API-Version": "20240415"})
    event(api)
    assert deployment(api)["status"] == "started"


def test_any_token_is_valid_and_its_account_is_after_the_at(mockserver, request):
    default = ld.account_of("api-1234")
    request.addfinalizer(lambda: mockserver.mock.reset(provider="launchdarkly", tenant=default))
    plain = mockserver.client("launchdarkly", headers={"Authorization": "api-1234"})
    event(plain)
    same = mockserver.client("launchdarkly", headers={"Authorization": "api-5678"})
    assert listed(same)["totalCount"] == 1  # both in the account "default"
    assert listed(mockserver.client("launchdarkly"))["totalCount"] == 0  # this test's account


def test_another_account_sees_nothing(api, mockserver):
    event(api)
    dep = deployment(api)
    stranger = mockserver.client("launchdarkly", headers=ld.client_headers(str(uuid.uuid4())))
    assert_error(stranger.get(f"{LIST}/{dep['id']}"), 404, "not_found")
    assert_error(stranger.patch(f"{LIST}/{dep['id']}", json=[]), 404, "not_found")
    assert listed(stranger)["items"] == []


def test_reader_cannot_write(api, mockserver):
    event(api)
    dep = deployment(api)
    token = ld.token_for(mockserver.tenant, "reader")
    mockserver.admin("launchdarkly", "set_token", token=token, role="reader")
    reader = mockserver.client("launchdarkly", headers={"Authorization": token})
    assert get(reader, dep["id"]) == dep
    assert listed(reader)["items"] == [dep]
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]
    assert_error(reader.patch(f"{LIST}/{dep['id']}", json=patch), 403, "forbidden")
    body = {
        "projectKey": "proj",
        "environmentKey": "production",
        "applicationKey": "billing",
        "version": "v9",
        "eventType": "started",
    }
    assert_error(reader.post(EVENTS, json=body), 403, "forbidden")
    assert listed(api)["items"] == [dep]


def test_no_access_role_cannot_read(mockserver):
    token = ld.token_for(mockserver.tenant, "nobody")
    mockserver.admin("launchdarkly", "set_token", token=token, role="no_access")
    api = mockserver.client("launchdarkly", headers={"Authorization": token})
    assert_error(api.get(LIST, params={"projectKey": "p", "environmentKey": "e"}), 403, "forbidden")


def test_token_bound_to_a_project(api, mockserver):
    event(api, project="mine")
    event(api, project="theirs")
    mine, theirs = deployment(api, project="mine"), deployment(api, project="theirs")
    token = ld.token_for(mockserver.tenant, "bound")
    mockserver.admin("launchdarkly", "set_token", token=token, projects=["mine"])
    bound = mockserver.client("launchdarkly", headers={"Authorization": token})
    assert listed(bound, "mine")["items"] == [mine]
    assert get(bound, mine["id"]) == mine
    assert_error(
        bound.get(LIST, params={"projectKey": "theirs", "environmentKey": "production"}),
        403,
        "forbidden",
    )
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]
    for r in (
        bound.get(f"{LIST}/{theirs['id']}"),
        bound.patch(f"{LIST}/{theirs['id']}", json=patch),
    ):
        assert_error(r, 404, "not_found")
    body = {
        "projectKey": "theirs",
        "environmentKey": "production",
        "applicationKey": "x",
        "version": "v1",
        "eventType": "started",
    }
    assert_error(bound.post(EVENTS, json=body), 403, "forbidden")
    assert listed(api, "theirs")["items"] == [theirs]
    assert bound.patch(f"{LIST}/{mine['id']}", json=patch).json()["status"] == "finished"


def test_revoked_token_is_401(mockserver):
    token = ld.token_for(mockserver.tenant, "old")
    mockserver.admin("launchdarkly", "revoke_token", token=token)
    api = mockserver.client("launchdarkly", headers={"Authorization": token})
    assert_error(
        api.get(LIST, params={"projectKey": "p", "environmentKey": "e"}), 401, "unauthorized"
    )
    mockserver.admin("launchdarkly", "set_token", token=token, role="reader")
    assert listed(api, "p", "e")["items"] == []


def test_set_token_rejects_unknown_roles(mockserver):
    token = ld.token_for(mockserver.tenant, "super")
    with pytest.raises(ValueError, match="role"):
        mockserver.admin("launchdarkly", "set_token", token=token, role="superuser")


# -- rate limits -----------------------------------------------------------------------------
def test_no_rate_limit_headers_by_default(api):
    r = api.get(LIST, params={"projectKey": "p", "environmentKey": "e"})
    assert not [h for h in r.headers if h.lower().startswith("x-ratelimit")]


def test_token_limit(other_mock):
    mock = other_mock(token_rate_limit=2)
    api = mock.client("launchdarkly")
    mock.clock.advance(3.5)  # 3.5 s into a ten-second window
    window_end = str(int((mock.clock.now() - 3.5 + 10) * 1000))
    first = api.get(LIST, params={"projectKey": "p", "environmentKey": "e"})
    assert first.headers["X-Ratelimit-Auth-Token-Limit"] == "2"
    assert first.headers["X-Ratelimit-Auth-Token-Remaining"] == "1"
    assert first.headers["X-Ratelimit-Auth-Token-Reset"] == window_end
    assert "X-Ratelimit-Route-Limit" not in first.headers
    missing = api.get(f"{LIST}/{uuid.uuid4()}")  # errors from the handler count and carry them
    assert_error(missing, 404, "not_found")
    assert missing.headers["X-Ratelimit-Auth-Token-Remaining"] == "0"
    body = {
        "projectKey": "p",
        "environmentKey": "e",
        "applicationKey": "a",
        "version": "v",
        "eventType": "started",
    }
    limited = api.post(EVENTS, json=body)
    assert_error(limited, 429, "rate_limited")
    assert limited.headers["X-Ratelimit-Reset"] == window_end
    assert limited.headers["Retry-After"] == "7"
    assert limited.headers["X-Ratelimit-Auth-Token-Remaining"] == "0"
    other = mock.client("launchdarkly", headers={"Authorization": ld.token_for(mock.tenant, "b")})
    assert other.get(LIST, params={"projectKey": "p", "environmentKey": "e"}).status_code == 200
    assert "deployment" not in mock.state()  # the limited POST created nothing
    mock.clock.advance(6.5)
    assert api.post(EVENTS, json=body).status_code == 201


def test_route_limit_is_shared_by_the_accounts_tokens(other_mock):
    mock = other_mock(route_rate_limit=1)
    one = mock.client("launchdarkly")
    two = mock.client("launchdarkly", headers={"Authorization": ld.token_for(mock.tenant, "two")})
    params = {"projectKey": "p", "environmentKey": "e"}
    ok = one.get(LIST, params=params)
    assert (ok.headers["X-Ratelimit-Route-Limit"], ok.headers["X-Ratelimit-Route-Remaining"]) == (
        "1",
        "0",
    )
    assert "X-Ratelimit-Reset" in ok.headers
    assert_error(two.get(LIST, params=params), 429, "rate_limited")
    assert one.get(f"{LIST}/{uuid.uuid4()}").status_code == 404  # another route
    stranger = mock.client("launchdarkly", headers=ld.client_headers("another-account"))
    assert stranger.get(LIST, params=params).status_code == 200
    mock.clock.advance(10)
    assert two.get(LIST, params=params).status_code == 200


def test_requests_rejected_by_validation_count_and_carry_headers(other_mock):
    mock = other_mock(token_rate_limit=1)
    api = mock.client("launchdarkly")
    invalid = api.get(LIST)  # 400: projectKey and environmentKey missing
    assert invalid.headers.get("X-Ratelimit-Auth-Token-Remaining") == "0"
    assert api.get(LIST, params={"projectKey": "p", "environmentKey": "e"}).status_code == 429


def test_token_roles_through_the_fixture_and_the_admin_api(mockserver):
    reader = ld.token_for(mockserver.tenant, "reader")
    mockserver.admin("launchdarkly", "set_token", token=reader, role="reader")
    as_reader = mockserver.client("launchdarkly", headers={"Authorization": reader})
    event = {
        "projectKey": "p",
        "environmentKey": "e",
        "applicationKey": "app",
        "version": "1",
        "eventType": "started",
    }
    assert (
        as_reader.post("/api/v2/engineering-insights/deployment-events", json=event).status_code
        == 403
    )
    admin = mockserver.client("launchdarkly", auth=False)
    url = "http://deploymock/__admin/providers/launchdarkly/revoke_token"
    assert admin.post(url, json={"tenant": mockserver.tenant, "token": reader}).status_code == 200
    assert as_reader.get(LIST, params={"projectKey": "p", "environmentKey": "e"}).status_code == 401
    foreign = admin.post(url, json={"tenant": mockserver.tenant, "token": "t@elsewhere"})
    assert foreign.status_code == 400 and "elsewhere" in foreign.json()["error"]


def test_an_integral_float_event_time_is_kept_as_an_integer(api, mockserver):
    now_ms = int(mockserver.clock.now() * 1000)
    event(api, eventTime=float(now_ms - 1000))
    dep = deployment(api)
    assert dep["startedAt"] == now_ms - 1000 and isinstance(dep["startedAt"], int)
    patch = [{"op": "replace", "path": "/status", "value": "finished"}]
    changed = api.patch(f"{LIST}/{dep['id']}", json=patch)
    assert changed.status_code == 200 and changed.json()["status"] == "finished"
