"""`deploymock` command line: `serve` the mock, `describe` its providers, or check a server's
`contract`.

  deploymock serve --port 0 --delay start=0      the mock; it says where it listens
  deploymock describe sap_ai_core                operations, delays, outcomes, options, headers
  deploymock contract sap_ai_core --url URL      a server held to the provider's spec
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from collections.abc import Sequence
from typing import Any

from mockserver.errors import ConfigError

READY = "deploymock: ready "  # then JSON: {"url", "providers", "root", "admin"}


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, every option's default shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # No "(default: None)" or "(default: False)" for options whose absence is the default.
        if action.default in (None, False, []):
            return action.help
        return super()._get_help_string(action)


def _delay(text: str) -> tuple[str, str, float]:
    """`[provider.]name=seconds`, e.g. `start=0` or `sap_ai_core.start=2.5`."""
    key, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected [provider.]name=seconds, got {text!r}")
    provider, _, name = key.rpartition(".")
    try:
        seconds = float(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from exc
    if seconds < 0:
        raise argparse.ArgumentTypeError("a delay cannot be negative")
    return provider or "*", name, seconds


SERVE = """Serve every provider (or those named) under /<provider>, the admin API under
/__admin. Once listening, it prints each URL and a line for scripts on stderr:

  deploymock: ready {"url": "http://127.0.0.1:8080", "providers": {...}, "root": null, ...}

`--port 0` picks a free port; the ready line says which. Exit status 2: bad arguments or
settings, or the port cannot be bound.
"""

DESCRIBE = """What a provider serves and what can be set, read from its module and its spec:
operations (operationId, method, path), delays with their defaults, outcomes, options with
their defaults, admin actions and the headers a client sends. Without PROVIDER, one line each.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploymock", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser(
        "serve", help="run the mock server", description=SERVE, formatter_class=_Help
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=8080, help="port to listen on; 0: a free one")
    serve.add_argument(
        "--provider",
        action="append",
        default=None,
        metavar="NAME",
        help="serve only this provider (repeatable); with exactly one, it is also served at / "
        "(default: all; see `deploymock describe`)",
    )
    serve.add_argument(
        "--delay",
        action="append",
        type=_delay,
        default=[],
        metavar="[PROVIDER.]NAME=SECONDS",
        help="transition delay override, e.g. start=0 or sap_ai_core.stop=1 (repeatable; "
        "default: the provider's, see `deploymock describe PROVIDER`)",
    )
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the spec; a mismatch becomes a 500",
    )
    serve.add_argument("--certfile", help="serve https with this certificate (PEM)")
    serve.add_argument("--keyfile", help="the certificate's private key (PEM)")
    serve.add_argument(
        "--self-signed",
        action="store_true",
        help="serve https with a certificate made at start-up (needs deploymock[tls])",
    )
    serve.add_argument(
        "--seed", type=int, default=None, help="seed ids for reproducible runs (default: random)"
    )
    serve.add_argument(
        "--journal-size", type=int, default=10_000, help="requests kept for GET /__admin/requests"
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        help="keep state in this SQLite file across restarts (default: memory)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        choices=("critical", "error", "warning", "info", "debug", "trace"),
        help="uvicorn's log level; below info, no access log",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="do not log a line per request (on stdout)",
    )
    describe = sub.add_parser(
        "describe",
        help="what a provider serves and what can be set",
        description=DESCRIBE,
        formatter_class=_Help,
    )
    describe.add_argument("provider", nargs="?", help="provider name (default: all, in a table)")
    describe.add_argument("--json", action="store_true", help="print JSON, for scripts")
    from mockserver.contract.command import add_parser as add_contract

    add_contract(sub)
    return parser


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from mockserver.app import create_app

    delays: dict[str, dict[str, float]] = {}
    for provider, name, seconds in args.delay:
        delays.setdefault(provider, {})[name] = seconds
    providers = args.provider
    try:
        app = create_app(
            providers=providers,
            root=providers[0] if providers and len(providers) == 1 else None,
            seed=args.seed,
            delays=delays,
            validate_responses=args.validate_responses,
            journal_size=args.journal_size,
            state=args.state,
        )
    except ConfigError as err:
        print(f"deploymock: {err}", file=sys.stderr)
        return 2
    tls: dict[str, Any] = {}
    if args.self_signed:
        from mockserver.tls import self_signed

        pair = self_signed(hosts=tuple(dict.fromkeys((args.host, "127.0.0.1", "localhost"))))
        tls = {"ssl_certfile": str(pair.certfile), "ssl_keyfile": str(pair.keyfile)}
        print(f"deploymock: self-signed certificate {pair.certfile}", file=sys.stderr)
    elif args.certfile or args.keyfile:
        if not (args.certfile and args.keyfile):
            print("deploymock: --certfile and --keyfile go together", file=sys.stderr)
            return 2
        tls = {"ssl_certfile": args.certfile, "ssl_keyfile": args.keyfile}
    names = list(app.state.mock.providers)
    base = f"{'https' if tls else 'http'}://{args.host}:{args.port}"
    for name in names:
        print(f"deploymock: {name:<16} {base}/{name}", file=sys.stderr)
    if providers and len(providers) == 1:
        print(f"deploymock: {providers[0]:<16} {base}/ (root)", file=sys.stderr)
    print(f"deploymock: admin            {base}/__admin", file=sys.stderr)
    served: Any = app
    if args.access_log and args.log_level.lower() in ("trace", "debug", "info"):
        from mockserver.accesslog import AccessLog

        served = AccessLog(app, sys.stdout)  # where uvicorn writes its own, at half the speed
    uvicorn.run(
        served,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=False,
        **tls,
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "contract":
        from mockserver.contract.command import run

        return run(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
