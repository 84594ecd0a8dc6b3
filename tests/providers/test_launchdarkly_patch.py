"""LaunchDarkly PATCH /deployments/{id}: RFC 6902 through jsonpatch, atomic, read-only members.

Includes the Hypothesis properties: a valid patch gives exactly `jsonpatch.apply_patch` of the
previous representation, an invalid one changes nothing and names its failing operation.
"""

from __future__ import annotations

import copy
import itertools
import threading

import jsonpatch
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BASE = "/api/v2/engineering-insights"
LIST = f"{BASE}/deployments"

pytestmark = pytest.mark.mockserver(provider="launchdarkly")


@pytest.fixture
def api(mockserver):
    return mockserver.client()


_versions = itertools.count()


def new_deployment(api, **metadata):
    """A fresh deployment (its own application key) and its representation."""
    app = f"app{next(_versions)}"
    body = {
        "projectKey": "proj",
        "environmentKey": "production",
        "applicationKey": app,
        "version": "v1",
        "eventType": "started",
        "deploymentMetadata": metadata,
    }
    assert api.post(f"{BASE}/deployment-events", json=body).status_code == 201
    r = api.get(
        LIST, params={"projectKey": "proj", "environmentKey": "production", "applicationKey": app}
    )
    (dep,) = r.json()["items"]
    return dep


def read(api, did):
    r = api.get(f"{LIST}/{did}")
    assert r.status_code == 200, r.text
    return r.json()


def patch(api, did, body):
    return api.patch(f"{LIST}/{did}", json=body)


def rejected(api, dep, body, *, attribute=None, index=0):
    """The patch is a 400 naming operation `index`, and the deployment is unchanged."""
    r = patch(api, dep["id"], body)
    assert r.status_code == 400, r.text
    err = r.json()
    assert err["code"] == "invalid_request"
    assert err["errors"]
    assert f"patch operation {index} " in err["message"]
    if attribute is not None:
        assert err["errors"][0]["attribute"] == attribute
    assert read(api, dep["id"]) == dep
    return err


def test_replace_status_is_reflected_everywhere(api):
    dep = new_deployment(api)
    r = patch(api, dep["id"], [{"op": "replace", "path": "/status", "value": "finished"}])
    assert r.status_code == 200, r.text
    assert r.json() == dep | {"status": "finished"}
    assert read(api, dep["id"]) == r.json()
    listed = api.get(LIST, params={"projectKey": "proj", "environmentKey": "production"}).json()
    assert r.json() in listed["items"]


def test_comment_envelope_is_accepted(api):
    dep = new_deployment(api)
    body = {
        "comment": "done",
        "patch": [
            {"op": "test", "path": "/status", "value": "started"},
            {"op": "replace", "path": "/status", "value": "finished"},
        ],
    }
    assert patch(api, dep["id"], body).json()["status"] == "finished"


def test_all_six_operations(api):
    dep = new_deployment(api, a=1, nested={"x": [1, 2]})
    ops = [
        {"op": "test", "path": "/metadata/a", "value": 1},
        {"op": "add", "path": "/metadata/nested/x/-", "value": 3},
        {"op": "copy", "from": "/metadata/nested", "path": "/metadata/copy"},
        {"op": "move", "from": "/metadata/a", "path": "/metadata/b"},
        {"op": "remove", "path": "/metadata/nested"},
        {"op": "replace", "path": "/linesAdded", "value": 10},
        {"op": "add", "path": "/leadTimeStages", "value": {"codingDurationMs": 5}},
        {"op": "add", "path": "/endedAt", "value": dep["startedAt"] + 1000},
        {"op": "copy", "from": "/startedAt", "path": "/durationMs"},
        {"op": "test", "path": "/id", "value": dep["id"]},
    ]
    r = patch(api, dep["id"], ops)
    assert r.status_code == 200, r.text
    assert r.json() == jsonpatch.apply_patch(dep, ops)
    assert r.json()["metadata"] == {"b": 1, "copy": {"x": [1, 2, 3]}}
    assert read(api, dep["id"]) == r.json()


def test_empty_patch_changes_nothing(api):
    dep = new_deployment(api)
    assert patch(api, dep["id"], []).json() == dep
    assert patch(api, dep["id"], {"patch": []}).json() == dep


def test_a_later_failure_undoes_earlier_operations(api):
    dep = new_deployment(api)
    rejected(
        api,
        dep,
        [
            {"op": "replace", "path": "/status", "value": "finished"},
            {"op": "test", "path": "/kind", "value": "redeployment"},
        ],
        attribute="/kind",
        index=1,
    )


def test_failing_test_says_what_it_found(api):
    dep = new_deployment(api)
    err = rejected(
        api, dep, [{"op": "test", "path": "/status", "value": "finished"}], attribute="/status"
    )
    assert '"started"' in err["message"]


@pytest.mark.parametrize(
    "op",
    [
        {"op": "replace", "path": "/id", "value": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
        {"op": "replace", "path": "/applicationKey", "value": "other"},
        {"op": "replace", "path": "/environmentKey", "value": "staging"},
        {"op": "replace", "path": "/startedAt", "value": 1},
        {"op": "remove", "path": "/startedAt"},
        {"op": "add", "path": "/_links", "value": {}},
        {"op": "add", "path": "/_site/href", "value": "x"},
        {"op": "add", "path": "/pullRequests", "value": {"totalCount": 0, "items": []}},
        {"op": "add", "path": "/flagReferences", "value": {"totalCount": 0, "items": []}},
        {"op": "move", "from": "/id", "path": "/metadata"},
        {"op": "copy", "from": "/status", "path": "/applicationKey"},
        {"op": "replace", "path": "", "value": {}},
    ],
)
def test_read_only_members(api, op):
    dep = new_deployment(api)
    pointer = op["from"] if op["op"] == "move" else op["path"]
    err = rejected(api, dep, [op], attribute=pointer)
    assert "read-only" in err["message"]


@pytest.mark.parametrize(
    ("op", "attribute"),
    [
        ({"op": "remove", "path": "/status"}, "/status"),
        ({"op": "replace", "path": "/status", "value": None}, "/status"),  # the seed's example
        ({"op": "replace", "path": "/active", "value": "yes"}, "/active"),
        ({"op": "replace", "path": "/linesAdded", "value": 1.5}, "/linesAdded"),
        ({"op": "replace", "path": "/linesAdded", "value": 2.0}, "/linesAdded"),
        ({"op": "add", "path": "/unknownMember", "value": 1}, "/unknownMember"),
        ({"op": "add", "path": "/leadTimeStages", "value": {}}, "/leadTimeStages"),
        ({"op": "add", "path": "/metadata", "value": []}, "/metadata"),
    ],
)
def test_result_must_be_a_deployment_rep(api, op, attribute):
    dep = new_deployment(api)
    err = rejected(api, dep, [op], attribute=attribute)
    assert "DeploymentRep" in err["message"]


@pytest.mark.parametrize(
    "op",
    [
        {"op": "frobnicate", "path": "/status"},
        {"op": "replace", "path": "status", "value": "x"},
        {"op": "replace", "path": "/nothing", "value": "x"},
        {"op": "remove", "path": "/metadata/missing/deeper"},
        {"op": "add", "path": "/status"},
        {"op": "move", "path": "/metadata/x"},
        {"op": "add", "path": "/status/x", "value": 1},
    ],
)
def test_bad_operations(api, op):
    rejected(api, new_deployment(api), [op], attribute=op["path"])


@pytest.mark.parametrize(
    "body", [{"foo": 1}, "finished", [1, 2], [{"op": "replace"}], {"comment": "no patch"}, None]
)
def test_a_body_that_is_not_a_patch_is_400(api, body):
    """400, not 422: the operation documents no 422 (see the spec's info)."""
    dep = new_deployment(api)
    r = api.patch(f"{LIST}/{dep['id']}", json=body)
    assert r.status_code == 400, r.text
    assert r.json()["errors"]
    assert read(api, dep["id"]) == dep


def test_the_journal_keeps_the_request_as_sent(mockserver, api):
    dep = new_deployment(api)
    ops = [
        {"op": "add", "path": "/metadata", "value": {"k": 1}},
        {"op": "remove", "path": "/metadata/k"},
    ]
    assert patch(api, dep["id"], ops).json()["metadata"] == {}
    assert mockserver.requests(operation_id="updateDeployment")[-1].body == ops


def test_racing_patches_with_the_same_precondition_one_wins(mockserver, api):
    dep = new_deployment(api)
    clients = [mockserver.client() for _ in range(2)]
    barrier = threading.Barrier(2)
    results: dict[int, int] = {}

    def race(i):
        body = [
            {"op": "test", "path": "/status", "value": "started"},
            {"op": "replace", "path": "/status", "value": f"finished-by-{i}"},
        ]
        barrier.wait()
        results[i] = patch(clients[i], dep["id"], body).status_code

    threads = [threading.Thread(target=race, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 400]
    winner = next(i for i, status in results.items() if status == 200)
    assert read(api, dep["id"])["status"] == f"finished-by-{winner}"


# -- properties ------------------------------------------------------------------------------
STRINGS = ("applicationVersion", "status", "kind")
BOOLS = ("active", "archived")
INTS = (
    "numberOfContributors",
    "numberOfPullRequests",
    "linesAdded",
    "linesDeleted",
    "leadTime",
    "endedAt",
    "durationMs",
)
OPTIONAL = ("endedAt", "durationMs", "metadata", "leadTimeStages")
REQUIRED_WRITABLE = (*STRINGS, *BOOLS, "numberOfContributors", "linesAdded", "leadTime")
READ_ONLY = (
    "/id",
    "/applicationKey",
    "/environmentKey",
    "/startedAt",
    "/_links",
    "/_x",
    "/pullRequests",
    "/flagReferences",
)

ints = st.integers(0, 2**53)
keys = st.text(alphabet="ab/~ _", min_size=1, max_size=4)  # with pointer escapes
json_values = st.recursive(
    st.none()
    | st.booleans()
    | ints
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=5,
)


def pointer(*parts):
    return jsonpatch.JsonPointer.from_parts(list(parts)).path


def _set(draw, doc, name, values):
    op = "replace" if name in doc and draw(st.booleans()) else "add"
    return {"op": op, "path": pointer(name), "value": draw(values)}


def _metadata(draw, doc):
    if "metadata" not in doc:
        return {
            "op": "add",
            "path": "/metadata",
            "value": draw(st.dictionaries(keys, json_values, max_size=3)),
        }
    return {"op": "add", "path": pointer("metadata", draw(keys)), "value": draw(json_values)}


def _remove(draw, doc):
    present = [name for name in OPTIONAL if name in doc]
    meta = [pointer("metadata", k) for k in doc.get("metadata", {})]
    return {"op": "remove", "path": draw(st.sampled_from([pointer(n) for n in present] + meta))}


def _move_metadata(draw, doc):
    source = draw(st.sampled_from(sorted(doc["metadata"])))
    return {
        "op": draw(st.sampled_from(["move", "copy"])),
        "from": pointer("metadata", source),
        "path": pointer("metadata", draw(keys)),
    }


def _test(draw, doc):
    name = draw(st.sampled_from(sorted(doc)))
    return {"op": "test", "path": pointer(name), "value": doc[name]}


VALID = {
    "string": lambda draw, doc: _set(draw, doc, draw(st.sampled_from(STRINGS)), st.text()),
    "bool": lambda draw, doc: _set(draw, doc, draw(st.sampled_from(BOOLS)), st.booleans()),
    "int": lambda draw, doc: _set(draw, doc, draw(st.sampled_from(INTS)), ints),
    "stages": lambda draw, doc: _set(
        draw,
        doc,
        "leadTimeStages",
        st.fixed_dictionaries({"codingDurationMs": ints}, optional={"reviewDurationMs": ints}),
    ),
    "test": _test,
    "copy int": lambda draw, doc: {
        "op": "copy",
        "from": "/startedAt",
        "path": pointer(draw(st.sampled_from(INTS))),
    },
    "metadata": _metadata,
    "remove": _remove,
    "move metadata": _move_metadata,
}


def _usable(name, doc):
    if name == "remove":
        return any(n in doc for n in OPTIONAL) or bool(doc.get("metadata"))
    return name != "move metadata" or bool(doc.get("metadata"))


@st.composite
def valid_patches(draw, doc, max_ops=4):
    ops = []
    for _ in range(draw(st.integers(0, max_ops))):
        kind = draw(st.sampled_from([k for k in VALID if _usable(k, doc)]))
        op = VALID[kind](draw, doc)
        doc = jsonpatch.apply_patch(doc, [copy.deepcopy(op)])  # values go in by reference
        ops.append(op)
    return ops, doc


INVALID = [
    lambda draw, doc: {
        "op": draw(st.sampled_from(["add", "replace", "remove"])),
        "path": draw(st.sampled_from(READ_ONLY)),
        "value": 1,
    },
    lambda draw, doc: {"op": "test", "path": "/status", "value": doc["status"] + "x"},
    lambda draw, doc: {
        "op": "replace",
        "path": "/status",
        "value": draw(st.none() | ints | st.booleans()),
    },
    lambda draw, doc: {
        "op": "replace",
        "path": pointer(draw(st.sampled_from(BOOLS))),
        "value": draw(st.text() | st.lists(ints, max_size=1)),
    },
    lambda draw, doc: {
        "op": "add",
        "path": pointer(draw(st.sampled_from(INTS))),
        "value": draw(st.floats(allow_nan=False, allow_infinity=False) | st.text()),
    },
    lambda draw, doc: {"op": "remove", "path": pointer(draw(st.sampled_from(REQUIRED_WRITABLE)))},
    lambda draw, doc: {
        "op": "add",
        "path": pointer(draw(st.sampled_from(["x", "kinds", "Id"]))),
        "value": draw(json_values),
    },
    lambda draw, doc: {"op": "remove", "path": pointer("metadata", "nope", draw(keys))},
    lambda draw, doc: {
        "op": draw(st.sampled_from(["frob", "merge", ""])),
        "path": "/status",
        "value": "x",
    },
    lambda draw, doc: {
        "op": "replace",
        "path": draw(st.sampled_from(["status", "~", "/status/x/y"])),
        "value": "x",
    },
]


@st.composite
def invalid_patches(draw, doc):
    ops, doc = draw(valid_patches(doc, max_ops=2))
    return [*ops, draw(st.sampled_from(INVALID))(draw, doc)]


PROPERTY = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY
@given(data=st.data())
def test_valid_patches_equal_jsonpatch(mockserver, data):
    api = mockserver.client()
    dep = new_deployment(api, a=1)
    ops, expected = data.draw(valid_patches(dep))
    assert expected == jsonpatch.apply_patch(dep, copy.deepcopy(ops))
    r = patch(api, dep["id"], ops)
    assert r.status_code == 200, r.text
    assert r.json() == expected
    assert read(api, dep["id"]) == expected


@PROPERTY
@given(data=st.data())
def test_invalid_patches_change_nothing(mockserver, data):
    api = mockserver.client()
    dep = new_deployment(api, a=1)
    ops = data.draw(invalid_patches(dep))
    rejected(api, dep, ops, index=len(ops) - 1)
