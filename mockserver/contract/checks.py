"""deploymock's own Schemathesis checks: update semantics and error codes.

Each check is a plain function of the run (`RunContext`), the response and the case; it returns
whether it had something to assert, and raises `AssertionError` when that does not hold. A run
gets its own `Check` of each, which counts for it, and attaches them to the schema it checks
(`ContractChecks.attach`): the run reaches its checks through that schema only.

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

Schemathesis 4 has no per-schema checks: its engine runs the checks of its process-global
registry (`schemathesis.checks.CHECKS`, filled by `@schemathesis.check`; a config only switches
them off by name), and it calls `before_call` hooks only from its global dispatcher (that hook
is `GLOBAL`-scoped). `register()` therefore puts one stand-in per check and one `before_call`
hook there, once per process, and nothing else does: each finds the run of the schema the case
belongs to (`ContractChecks.of`) and does nothing on a schema that is no contract run's.
Importing this module imports no Schemathesis; `register()` does.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonpatch

from mockserver.contract.gate import BLOCKED
from mockserver.contract.profile import MISSING, UPDATES, Pointer, dig, fill, pointer
from mockserver.contract.settle import NO_STATE

if TYPE_CHECKING:
    from mockserver.contract.context import Read, RunContext
    from mockserver.contract.gate import Resp
    from mockserver.spec import Operation

CONFLICTS = frozenset({409, 412, 423})
REMOVED: Any = object()
INVALID_AUTH = "invalid authentication"

# (run, response, case) -> whether the check had something to assert; raises if it fails
CheckFunction = Callable[["RunContext", Any, Any], bool]


def _blocked(response: Any) -> bool:
    return BLOCKED in {k.lower() for k in response.headers}


def _where(case: Any, response: Any) -> str:
    return f"{case.method} {response.request.path_url} answered {response.status_code}"


def _show(resp: Resp) -> str:
    return f"{resp.status} {resp.body[:300].decode(errors='replace')}"


# -- 3. the vendor's error format ------------------------------------------------------------
def vendor_error_format(run: RunContext, response: Any, case: Any) -> bool:
    """Every 4xx/5xx body is in the vendor's documented error format."""
    if response.status_code < 400 or case.method == "HEAD":
        return False
    schemas = run.profile.error_schemas_for(run.operation(case), response.status_code)
    if not schemas:
        return False
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
    return True


# -- 2. a rejected change changes nothing ----------------------------------------------------
def _reads(run: RunContext, case: Any) -> tuple[Operation, Read, Read] | None:
    """The operation a change went to, and the reads of its resource before and after it."""
    op = run.operation(case)
    before = run.before.get(case.id)
    if op is None or not run.profile.is_item_change(op) or before is None:
        return None
    after = run.after_read(case)
    return None if after is None else (op, before, after)


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


def rejected_update_unchanged(run: RunContext, response: Any, case: Any) -> bool:
    """A change answered with a 4xx leaves the resource as it was (a byte-equal read)."""
    if not 400 <= response.status_code < 500:
        return False
    found = _reads(run, case)
    if found is None:
        return False
    _op, before, after = found
    if not _same(run, before.response, after.response):
        raise AssertionError(
            f"{_where(case, response)}, yet the resource changed.\n"
            f"GET before: {_show(before.response)}\nGET after:  {_show(after.response)}"
        )
    return True


# -- 5. read-only fields ---------------------------------------------------------------------
def read_only_unchanged(run: RunContext, response: Any, case: Any) -> bool:
    """Fields the spec marks `readOnly` keep their value through any change."""
    found = _reads(run, case)
    if found is None or response.status_code >= 500:
        return False
    op, before, after = found
    reader = run.profile.reader(op)
    fields = run.profile.read_only(reader) if reader else ()
    if not (fields and _ok(before.response) and _ok(after.response)):
        return False
    for where in fields:
        old, new = dig(before.doc, where), dig(after.doc, where)
        if old is not MISSING and old != new:
            raise AssertionError(
                f"{_where(case, response)} and changed read-only field /{'/'.join(where)}: "
                f"{old!r} -> {new!r}"
            )
    return True


def _ok(resp: Resp) -> bool:
    return 200 <= resp.status < 300


# -- 6. updates a state forbids --------------------------------------------------------------
def forbidden_state_update(run: RunContext, response: Any, case: Any) -> bool:
    """A state conflict is documented; with hints, it comes exactly in the forbidding states."""
    found = _reads(run, case)
    if found is None:
        return False
    op, before, after = found
    status = response.status_code
    key = run.profile.documented(op, status)
    if status in CONFLICTS and (key is None or key.upper() == "DEFAULT"):
        raise AssertionError(
            f"{_where(case, response)}, a status {op.operation_id} does not document"
        )
    hints = run.profile.hints
    rules = [r for r in hints.forbidden if r.operation == op.operation_id and r.covers(case.body)]
    if not (rules and hints.state and _ok(before.response)):
        return False
    state = dig(before.doc, pointer(hints.state))
    # On a live server a transitional state moves on by itself, possibly between the read and
    # the update: judge such a case by what can be known. An acceptance proves nothing against
    # the state read before; a refusal is explained when the state after (which a refused
    # update did not change) forbids it.
    moving = run.target.live and state in hints.transitional
    now = dig(after.doc, pointer(hints.state)) if moving and _ok(after.response) else None
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
    return True


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


def update_visible(run: RunContext, response: Any, case: Any) -> bool:
    """An accepted PUT/PATCH shows on the next read (and, settled, in its final state)."""
    if case.method.upper() not in UPDATES or not 200 <= response.status_code < 300:
        return False
    found = _reads(run, case)
    if found is None or not _ok(found[1].response):
        return False
    op, before, after = found
    reader = run.profile.reader(op)
    changes = expected_changes(run, reader, before.doc, case.body) if reader else None
    if not _ok(after.response):
        raise AssertionError(
            f"{_where(case, response)}, but the next read answered {_show(after.response)}"
        )
    if changes is None:
        return False
    wrong = _verify(changes, after.doc)
    if wrong:
        raise AssertionError(f"{_where(case, response)}, but the next read shows {wrong}")
    if response.status_code == 202:
        _settled(run, op.operation_id, case, response, after, changes)
    return True


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
def _probe_target(run: RunContext, response: Any, case: Any, kind: str) -> Operation | None:
    """The operation of a 2xx on one resource that a probe of `kind` may repeat differently."""
    if not 200 <= response.status_code < 300:
        return None
    op = run.operation(case)
    if op is None or not op.template.endswith("}"):
        return None
    if kind in ("unknown_id", "tenant") and not run.profile.documents_404(op):
        return None  # e.g. a lookup by a foreign id that answers an empty list
    return op if run.may_probe(kind, case) else None


def unknown_id_not_found(run: RunContext, response: Any, case: Any) -> bool:
    """The same request for an id nobody has answers 404."""
    op = _probe_target(run, response, case, "unknown_id")
    if op is None:
        return False

    params = {k: str(v) for k, v in (case.path_parameters or {}).items()}
    last = op.template.rsplit("{", 1)[1].rstrip("}")
    if last not in params or run.profile.is_tenant_param(last):
        return False  # a container the provider creates by naming it is not a resource id
    params[last] = run.unknown_id(params[last])
    path = fill(op.template, params)
    if path is None:
        return False
    answer = run.send(run.sent(response).replace(path=path))
    if answer.status != 404 and not answer.blocked:
        raise AssertionError(
            f"{case.method} {path} (an id nobody has) answered {_show(answer)}, not 404"
        )
    return True


def credentials_required(run: RunContext, response: Any, case: Any) -> bool:
    """The same request without credentials answers 401."""
    op = _probe_target(run, response, case, "credentials")
    if op is None or not op.secured:
        return False
    answer = run.send(run.without_credentials(run.sent(response)))
    if answer.status != 401 and not answer.blocked:
        raise AssertionError(
            f"{case.method} {response.request.path_url} without credentials answered "
            f"{_show(answer)}, not 401"
        )
    return True


def tenant_isolation(run: RunContext, response: Any, case: Any) -> bool:
    """The same request from another tenant cannot see the resource: 404 or 403."""
    other = run.target.other_tenant
    if other is None or _probe_target(run, response, case, "tenant") is None:
        return False
    moved = run.in_tenant(run.sent(response), other)
    if moved is None:
        return False
    answer = run.send(moved)
    if answer.status not in (403, 404) and not answer.blocked:
        raise AssertionError(
            f"{case.method} {response.request.path_url} from tenant "
            f"{other!r} answered {_show(answer)}, not 404 or 403"
        )
    return True


# -- a run's checks --------------------------------------------------------------------------
# Schemathesis runs them in this order; the probes, which send requests of their own, last.
CHECKS: tuple[CheckFunction, ...] = (
    vendor_error_format,
    rejected_update_unchanged,
    read_only_unchanged,
    forbidden_state_update,
    update_visible,
    unknown_id_not_found,
    credentials_required,
    tenant_isolation,
)


@dataclass(eq=False)
class Check:
    """One check as one run applies it, counting how often it had something to assert."""

    func: CheckFunction
    applied: int = 0

    @property
    def name(self) -> str:
        return self.func.__name__

    def __call__(self, run: RunContext, response: Any, case: Any) -> None:
        try:
            asserted = self.func(run, response, case)
        except AssertionError:
            self.applied += 1
            raise
        self.applied += asserted


@dataclass(eq=False)
class ContractChecks:
    """A run's own checks, on the run's Schemathesis schema.

    `attach(schema)` registers the run's failure filter on the schema (a clone made with
    `schema.include(...)` shares it), and `ContractChecks.of(schema)` finds the run through it;
    `detach` ends that, so the checks of a schema that outlives its run do nothing.
    """

    run: RunContext
    checks: dict[str, Check] = field(default_factory=lambda: {f.__name__: Check(f) for f in CHECKS})

    hook: _FilterFailure = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.hook = _FilterFailure(self)

    @staticmethod
    def of(schema: Any) -> ContractChecks | None:
        """The run `schema` (or the schema it was filtered from) checks, if any."""
        for hook in schema.hooks.get_all_by_name("filter_failure"):
            if isinstance(hook, _FilterFailure):
                return hook.checks
        return None

    def attach(self, schema: Any) -> None:
        register()
        schema.hooks.register_hook_with_name(self.hook, "filter_failure")

    def detach(self, schema: Any) -> None:
        schema.hooks.unregister(self.hook)

    def keep(self, failure: Any, response: Any) -> bool:
        """Whether a failure counts: none on a response the gate made up instead of sending, and
        on a server that accepts any well-formed token (the mock, as its specs say), none for
        an "invalid" token, which is valid there."""
        if response is not None and _blocked(response):
            return False
        return not (self.run.target.any_token and INVALID_AUTH in str(failure.title))


@dataclass(eq=False)
class _FilterFailure:
    """The `filter_failure` hook of a run's schema (4 arguments, as Schemathesis calls it)."""

    checks: ContractChecks

    def __call__(self, context: Any, failure: Any, case: Any, response: Any) -> bool:
        return self.checks.keep(failure, response)


# -- what Schemathesis holds process-wide -----------------------------------------------------
def _stand_in(func: CheckFunction) -> Callable[[Any, Any, Any], bool | None]:
    name = func.__name__

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        found = ContractChecks.of(case.operation.schema)
        if found is None:
            return True  # not a contract run's schema: skipped
        if not _blocked(response):
            found.checks[name](found.run, response, case)
        return None

    check.__name__ = check.__qualname__ = name
    check.__doc__ = func.__doc__
    return check


STAND_INS = tuple(_stand_in(func) for func in CHECKS)


def before_call(context: Any, case: Any, kwargs: Any) -> None:
    """A contract run pins its tenant, moves its clock and reads what a change will touch."""
    found = ContractChecks.of(case.operation.schema)
    if found is not None:
        found.run.before_call(case)


def register() -> None:
    """Put the stand-ins and `before_call` in Schemathesis' registries, once per process."""
    import schemathesis

    for stand_in in STAND_INS:
        schemathesis.check(stand_in)  # again: the same function, so nothing changes
    if before_call not in schemathesis.hooks.get_all_by_name("before_call"):
        schemathesis.hook(before_call)


__all__ = [
    "CHECKS",
    "Check",
    "ContractChecks",
    "contains",
    "expected_changes",
    "register",
]
