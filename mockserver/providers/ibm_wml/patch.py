"""JSON Patch (RFC 6902) on WML resources: which paths take which ops, applied with `jsonpatch`.

The patch applies to a flat document of the patchable fields (`/name` is `metadata.name`,
`/asset` is `entity.asset`); the result must fit a schema of the spec, else 400.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jsonpatch

from mockserver.provider import Invalid
from mockserver.spec import Schema, Spec
from mockserver.store import Record

SPEC = "ibm_wml.yaml"
EDIT = frozenset({"add", "replace", "remove"})
SET = frozenset({"add", "replace"})
REPLACE = frozenset({"replace"})
INVALID_ENTITY = "invalid_request_entity"


@dataclass(frozen=True)
class Rule:
    ops: frozenset[str]  # `test` is allowed on every patchable path as well
    nested: bool = False  # the paths below this one take the same ops
    restart: bool = False  # the deployment restarts: 202 and state `updating`
    alone: bool = False  # must be the only operation of the request
    owner: bool = False  # only a container admin may make it

    def allows(self, op: str) -> bool:
        return op == "test" or op in self.ops


Rules = Mapping[str, Rule]
Ops = list[dict[str, Any]]
Changes = list[tuple[dict[str, Any], Rule]]


def rules_for(table: Rules, ops: Ops, aliases: Mapping[str, str]) -> tuple[Ops, Changes]:
    """The operations with aliased paths resolved, and the (op, rule) pairs that change
    something (not `test`); 400 if an operation is refused."""
    resolved = [{**op, "path": aliases.get(op["path"], op["path"])} for op in ops]
    changes = [(op, rule) for op in resolved if (rule := _rule(table, op)) and op["op"] != "test"]
    for op, rule in changes:
        if rule.alone and len(resolved) > 1:
            raise Invalid(
                f"A patch of {op['path']} must be the only operation of the request; "
                "patch the other attributes separately.",
                code=INVALID_ENTITY,
            )
    return resolved, changes


def _rule(table: Rules, op: Mapping[str, Any]) -> Rule:
    path = op["path"]
    for prefix, rule in table.items():
        if path == prefix or (rule.nested and path.startswith(prefix + "/")):
            if rule.allows(op["op"]):
                return rule
            raise Invalid(
                f"Operation '{op['op']}' is not allowed on path '{path}'; allowed: "
                f"{', '.join(sorted(rule.ops | {'test'}))}.",
                code=INVALID_ENTITY,
            )
    raise Invalid(
        f"Path '{path}' cannot be patched; patchable paths: {', '.join(table)}.",
        code=INVALID_ENTITY,
    )


def document(record: Record, fields: Mapping[str, str]) -> dict[str, Any]:
    """The patchable fields of a record; `fields` maps each to `metadata` or `entity`."""
    return {f: copy.deepcopy(record[home][f]) for f, home in fields.items() if f in record[home]}


def store(record: Record, fields: Mapping[str, str], doc: Mapping[str, Any]) -> None:
    for f, home in fields.items():
        if f in doc:
            record[home][f] = doc[f]
        else:
            record[home].pop(f, None)


def apply(doc: dict[str, Any], ops: Ops, schema: str) -> dict[str, Any]:
    """`doc` patched (a new object), checked against `#/components/schemas/<schema>`."""
    try:
        patched: dict[str, Any] = jsonpatch.apply_patch(doc, ops)
    except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
        raise Invalid(f"The patch cannot be applied: {exc}", code=INVALID_ENTITY) from exc
    problems = [
        f"{'/' + '/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator(schema).iter_errors(patched)
    ]
    if problems:
        raise Invalid("Invalid request entity: " + "; ".join(problems), code=INVALID_ENTITY)
    return patched


@functools.cache
def _validator(schema: str) -> Schema:
    return _spec().validator(["components", "schemas", schema])


@functools.cache
def _spec() -> Spec:
    return Spec(SPEC)
