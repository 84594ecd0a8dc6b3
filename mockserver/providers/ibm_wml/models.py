"""Models: metadata only (no content), a working copy and numbered, immutable revisions."""

from __future__ import annotations

import copy
from typing import Any

from mockserver.clock import iso
from mockserver.provider import Ctx, NotFound, Record, Reply, public
from mockserver.providers.ibm_wml import patch
from mockserver.providers.ibm_wml.common import new_metadata, touch

METADATA_KEYS = frozenset({"name", "description", "tags", "space_id", "project_id"})
FIELDS = {"name": "metadata", "description": "metadata", "tags": "metadata", "custom": "entity"}
RULES: patch.Rules = {
    "/name": patch.Rule(patch.SET),
    "/description": patch.Rule(patch.EDIT),
    "/tags": patch.Rule(patch.EDIT, nested=True),
    "/custom": patch.Rule(patch.EDIT, nested=True),
}


def _missing(mid: str, rev: str | None = None) -> NotFound:
    what = f"Model with id '{mid}'" + (f" has no revision '{rev}'" if rev else " does not exist")
    return NotFound(f"{what}. Re-try with a valid model id.", kind="model")


def find(ctx: Ctx, mid: str, rev: str | None = None) -> Record:
    """The working copy of a model, or one of its revisions; 404 when there is none."""
    model = ctx.store.find("model", mid)
    if model is None:
        raise _missing(mid)
    if rev is None:
        return model
    revisions: list[Record] = model["_revisions"]
    # The spec's pattern makes rev a positive integer; one longer than any count is no revision.
    index = int(rev) - 1 if len(rev) <= 18 else len(revisions)
    if index >= len(revisions):
        raise _missing(mid, rev)
    return revisions[index]


def create_model(ctx: Ctx) -> Reply:
    mid = ctx.new_id("uuid")
    entity = {k: copy.deepcopy(v) for k, v in ctx.body.items() if k not in METADATA_KEYS}
    model = {"metadata": new_metadata(ctx, mid, ctx.body), "entity": entity, "_revisions": []}
    ctx.store.put("model", mid, model)
    return Reply(201, public(model, deep=True))


def get_model(ctx: Ctx) -> Reply:
    return Reply(200, public(find(ctx, ctx.path["model_id"], ctx.query.get("rev")), deep=True))


def update_model(ctx: Ctx) -> Reply:
    model = find(ctx, ctx.path["model_id"])
    ops, _ = patch.rules_for(RULES, ctx.body, aliases={})
    patch.store(model, FIELDS, patch.apply(patch.document(model, FIELDS), ops, "ModelPatchTarget"))
    touch(model, ctx)
    return Reply(200, public(model, deep=True))


def create_revision(ctx: Ctx) -> Reply:
    model = find(ctx, ctx.path["model_id"])
    revision = public(model, deep=True)
    commit: dict[str, Any] = {"committed_at": iso(ctx.now(), millis=True)}
    if "commit_message" in ctx.body:
        commit["commit_message"] = ctx.body["commit_message"]
    revision["metadata"].update(rev=str(len(model["_revisions"]) + 1), commit_info=commit)
    model["_revisions"].append(revision)
    return Reply(201, copy.deepcopy(revision))


def delete_model(ctx: Ctx) -> Reply:
    find(ctx, ctx.path["model_id"])
    ctx.store.delete("model", ctx.path["model_id"])
    return Reply(204, None)
