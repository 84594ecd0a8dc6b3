"""`deploymock describe`: what a provider serves and what can be set, read from the provider
module and its spec (never restated, so it cannot drift).

`describe(provider)` is a JSON-ready dict; `overview()` is one row per provider; `render` and
`render_overview` are their text forms.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.errors import ConfigError
from mockserver.provider import Provider
from mockserver.spec import Spec

TENANT = "<tenant>"  # what `client_headers` is asked for


def _providers(providers: Mapping[str, Provider] | None) -> Mapping[str, Provider]:
    if providers is not None:
        return providers
    from mockserver.app import discover

    return discover()


def _spec(provider: Provider) -> tuple[Spec, dict[str, Any]]:
    spec = Spec(provider.spec)
    info = spec.doc.get("info", {})
    return spec, {"file": provider.spec, "title": info.get("title"), "version": info.get("version")}


def describe(name: str, *, providers: Mapping[str, Provider] | None = None) -> dict[str, Any]:
    """One provider: its operations, delays, outcomes, options, admin actions, client headers."""
    known = _providers(providers)
    if name not in known:
        raise ConfigError(f"unknown provider {name}; known: {', '.join(known)}")
    provider = known[name]
    spec, about = _spec(provider)
    return {
        "name": name,
        "description": provider.description or about["title"] or "",
        "spec": about,
        "served_at": f"/{name}",
        "operations": [
            {
                "operationId": op.operation_id,
                "method": op.method.upper(),
                "path": op.template,
                "summary": op.raw.get("summary", ""),
                "implemented": op.operation_id not in provider.unimplemented,
            }
            for op in spec.operations.values()
        ],
        "delays": dict(provider.delays),
        "outcomes": sorted(provider.outcomes),
        "options": dict(provider.options),
        "admin": [
            {"action": action, "endpoint": f"POST /__admin/providers/{name}/{action}"}
            for action in provider.admin
        ],
        "client_headers": provider.client_headers(TENANT),
    }


def overview(*, providers: Mapping[str, Provider] | None = None) -> list[dict[str, Any]]:
    """One row per provider: name, description, operation count, delays, options, admin."""
    rows = []
    for name, provider in _providers(providers).items():
        spec, about = _spec(provider)
        rows.append(
            {
                "name": name,
                "description": provider.description or about["title"] or "",
                "operations": len(spec.operations),
                "unimplemented": len(provider.unimplemented),
                "delays": list(provider.delays),
                "options": list(provider.options),
                "admin": list(provider.admin),
            }
        )
    return rows


def _listed(names: list[str]) -> str:
    return ", ".join(names) or "none"


def _columns(rows: Sequence[tuple[str, ...]], indent: str = "") -> list[str]:
    """Rows as aligned columns (the last one unpadded)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in rows
    ]


def render_overview(rows: list[dict[str, Any]]) -> str:
    """`overview()` as a table."""
    table = [("PROVIDER", "OPERATIONS", "DELAYS", "DESCRIPTION")]
    for row in rows:
        ops = str(row["operations"])
        if row["unimplemented"]:
            ops += f" ({row['unimplemented']} unimplemented)"
        table.append((row["name"], ops, _listed(row["delays"]), row["description"]))
    hint = "deploymock describe PROVIDER [--json]: its operations, settings and headers"
    return "\n".join([*_columns(table), "", hint]) + "\n"


def _block(title: str, rows: Sequence[tuple[str, ...]]) -> list[str]:
    return [f"{title}:", *_columns(rows, "  ")] if rows else [f"{title}: none"]


def render(info: dict[str, Any]) -> str:
    """`describe(...)` as text."""
    name, spec = info["name"], info["spec"]
    ops = [
        (
            o["operationId"],
            o["method"],
            o["path"],
            "" if o["implemented"] else "unimplemented (501)",
        )
        for o in info["operations"]
    ]
    parts = [
        [f"{name}: {info['description']}"],
        [f"spec: {spec['file']} ({spec['title']}, version {spec['version']})"],
        [f"served at: {info['served_at']} (and at / with `serve --provider {name}`)"],
        _block(f"operations ({len(ops)})", ops),
        _block(
            f"delays, seconds (serve --delay {name}.NAME=SECONDS)",
            [(k, f"{v:g}") for k, v in info["delays"].items()],
        ),
        [f"outcomes (queue with POST /__admin/outcomes): {_listed(info['outcomes'])}"],
        _block(
            f"options, defaults (PATCH /__admin/options/{name})",
            [(k, json.dumps(v, default=str)) for k, v in info["options"].items()],
        ),
        _block("admin actions", [(a["action"], a["endpoint"]) for a in info["admin"]]),
        _block(
            f"client headers (for tenant {TENANT})",
            [(f"{k}:", v) for k, v in info["client_headers"].items()],
        ),
    ]
    return "\n".join("\n".join(p) for p in parts) + "\n"


__all__ = ["describe", "overview", "render", "render_overview"]
