"""`deploymock` command line: `serve` the mock, `describe` its providers, or check a server's
`contract`.

  deploymock serve --port 0 --delay start=0      the mock; it says where it listens
  deploymock describe sap_ai_core                operations, delays, outcomes, options, headers
  deploymock contract sap_ai_core --url URL      a server held to the provider's spec
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import socket
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mockserver.errors import ConfigError

if TYPE_CHECKING:
    import uvicorn

READY = "deploymock: ready "  # then JSON: {"url", "providers", "root", "admin", "admin_token"}
ADMIN_TOKEN_ENV = "DEPLOYMOCK_ADMIN_TOKEN"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class _Help(argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Descriptions as written, every option's default shown."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        # No "(default: None)" or "(default: False)": flags, and options whose absence is the
        # default, say what they do.
        if action.nargs == 0 or action.default is None or action.default == []:
            return action.help
        return super()._get_help_string(action)


class _Command(argparse.ArgumentParser):
    """A subcommand's parser: an argument it does not know is its error, shown with its own
    usage (argparse hands unknown arguments up to the top-level parser, whose usage says
    nothing about them)."""

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


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
/__admin. Once it listens, it prints each URL, then one line for scripts, on stderr:

  deploymock: ready {"url": "http://127.0.0.1:8080", "providers": {...}, ...}

With --port 0 the system picks a free port; the ready line says which. Exit
status 2: bad arguments or settings, or the address cannot be bound.
"""

DESCRIBE = """What a provider serves and what can be set, read from its module and its spec:
operations (operationId, method, path), delays with their defaults, outcomes, options with
their defaults, admin actions and the headers a client sends. Without PROVIDER, one line each.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deploymock", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Command
    )
    serve = sub.add_parser(
        "serve", help="run the mock server", description=SERVE, formatter_class=_Help
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument(
        "--admin-token",
        default=os.environ.get(ADMIN_TOKEN_ENV),
        metavar="TOKEN",
        help="what /__admin asks for as 'Authorization: Bearer TOKEN' (default: "
        f"${ADMIN_TOKEN_ENV}, else one made at start-up, in the ready line); 'none': no token",
    )
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request must arrive whole (headers and body) within this, else 408 and closed",
    )
    serve.add_argument(
        "--admin-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a dotted host name /__admin answers besides this machine's (repeatable)",
    )
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
        "--journal-bytes",
        type=int,
        default=64 * 1024 * 1024,
        help="memory the journal may hold, in bytes (bodies past 16 KiB are kept truncated)",
    )
    serve.add_argument(
        "--state",
        metavar="FILE",
        help="keep state in this SQLite file across restarts (default: memory)",
    )
    serve.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
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


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket, bound before anything says where the mock is."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    families = [family for family, *_ in found]
    # A name with both (localhost): IPv4, where clients that try each address end up anyway.
    family = socket.AF_INET if socket.AF_INET in families else families[0]
    return socket.create_server((host, port), family=family)


def _banner(app: Any, base: str, root: str | None) -> None:
    """Where each provider is, for people, then one JSON line for scripts."""
    names = list(app.state.mock.providers)
    for name in names:
        print(f"deploymock: {name:<16} {base}/{name}", file=sys.stderr)
    if root:
        print(f"deploymock: {root:<16} {base}/ (root)", file=sys.stderr)
    print(f"deploymock: admin            {base}/__admin", file=sys.stderr)
    token = app.state.mock.admin_token
    if token is None:
        print("deploymock: the admin API takes no token (--admin-token none)", file=sys.stderr)
    ready = {
        "url": base,
        "providers": {n: f"{base}/{n}" for n in names},
        "root": root,
        "admin": f"{base}/__admin",
        "admin_token": token,  # for the scripts that read this line; stderr is the user's own
    }
    print(READY + json.dumps(ready), file=sys.stderr, flush=True)


def _tls(args: argparse.Namespace) -> dict[str, Any]:
    """uvicorn's TLS settings from the flags (a certificate made now for --self-signed)."""
    if args.self_signed:
        from mockserver.tls import self_signed

        pair = self_signed(hosts=tuple(dict.fromkeys((args.host, "127.0.0.1", "localhost"))))
        print(f"deploymock: self-signed certificate {pair.certfile}", file=sys.stderr)
        return {"ssl_certfile": str(pair.certfile), "ssl_keyfile": str(pair.keyfile)}
    if args.certfile:
        return {"ssl_certfile": args.certfile, "ssl_keyfile": args.keyfile}
    return {}


def _server(config: uvicorn.Config, url: str, ready: Callable[[], None]) -> uvicorn.Server:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, calling `ready` once it accepts connections."""

        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets=sockets)
            if self.started:
                # uvicorn says this only for sockets it bound itself; scripts wait for it.
                message = "Uvicorn running on %s (Press CTRL+C to quit)"
                logging.getLogger("uvicorn.error").info(message, url)
                ready()

    return Server(config)


def _app(args: argparse.Namespace, root: str | None) -> Any:
    """The mock the flags describe (a ConfigError when they name what does not exist)."""
    from mockserver.app import create_app

    delays: dict[str, dict[str, float]] = {}
    for provider, name, seconds in args.delay:
        delays.setdefault(provider, {})[name] = seconds
    return create_app(
        providers=args.provider,
        root=root,
        seed=args.seed,
        delays=delays,
        validate_responses=args.validate_responses,
        journal_size=args.journal_size,
        journal_bytes=args.journal_bytes,
        state=args.state,
        admin_token=args.admin_token,
        admin_hosts=args.admin_host,
    )


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    if (args.certfile or args.keyfile) and not (args.certfile and args.keyfile):
        print("deploymock: --certfile and --keyfile go together", file=sys.stderr)
        return 2
    token = args.admin_token
    if token is None:
        args.admin_token = secrets.token_urlsafe(24)
    elif token.lower() == "none":
        args.admin_token = None
    if args.host not in LOOPBACK and not args.host.startswith("127."):
        if args.admin_token is None:
            print(
                f"deploymock: --host {args.host} lets other machines in: the admin API needs a "
                "token there (drop --admin-token none)",
                file=sys.stderr,
            )
            return 2
        print(
            f"deploymock: warning: --host {args.host} serves other machines too; the admin API "
            "answers only with its token",
            file=sys.stderr,
        )
    root = args.provider[0] if args.provider and len(args.provider) == 1 else None
    try:
        app = _app(args, root)
    except ConfigError as err:
        print(f"deploymock: {err}", file=sys.stderr)
        return 2
    try:
        sock = _listen(args.host, args.port)
    except OSError as err:
        # create_server's own message repeats the address; the system's names the reason.
        code = err.errno or 0
        why = os.strerror(code) if code > 0 else (err.strerror or str(err))
        print(f"deploymock: cannot listen on {args.host}:{args.port}: {why}", file=sys.stderr)
        return 2
    with sock:
        tls = _tls(args)
        port = sock.getsockname()[1]
        host = f"[{args.host}]" if ":" in args.host else args.host
        base = f"{'https' if tls else 'http'}://{host}:{port}"
        served: Any = app
        if args.access_log and args.log_level in ("trace", "debug", "info"):
            from mockserver.accesslog import AccessLog

            served = AccessLog(app, sys.stdout)  # where uvicorn writes its own, at half the speed
        from mockserver.protocol import guarded

        config = uvicorn.Config(
            served,
            host=args.host,
            port=port,
            log_level=args.log_level,
            access_log=False,
            http=guarded(args.request_timeout),
            **tls,
        )
        server = _server(config, base, ready=lambda: _banner(app, base, root))
        server.run(sockets=[sock])
    return 0 if server.started else 3  # uvicorn's exit status for a failed start-up


def describe(args: argparse.Namespace) -> int:
    from mockserver.describe import describe as about
    from mockserver.describe import overview, render, render_overview

    try:
        info: Any = about(args.provider) if args.provider else overview()
    except ConfigError as err:
        print(f"deploymock: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(info, indent=2, default=str))
    else:
        print(render(info) if args.provider else render_overview(info), end="")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "describe":
        return describe(args)
    if args.command == "contract":
        from mockserver.contract.command import run

        return run(args)
    return 2  # pragma: no cover - argparse enforces the choices


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
