"""`deploymock contract PROVIDER [--url URL]`: the contract suite from the command line.

Without `--url` it runs against a fresh mock in process. Exit status: 0 when every check passed
(and, on a live server, everything the run created was deleted), 1 otherwise, 2 for bad
arguments, 130 when interrupted (after the cleanup).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mockserver.contract.phases import PHASES


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "contract",
        help="check a server (the mock, or the real vendor) against a provider's contract",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("provider", help="provider name, e.g. sap_ai_core")
    p.add_argument("--url", help="where the spec's paths start; default: the mock, in process")
    p.add_argument("--token", help="credentials, sent as the spec's security scheme wants")
    p.add_argument("--tenant", help="the tenant (resource group, space, project) to work in")
    p.add_argument(
        "--other-tenant", help="a tenant the run's resources must be invisible from (live only)"
    )
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="an extra header on every request (repeatable)",
    )
    p.add_argument("--max-examples", type=int, default=200, help="examples per operation")
    p.add_argument("--max-requests", type=int, default=None, help="request budget (live: 10000)")
    p.add_argument("--rate-limit", help="at most this many requests, e.g. 10/s or 600/m")
    p.add_argument("--read-only", action="store_true", help="send nothing but GET and HEAD")
    p.add_argument("--junit-xml", metavar="FILE", help="write a JUnit XML report")
    p.add_argument("--hints", metavar="FILE", help="contract hints (YAML or JSON), see docs")
    p.add_argument("--seed", type=int, default=0, help="generation seed (default 0)")
    p.add_argument("--mode", choices=("positive", "negative", "all"), default="all")
    p.add_argument(
        "--phases",
        default=",".join(PHASES),
        help=f"comma-separated subset of {','.join(PHASES)}",
    )
    p.add_argument(
        "--operation",
        action="append",
        default=[],
        metavar="OPERATION_ID",
        help="test only this operation (repeatable)",
    )
    p.add_argument(
        "--settle",
        type=float,
        metavar="SECONDS",
        help="seconds an asynchronous update may take to end (the 'settle' hint; "
        "default: the provider's)",
    )
    p.add_argument(
        "--settle-samples",
        type=int,
        default=3,
        metavar="N",
        help="live: follow at most N accepted asynchronous updates per operation to their end, "
        "polling (default 3; 0: none)",
    )
    p.add_argument(
        "--settle-budget",
        type=float,
        default=600.0,
        metavar="SECONDS",
        help="live: at most this many seconds in all waiting for updates to end (default 600)",
    )
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    p.add_argument("--insecure", action="store_true", help="do not verify TLS certificates")
    p.add_argument("--ca-cert", help="trust this CA bundle (PEM) for https")
    p.add_argument(
        "--exclude-check",
        action="append",
        default=[],
        metavar="NAME",
        help="do not run this check (repeatable), e.g. positive_data_acceptance",
    )
    p.add_argument(
        "--any-token",
        action="store_true",
        help="the server accepts any well-formed token (deploymock serve): "
        "skip the invalid-token probes",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress, only the summary")


def _headers(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise ValueError(f"--header wants NAME:VALUE, got {item!r}")
        out[name.strip()] = value.strip()
    return out


def _hints(path: str | None, settle: float | None) -> dict[str, Any] | None:
    loaded: dict[str, Any] | None = None
    if path is not None:
        import yaml

        loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        if not isinstance(loaded, dict):
            raise ValueError(f"{path}: hints must be a mapping")
    if settle is None:
        return loaded
    if settle <= 0:
        raise ValueError("--settle must be more than 0 seconds")
    return {**(loaded or {}), "settle": settle}


def run(args: argparse.Namespace) -> int:
    from mockserver.contract.runner import ContractOptions, run_contract

    try:
        import schemathesis  # noqa: F401
    except ImportError:
        print(
            "deploymock contract needs Schemathesis: pip install 'deploymock[contract]'",
            file=sys.stderr,
        )
        return 2

    def say(line: str) -> None:
        print(line, flush=True)

    phases = tuple(p.strip() for p in args.phases.split(",") if p.strip())
    try:
        unknown = sorted(set(phases) - set(PHASES))
        if unknown:
            raise ValueError(f"unknown phase(s): {', '.join(unknown)}")
        options = ContractOptions(
            max_examples=args.max_examples,
            seed=args.seed,
            mode=args.mode,
            phases=phases,
            read_only=args.read_only,
            operations=tuple(args.operation),
            max_requests=args.max_requests or (10_000 if args.url else None),
            rate_limit=args.rate_limit,
            hints=_hints(args.hints, args.settle),
            settle_samples=args.settle_samples,
            settle_budget=args.settle_budget,
            exclude_checks=tuple(args.exclude_check),
            any_token=args.any_token,
            timeout=args.timeout,
            verify=False if args.insecure else (args.ca_cert or True),
            progress=None if args.quiet else say,
        )
        report = run_contract(
            args.provider,
            url=args.url,
            token=args.token,
            tenant=args.tenant,
            other_tenant=args.other_tenant,
            headers=_headers(args.header),
            options=options,
        )
    except (KeyError, ValueError, OSError) as err:
        print(f"deploymock contract: {err}", file=sys.stderr)
        return 2
    print(report.summary(), flush=True)
    if args.junit_xml:
        report.write_junit(args.junit_xml)
    if report.interrupted:
        return 130
    return 0 if report.ok else 1
