"""JSON Patch (RFC 6902, through `jsonpatch`) on a deployment's representation, all or nothing.

The operations run one by one on a deep copy, so a failure can name its operation; the result
must still be a `DeploymentRep` (the spec's schema, no members it does not declare outside
`metadata`, integers as JSON integers) before the caller swaps it in. Read-only members may be
read (`test`, the `from` of `copy`) but not written: `id`, `applicationKey`, `environmentKey`,
`startedAt`, the expansion-only `pullRequests`/`flagReferences`, anything starting with `_`,
and the document root.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import jsonpatch

from mockserver.provider import Invalid
from mockserver.spec import Schema, Spec

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

READ_ONLY = frozenset(
    {"id", "applicationKey", "environmentKey", "startedAt", "pullRequests", "flagReferences"}
)
# The members of an operation that write (move removes its `from`).
WRITES = {
    "add": ("path",),
    "remove": ("path",),
    "replace": ("path",),
    "copy": ("path",),
    "move": ("from", "path"),
    "test": (),
}
FREE_FORM = "metadata"  # any JSON below it
FAILURES = (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException)


@functools.cache
def schema() -> tuple[Schema, frozenset[str]]:
    """The DeploymentRep validator and its declared members, from the spec."""
    where = ["components", "schemas", "DeploymentRep"]
    spec = Spec("launchdarkly.yaml")
    properties = spec.doc["components"]["schemas"]["DeploymentRep"]["properties"]
    return spec.validator(where), frozenset(properties)


def _head(pointer: str) -> str:
    return pointer[1:].split("/")[0].replace("~1", "/").replace("~0", "~")


def read_only(pointer: str) -> bool:
    if pointer == "":
        return True
    head = _head(pointer)
    return pointer.startswith("/") and (head in READ_ONLY or head.startswith("_"))


def _failed(index: int, op: dict[str, Any], reason: str, attribute: str | None = None) -> Invalid:
    path = str(op.get("path", ""))
    return Invalid(
        f"patch operation {index} ({op.get('op')} {path}) failed: {reason}",
        details=[{"attribute": attribute or path, "reason": reason}],
    )


def _reason(doc: Any, op: dict[str, Any], exc: Exception) -> str:
    if isinstance(exc, jsonpatch.JsonPatchTestFailed):
        actual = jsonpatch.JsonPointer(op["path"]).resolve(doc, None)
        return f"test failed: value is {json.dumps(actual)}, expected {json.dumps(op['value'])}"
    return str(exc) if str(exc) not in ("", "None") else type(exc).__name__


def _apply_one(doc: Any, index: int, op: dict[str, Any]) -> Any:
    for member in WRITES.get(str(op.get("op")), ()):
        pointer = op.get(member)
        if isinstance(pointer, str) and read_only(pointer):
            raise _failed(index, op, f"{pointer or 'the document root'} is read-only", pointer)
    try:
        return jsonpatch.apply_patch(doc, [op], in_place=True)
    except FAILURES as exc:
        raise _failed(index, op, _reason(doc, op, exc)) from exc


def _pointer(parts: Sequence[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _floats(node: Any, at: str) -> Iterator[str]:
    if isinstance(node, float):
        yield at
    elif isinstance(node, dict):
        for key, value in node.items():
            if not (at == "" and key == FREE_FORM):
                yield from _floats(value, f"{at}/{_pointer([key])[1:]}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _floats(value, f"{at}/{i}")


def _schema_problem(err: ValidationError) -> tuple[str, str]:
    where = _pointer(list(err.absolute_path))
    if err.validator == "required" and isinstance(err.instance, dict):
        required: Any = err.validator_value
        missing = [name for name in required if name not in err.instance]
        return f"{where}/{missing[0]}", "is required"
    return where, err.message


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    """(JSON pointer, reason) for everything that keeps `doc` from being a DeploymentRep."""
    validator, declared = schema()
    found = [(_pointer([k]), "is not a member of DeploymentRep") for k in doc if k not in declared]
    found += [_schema_problem(err) for err in validator.iter_errors(doc)]
    found += [(at, "must be a JSON integer") for at in _floats(doc, "")]
    return found


def _touches(op: dict[str, Any], pointer: str) -> bool:
    for member in ("path", "from"):
        mine = op.get(member)
        if isinstance(mine, str) and (
            mine == pointer or pointer.startswith(mine + "/") or mine.startswith(pointer + "/")
        ):
            return True
    return False


def apply(doc: dict[str, Any], ops: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The patched copy of `doc`; raises `Invalid` naming the failing operation."""
    # jsonpatch inserts an operation's value by reference: copy, or a later operation would
    # change the request as the journal keeps it.
    out: Any = copy.deepcopy(doc)
    ops = copy.deepcopy(list(ops))
    for index, op in enumerate(ops):
        out = _apply_one(out, index, op)
    found = problems(out)
    if found:
        where, why = found[0]
        index = max((i for i, op in enumerate(ops) if _touches(op, where)), default=len(ops) - 1)
        raise _failed(index, ops[index], f"the result is not a DeploymentRep: {where} {why}")
    return dict(out)
