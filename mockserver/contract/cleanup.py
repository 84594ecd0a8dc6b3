"""The ledger of what a contract run created, and the cleanup that deletes it.

A response creates something when the spec links it to a DELETE (the link's parameters say how
to delete it: `DeleteDeployment: {deploymentId: $response.body#/id, ...}`). A created resource
the spec only links to a GET has no delete operation; it is recorded as kept. A DELETE of a
recorded resource that succeeds (or finds it gone) closes its entry. The path ids of an open
entry are what the gate lets the run change on a live server.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from mockserver.contract.profile import MISSING, Link, dig, fill, pointer

if TYPE_CHECKING:
    from mockserver.contract.gate import Gate, Req, Resp
    from mockserver.contract.profile import Profile
    from mockserver.spec import Operation


@dataclass
class Created:
    """One resource the run created."""

    label: str  # the operation that created it
    where: str  # its path, for people
    ids: frozenset[str]  # the path values that identify it
    delete: Req | None  # how to delete it; None: the API has no delete for it
    delete_op: str = ""
    state: str = "open"  # open | deleted | kept | left
    note: str = ""


@dataclass
class Ledger:
    profile: Profile
    entries: list[Created] = field(default_factory=list)

    def owns(self, values: Iterable[str]) -> bool:
        given = set(values)
        return any(e.state == "open" and e.ids and e.ids <= given for e in self.entries)

    def open(self) -> list[Created]:
        return [e for e in self.entries if e.state == "open"]

    def observe(self, req: Req, resp: Resp) -> list[str]:
        """Record what `resp` created or deleted; the labels of new entries."""
        found = self.profile.match(req.method, req.path)
        if found is None:
            return []
        op, params = found
        if req.method == "DELETE" and (200 <= resp.status < 300 or resp.status == 404):
            self._closed(req.path)
            return []
        if not 200 <= resp.status < 300:
            return []
        links = self.profile.links(op, resp.status)
        deletes = [link for link in links if link.target.method == "DELETE"]
        made = [self._entry(op, link, req, resp, params, delete=True) for link in deletes]
        if not made and req.method == "POST":
            reads = [link for link in links if link.target.method == "GET"]
            made = [self._entry(op, link, req, resp, params, delete=False) for link in reads[:1]]
        return [e.label for e in made if e is not None and self._add(e)]

    def _add(self, entry: Created) -> bool:
        if any(e.where == entry.where and e.state in ("open", "kept") for e in self.entries):
            return False
        self.entries.append(entry)
        return True

    def _closed(self, path: str) -> None:
        for entry in self.entries:
            if entry.state == "open" and entry.delete is not None and entry.delete.path == path:
                entry.state = "deleted"

    def _entry(
        self,
        op: Operation,
        link: Link,
        req: Req,
        resp: Resp,
        params: dict[str, str],
        *,
        delete: bool,
    ) -> Created | None:
        """What `link` says `op` created: to delete through the link, or (no delete) kept."""
        target = follow(link, req, resp, params)
        if target is None:
            return None
        ids = self._ids(link.target, target.path)
        if delete:
            return Created(op.operation_id, target.path, ids, target, link.target.operation_id)
        note = "the API has no delete operation for it"
        return Created(op.operation_id, target.path, ids, None, state="kept", note=note)

    def _ids(self, op: Operation, path: str) -> frozenset[str]:
        found = self.profile.match(op.method, path)
        return frozenset(found[1].values()) if found else frozenset()

    # -- cleanup ------------------------------------------------------------------------------
    def cleanup(
        self,
        gate: Gate,
        *,
        headers: dict[str, str],
        wait: Callable[[float], object],
        attempts: int = 5,
    ) -> None:
        """Delete every open entry, newest first. `wait(seconds)` lets time pass between tries
        (the mock's clock in process, a sleep on a live server)."""
        for entry in reversed(self.open()):
            assert entry.delete is not None
            request = entry.delete.replace(headers={**headers, **entry.delete.headers})
            resp = gate.send(request, kind="cleanup")
            prepare = self.profile.hints.cleanup.get(entry.delete_op)
            if _gone(resp) or prepare is None or not self._state_refusal(entry.delete_op, resp):
                self._settle(entry, resp)
                continue
            self._prepare(gate, entry, request, prepare.operation, prepare.body)
            for _ in range(attempts):
                wait(self.profile.settle)
                resp = gate.send(request, kind="cleanup")
                if _gone(resp):
                    break
            self._settle(entry, resp)

    def _state_refusal(self, delete_op: str, resp: Resp) -> bool:
        """Whether a refused delete is the resource's state talking (what the cleanup hint is
        for): a status the hints name for that delete, else 409 or 412. Not a 401 or a 400,
        which no update before the delete would mend."""
        named = {f.status for f in self.profile.hints.forbidden if f.operation == delete_op}
        return resp.status in (named or {409, 412})

    def _prepare(self, gate: Gate, entry: Created, delete: Req, op_id: str, body: Any) -> None:
        op = self.profile.spec.operations.get(op_id)
        found = self.profile.match("DELETE", delete.path)
        path = fill(op.template, found[1]) if op is not None and found is not None else None
        if op is None or path is None:
            entry.note = f"cleanup hint names {op_id}, which does not fit {delete.path}"
            return
        headers = {**delete.headers, "content-type": "application/json"}
        prep = delete.replace(method=op.method, path=path, headers=headers, body=_dumps(body))
        gate.send(prep, kind="cleanup")

    @staticmethod
    def _settle(entry: Created, resp: Resp) -> None:
        if _gone(resp):
            entry.state = "deleted"
        else:
            entry.state = "left"
            entry.note = (
                f"DELETE answered {resp.status}: {resp.body[:200].decode(errors='replace')}"
            )


def _gone(resp: Resp) -> bool:
    return 200 <= resp.status < 300 or resp.status == 404


def _dumps(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body).encode()


# -- links ----------------------------------------------------------------------------------
def evaluate(expr: Any, req: Req, resp: Resp, params: dict[str, str]) -> Any:
    """An OpenAPI runtime expression against one exchange; MISSING if it names nothing."""
    if not isinstance(expr, str) or not expr.startswith("$"):
        return expr
    if expr == "$url":
        return req.path
    if expr == "$method":
        return req.method
    if expr == "$statusCode":
        return resp.status
    source, _, rest = expr[1:].partition(".")
    message: Any = {"request": req, "response": resp}.get(source)
    if message is None:
        return MISSING
    kind, _, name = rest.partition(".")
    if rest.startswith("body"):
        return dig(message.json(), pointer(rest.partition("#")[2]))
    if kind == "header":
        return message.headers.get(name.lower(), MISSING)
    if kind == "query" and source == "request":
        values = req.params().get(name)
        return values[0] if values else MISSING
    if kind == "path" and source == "request":
        return params.get(name, MISSING)
    return MISSING


def link_values(
    link: Link, req: Req, resp: Resp, params: dict[str, str]
) -> dict[str, dict[str, Any]] | None:
    """The parameters a link gives its target after this exchange, by location; None if the
    target's path cannot be filled."""
    declared = {p.name: p.location for p in link.target.params}
    values: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}}
    for name, expr in link.parameters.items():
        place, dot, bare = name.partition(".")
        if not dot or place not in values:
            place, bare = declared.get(name, "path"), name
        value = evaluate(expr, req, resp, params)
        if value is not MISSING and value is not None:
            values[place][bare] = value
    return values if fill(link.target.template, values["path"]) is not None else None


def evaluate_all(node: Any, req: Req, resp: Resp, params: dict[str, str]) -> Any:
    """A link's `requestBody` with every runtime expression in it evaluated."""
    if isinstance(node, dict):
        out = {k: evaluate_all(v, req, resp, params) for k, v in node.items()}
        return {k: v for k, v in out.items() if v is not MISSING}
    if isinstance(node, list):
        return [evaluate_all(v, req, resp, params) for v in node]
    return evaluate(node, req, resp, params)


def follow(link: Link, req: Req, resp: Resp, params: dict[str, str]) -> Req | None:
    """The request a link describes after this exchange; None if its path cannot be filled."""
    from mockserver.contract.gate import Req

    values = link_values(link, req, resp, params)
    path = fill(link.target.template, values["path"]) if values is not None else None
    if values is None or path is None:
        return None
    headers = {k.lower(): str(v) for k, v in values["header"].items()}
    return Req(link.target.method, path, urlencode(values["query"]), headers)


__all__ = ["Created", "Ledger", "evaluate", "evaluate_all", "follow", "link_values"]
