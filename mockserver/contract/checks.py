"""deploymock's own Schemathesis checks: update semantics and error codes.

Importing this module registers them with `@schemathesis.check` (the contract runner imports
it when a run starts, so plain pytest runs do not pay for Schemathesis). They act only on a
contract run's schema, whose app carries the run (`mockserver.contract.context.RunContext`);
on any other schema they pass at once.

1. `update_visible`: an accepted PUT/PATCH shows on the next read, exactly as asked (merge
   semantics for an object body, non-empty values only; RFC 6902 for a JSON Patch, whose
   paths may address a read's top level or one envelope down); with hints, an asynchronous one
   shows a transitional state first (in process) and, once settled, a final state that keeps
   the change. On a live server the run polls for the end, within `--settle-samples` and
   `--settle-budget` (`mockserver/contract/settle.py`).
2. `rejected_update_unchanged`: a 4xx to a change leaves the resource byte-equal.
3. `vendor_error_format`: every 4xx/5xx body validates against the error schema the spec
   documents for that status (else against the vendor's error schemas).
4. `unknown_id_not_found`, `credentials_required`, `tenant_isolation`: the same request
   answers 404 for an unknown id, 401 without credentials, 404/403 from another tenant.
5. `read_only_unchanged`: fields the spec marks `readOnly` never change.
6. `forbidden_state_update`: a state conflict is a status the operation documents; with hints,
   an update in a state that forbids it gets the documented status, and only then.
"""

from __future__ import annotations

import copy
import json
from typing import TYPE_CHECKING, Any

import jsonpatch
import schemathesis

from mockserver.contract.profile import MISSING, UPDATES, Pointer, dig, pointer
from mockserver.contract.settle import NO_STATE

if TYPE_CHECKING:
    from mockserver.contract.context import Read, RunContext
    from mockserver.contract.gate import Resp
    from mockserver.spec import Operation

CONFLICTS = frozenset({409, 412, 423})
REMOVED: Any = object()
OWN_CHECKS = (
    "vendor_error_format",
    "rejected_update_unchanged",
    "read_only_unchanged",
    "forbidden_state_update",
    "update_visible",
    "unknown_id_not_found",
    "credentials_required",
    "tenant_isolation",
)


def run_of(case: Any) -> RunContext | None:
    found: RunContext | None = getattr(case.operation.app, "contract_run", None)
    return found


def _blocked(response: Any) -> bool:
    from mockserver.contract.gate import BLOCKED

    return BLOCKED in {k.lower() for k in response.headers}


def _context(case: Any, response: Any) -> tuple[RunContext, Operation] | None:
    run = run_of(case)
    if run is None or _blocked(response):
        return None
    op = run.operation(case)
    return None if op is None else (run, op)


def _where(case: Any, response: Any) -> str:
    return f"{case.method} {response.request.path_url} answered {response.status_code}"


def _show(resp: Resp) -> str:
    return f"{resp.status} {resp.body[:300].decode(errors='replace')}"


# -- 3. the vendor's error format ------------------------------------------------------------
@schemathesis.check
def vendor_error_format(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx/5xx body is in the vendor's documented error format."""
    run = run_of(case)
    if run is None or response.status_code < 400 or _blocked(response) or case.method == "HEAD":
        return None
    schemas = run.profile.error_schemas_for(run.operation(case), response.status_code)
    if not schemas:
        return None
    run.applied["vendor_error_format"] += 1
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(
            f"{_where(case, response)} with a body that is not JSON: {response.content[:200]!r}"
        ) from None
    if not any(schema.is_valid(body) for schema in schemas):
        problems = schemas[0].problems(body, "body")
        raise AssertionError(
            f"{_where(case, response)} with a body that is not the vendor's error format "
            f"({'; '.join(p['field'] + ': ' + p['message'] for p in problems[:3])}): "
            f"{response.content[:300]!r}"
        )
    return None


# -- 2. a rejected change changes nothing ----------------------------------------------------
def _reads(case: Any, response: Any) -> tuple[RunContext, Operation, Read, Read] | None:
    found = _context(case, response)
    if found is None:
        return None
    run, op = found
    before = run.before.get(case.id)
    if not run.profile.is_item_change(op) or before is None:
        return None
    after = run.after_read(case)
    return None if after is None else (run, op, before, after)


def _same(run: RunContext, first: Resp, second: Resp) -> bool:
    """Two reads show the same resource: the same status, and for a 2xx the same bytes (on a
    live server: the same JSON without the `volatile` fields). Error bodies carry request ids."""
    if first.status != second.status:
        return False
    if not _ok(first):
        return True
    volatile = run.profile.hints.volatile if run.target.live else ()
    if not volatile:
        return first.body == second.body
    one, two = first.json(), second.json()
    for where in map(pointer, volatile):
        _drop(one, where)
        _drop(two, where)
    return bool(one == two)


def _drop(doc: Any, where: Pointer) -> None:
    parent = dig(doc, where[:-1]) if where else MISSING
    if isinstance(parent, dict):
        parent.pop(where[-1], None)


@schemathesis.check
def rejected_update_unchanged(ctx: Any, response: Any, case: Any) -> bool | None:
    """A change answered with a 4xx leaves the resource as it was (a byte-equal read)."""
    if not 400 <= response.status_code < 500:
        return None
    found = _reads(case, response)
    if found is None:
        return None
    run, _op, before, after = found
    run.applied["rejected_update_unchanged"] += 1
    if not _same(run, before.response, after.response):
        raise AssertionError(
            f"{_where(case, response)}, yet the resource changed.\n"
            f"GET before: {_show(before.response)}\nGET after:  {_show(after.response)}"
        )
    return None


# -- 5. read-only fields ---------------------------------------------------------------------
@schemathesis.check
def read_only_unchanged(ctx: Any, response: Any, case: Any) -> bool | None:
    """Fields the spec marks `readOnly` keep their value through any change."""
    found = _reads(case, response)
    if found is None or response.status_code >= 500:
        return None
    run, op, before, after = found
    reader = run.profile.reader(op)
    fields = run.profile.read_only(reader) if reader else ()
    if not (fields and _ok(before.response) and _ok(after.response)):
        return None
    run.applied["read_only_unchanged"] += 1
    for where in fields:
        old, new = dig(before.doc, where), dig(after.doc, where)
        if old is not MISSING and old != new:
            raise AssertionError(
                f"{_where(case, response)} and changed read-only field /{'/'.join(where)}: "
                f"{old!r} -> {new!r}"
            )
    return None


def _ok(resp: Resp) -> bool:
    return 200 <= resp.status < 300


# -- 6. updates a state forbids --------------------------------------------------------------
@schemathesis.check
def forbidden_state_update(ctx: Any, response: Any, case: Any) -> bool | None:
    """A state conflict is documented; with hints, it comes exactly in the forbidding states."""
    found = _reads(case, response)
    if found is None:
        return None
    run, op, before, after = found
    status = response.status_code
    key = run.profile.documented(op, status)
    if status in CONFLICTS and (key is None or key.upper() == "DEFAULT"):
        raise AssertionError(
            f"{_where(case, response)}, a status {op.operation_id} does not document"
        )
    hints = run.profile.hints
    rules = [r for r in hints.forbidden if r.operation == op.operation_id and r.covers(case.body)]
    if not (rules and hints.state and _ok(before.response)):
        return None
    state = dig(before.doc, pointer(hints.state))
    # On a live server a transitional state moves on by itself, possibly between the read and
    # the update: judge such a case by what can be known. An acceptance proves nothing against
    # the state read before; a refusal is explained when the state after (which a refused
    # update did not change) forbids it.
    moving = run.target.live and state in hints.transitional
    now = dig(after.doc, pointer(hints.state)) if moving and _ok(after.response) else None
    run.applied["forbidden_state_update"] += 1
    for rule in rules:
        if state in rule.states and 200 <= status < 300 and not moving:
            raise AssertionError(
                f"{_where(case, response)} in state {state}, which forbids it "
                f"(documented: {rule.status})"
            )
        if status == rule.status and state not in rule.states and now not in rule.states:
            raise AssertionError(
                f"{_where(case, response)} in state {state}, which allows it: "
                f"{_show_body(response)}"
            )
    return None


def _show_body(response: Any) -> str:
    return str(response.content[:200].decode(errors="replace"))


# -- 1. an accepted update shows ------------------------------------------------------------
def expected_changes(
    run: RunContext, reader: Operation, before: Any, body: Any
) -> list[tuple[Pointer, Any]] | None:
    """What a read should show after `body` was accepted: (pointer, value or REMOVED)."""
    if isinstance(body, list) and all(isinstance(op, dict) and "op" in op for op in body):
        return _patched(run, reader, before, body)
    if isinstance(body, dict):
        # Merge semantics, for the fields a read documents (top level or inside an envelope
        # such as Heat's `software_deployment`). An empty value (null, "", 0, false, {}, [])
        # is skipped: some vendors read it as "leave as is" (Heat) or "remove".
        found = [(run.profile.locate(reader, k), v) for k, v in body.items() if v]
        return [(where, v) for where, v in found if where is not None]
    return None


def _patched(
    run: RunContext, reader: Operation, before: Any, ops: list[Any]
) -> list[tuple[Pointer, Any]] | None:
    moved: list[dict[str, Any]] = []
    touched: list[tuple[Pointer, bool]] = []
    for op in ops:
        new = dict(op)
        for key in ("path", "from"):
            if key in op:
                where = pointer(str(op[key]))
                home = run.profile.locate(reader, where[0]) if where else None
                if home is None:
                    return None
                new[key] = "/" + "/".join(
                    p.replace("~", "~0").replace("/", "~1") for p in (*home, *where[1:])
                )
        moved.append(new)
        if op["op"] != "test":
            path = pointer(new["path"])
            touched.append((path[:-1] if path[-1:] == ("-",) else path, op["op"] == "remove"))
    try:
        doc = jsonpatch.apply_patch(copy.deepcopy(before), moved)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, KeyError):
        return None
    return [(path, REMOVED if removed else dig(doc, path)) for path, removed in touched]


def contains(actual: Any, expected: Any) -> bool:
    """`actual` shows `expected`: objects may carry more keys; everything else is equal."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return type(actual) is type(expected) and bool(actual == expected)


def _verify(changes: list[tuple[Pointer, Any]], doc: Any) -> str | None:
    for where, value in changes:
        actual = dig(doc, where)
        shown = "/" + "/".join(where)
        if value is REMOVED and actual is not MISSING:
            return f"{shown} is still {actual!r}"
        if value is not REMOVED and not contains(actual, value):
            return f"{shown} is {'missing' if actual is MISSING else repr(actual)}, not {value!r}"
    return None


@schemathesis.check
def update_visible(ctx: Any, response: Any, case: Any) -> bool | None:
    """An accepted PUT/PATCH shows on the next read (and, settled, in its final state)."""
    if case.method.upper() not in UPDATES or not 200 <= response.status_code < 300:
        return None
    found = _reads(case, response)
    if found is None or not _ok(found[2].response):
        return None
    run, op, before, after = found
    reader = run.profile.reader(op)
    changes = expected_changes(run, reader, before.doc, case.body) if reader else None
    if not _ok(after.response):
        raise AssertionError(
            f"{_where(case, response)}, but the next read answered {_show(after.response)}"
        )
    if changes is None:
        return None
    run.applied["update_visible"] += 1
    wrong = _verify(changes, after.doc)
    if wrong:
        raise AssertionError(f"{_where(case, response)}, but the next read shows {wrong}")
    if response.status_code == 202:
        _settled(run, op.operation_id, case, response, after, changes)
    return None


def _settled(
    run: RunContext,
    operation: str,
    case: Any,
    response: Any,
    after: Read,
    changes: list[tuple[Pointer, Any]],
) -> None:
    """An accepted asynchronous update ends: it leaves the transitional states within the
    settle time, in a failed state or with the change kept. In process the clock jumps; live,
    the run polls (`mockserver/contract/settle.py`)."""
    hints, target, settling = run.profile.hints, run.target, run.settling
    if hints.state is None:
        settling.skipped[NO_STATE] += 1
        return
    where = pointer(hints.state)
    if target.advance is None:
        final = _follow_live(run, operation, after, where)
        if final is None:
            return
    else:
        # In process time stands still between the 202 and the read: it must be mid-way.
        state = dig(after.doc, where)
        if hints.transitional and state not in hints.transitional:
            raise AssertionError(
                f"{_where(case, response)}, but the next read shows state {state!r}, not one of "
                f"the transitional states {sorted(hints.transitional)}"
            )
        target.advance(run.profile.settle)
        final = run.read_again(after)
        if not settling.ended(operation, final):
            return
    if not _ok(final.response):
        return  # gone meanwhile (a time to live ran out): nothing more to see
    state = dig(final.doc, where)
    if state in hints.transitional:
        raise AssertionError(
            f"{_where(case, response)}, and {run.profile.settle:g} s later the state is still "
            f"{state!r}"
        )
    wrong = None if state in hints.failed else _verify(changes, final.doc)
    if wrong:
        raise AssertionError(
            f"{_where(case, response)}; once settled in state {state!r}, the read shows {wrong}"
        )


def _follow_live(run: RunContext, operation: str, after: Read, where: Pointer) -> Read | None:
    """On a live server, poll until the state leaves the transitional states (or the settle
    time is over), within the run's samples and budget (`mockserver/contract/settle.py`): the
    last read, or None when the update is not followed or was cut short. Time passes between
    the 202 and the first read here, so a fast server may show the end already; that is fine."""
    transitional, settle = run.profile.hints.transitional, run.profile.settle

    def pending(read: Read) -> bool:
        return _ok(read.response) and dig(read.doc, where) in transitional

    if pending(after) and not run.settling.admit(operation, settle):
        return None
    final = run.settling.follow(after, run.poll, pending, settle)
    return final if run.settling.ended(operation, final) else None


# -- 4. unknown ids, missing credentials, other tenants ------------------------------------
def _probe_target(case: Any, response: Any, kind: str) -> tuple[RunContext, Operation] | None:
    if not 200 <= response.status_code < 300:
        return None
    found = _context(case, response)
    if found is None or not found[1].template.endswith("}"):
        return None
    run, op = found
    if kind in ("unknown_id", "tenant") and not run.profile.documents_404(op):
        return None  # e.g. a lookup by a foreign id that answers an empty list
    return (run, op) if run.may_probe(kind, case) else None


@schemathesis.check
def unknown_id_not_found(ctx: Any, response: Any, case: Any) -> bool | None:
    """The same request for an id nobody has answers 404."""
    found = _probe_target(case, response, "unknown_id")
    if found is None:
        return None
    run, op = found
    from mockserver.contract.profile import fill

    params = {k: str(v) for k, v in (case.path_parameters or {}).items()}
    last = op.template.rsplit("{", 1)[1].rstrip("}")
    if last not in params or run.profile.is_tenant_param(last):
        return None  # a container the provider creates by naming it is not a resource id
    params[last] = run.unknown_id(params[last])
    path = fill(op.template, params)
    if path is None:
        return None
    run.applied["unknown_id_not_found"] += 1
    answer = run.send(run.sent(response).replace(path=path))
    if answer.status != 404 and not answer.blocked:
        raise AssertionError(
            f"{case.method} {path} (an id nobody has) answered {_show(answer)}, not 404"
        )
    return None


@schemathesis.check
def credentials_required(ctx: Any, response: Any, case: Any) -> bool | None:
    """The same request without credentials answers 401."""
    found = _probe_target(case, response, "credentials")
    if found is None or not found[1].secured:
        return None
    run, _op = found
    run.applied["credentials_required"] += 1
    answer = run.send(run.without_credentials(run.sent(response)))
    if answer.status != 401 and not answer.blocked:
        raise AssertionError(
            f"{case.method} {response.request.path_url} without credentials answered "
            f"{_show(answer)}, not 401"
        )
    return None


@schemathesis.check
def tenant_isolation(ctx: Any, response: Any, case: Any) -> bool | None:
    """The same request from another tenant cannot see the resource: 404 or 403."""
    found = _probe_target(case, response, "tenant")
    if found is None or found[0].target.other_tenant is None:
        return None
    run, _op = found
    assert run.target.other_tenant is not None
    moved = run.in_tenant(run.sent(response), run.target.other_tenant)
    if moved is None:
        return None
    run.applied["tenant_isolation"] += 1
    answer = run.send(moved)
    if answer.status not in (403, 404) and not answer.blocked:
        raise AssertionError(
            f"{case.method} {response.request.path_url} from tenant "
            f"{run.target.other_tenant!r} answered {_show(answer)}, not 404 or 403"
        )
    return None


# -- hooks ----------------------------------------------------------------------------------
@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """A contract run pins its tenant, moves its clock and reads what a change will touch."""
    run = run_of(case)
    if run is not None:
        run.before_call(case)


__all__ = [
    "OWN_CHECKS",
    "contains",
    "expected_changes",
    "run_of",
    *OWN_CHECKS,
]
