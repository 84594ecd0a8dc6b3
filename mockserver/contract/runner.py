"""Run the contract suite for one provider: Schemathesis over its spec, plus our checks.

`run_contract("sap_ai_core")` runs it in process against a fresh mock; with `url=` it runs
against a live server. Schemathesis runs every phase (examples, coverage, fuzzing, stateful
through the spec's links) with positive and negative data and its built-in checks, and our
checks from `checks.py`. Every request goes through the run's `Gate`; what the run
created is deleted at the end, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mockserver.contract.checks import ContractChecks
from mockserver.contract.context import RunContext, Target
from mockserver.contract.gate import AsgiForwarder, Gate, GateApp, HttpForwarder, RateLimit
from mockserver.contract.hints import Hints
from mockserver.contract.phases import PHASES, SCHEMATHESIS_PHASES
from mockserver.contract.profile import Profile
from mockserver.contract.report import CheckStat, ContractReport, Finding
from mockserver.contract.roots import with_create_roots
from mockserver.contract.settle import Settling
from mockserver.provider import Provider
from mockserver.spec import Spec

# Schema-valid requests that the vendor rejects on semantics (an unknown configurationId, a
# container given twice) are documented 400s; checks 2 and 6 cover the rejection path instead.
OFF_BY_DEFAULT = ("positive_data_acceptance",)
# On a server that accepts any well-formed token (the mock, as its specs say) the built-in
# `ignored_auth` proves nothing with its "invalid" token and re-probes every case without
# credentials (two thirds of the requests); `credentials_required` checks the missing-token
# half on a sample instead.
OFF_FOR_ANY_TOKEN = ("ignored_auth",)


@dataclass(kw_only=True)
class ContractOptions:
    """How much to run, and how carefully. The defaults are what CI runs."""

    max_examples: int = 200
    seed: int | None = 0
    mode: str = "all"  # positive | negative | all
    phases: tuple[str, ...] = PHASES
    stateful_examples: int | None = None  # state machine runs; default: max_examples
    stateful_steps: int | None = None
    read_only: bool = False
    operations: tuple[str, ...] = ()  # operationIds to test; empty: all of them
    max_requests: int | None = None
    rate_limit: str | None = None
    # In process, time stands still (a resource with a time to live cannot expire between two
    # steps); it moves when the run waits on purpose: the walk lets a new resource settle, and
    # an accepted asynchronous update is followed to its end (with hints). `tick` also lets
    # these virtual seconds pass before each Schemathesis call, to explore lifecycles.
    tick: float = 0.0
    probes_per_operation: int = 20
    # On a live server an accepted asynchronous update is followed to its end by polling, in
    # real time: at most `settle_samples` updates per operation, `settle_budget` seconds in all
    # (see settle.py). In process time is virtual and every one is followed.
    settle_samples: int = 3
    settle_budget: float = 600.0
    no_shrink: bool = False
    exclude_checks: tuple[str, ...] = ()
    hints: Mapping[str, Any] | None = None
    any_token: bool = False  # the server accepts any well-formed token (deploymock serve does)
    timeout: float = 30.0
    verify: bool | str = True
    progress: Callable[[str], None] | None = None

    def __post_init__(self) -> None:
        if self.settle_samples < 0:
            raise ValueError("settle_samples cannot be negative")
        if self.settle_budget < 0:
            raise ValueError("settle_budget cannot be negative")


@dataclass
class _Tally:
    """Check verdicts into the report: counts per check and operation, distinct failures."""

    report: ContractReport
    base: str = ""  # a live run's URL, for the reproduction commands
    seen: set[tuple[str, str, str, str]] = field(default_factory=set)

    def scenario(self, label: str, recorder: Any) -> None:
        """One Schemathesis scenario's check results."""
        for nodes in recorder.checks.values():
            for node in nodes:
                info = node.failure_info
                reproduce = info.code_sample.strip().replace("\n", " ") if info else ""
                if self.base:
                    reproduce = reproduce.replace("http://testserver", self.base)
                failure = info.failure if info else None
                self.add(
                    node.name, (failure.operation if failure else None) or label, failure, reproduce
                )

    def walked(self, results: list[Any]) -> None:
        for result in results:
            self.add(result.name, result.operation, result.failure, "(the walk)")

    def add(self, check: str, operation: str, failure: Any, reproduce: str) -> None:
        stat = self.report.checks.setdefault(check, CheckStat(check))
        stat.operations[operation] += 1
        if failure is None:
            stat.passed += 1
            return
        stat.failed += 1
        key = (check, operation, failure.title, failure.message.split("\n", 1)[0])
        if key not in self.seen:
            self.seen.add(key)
            finding = Finding(check, operation, failure.title, failure.message, reproduce)
            self.report.findings.append(finding)


def provider_named(name: str, app: Any = None) -> Provider:
    """The provider whose contract a run checks: the package's own (the reference, whatever
    the server under test does), else one that only `app` serves."""
    from mockserver.app import discover, mock_of

    known = discover()
    if name in known:
        return known[name]
    if app is not None and name in mock_of(app).providers:
        return mock_of(app).providers[name]
    raise KeyError(f"unknown provider {name!r}; known: {', '.join(known)}")


def profile_for(
    provider: Provider, hints: Mapping[str, Any] | None = None, *, spec: Spec | None = None
) -> Profile:
    """The provider as a run sees it. `spec` is its spec parsed already (see `served_spec`);
    without one it is parsed here."""
    return Profile(provider, spec or Spec(provider.spec), Hints.parse(provider.contract, hints))


def served_spec(app: Any, provider: Provider) -> Spec | None:
    """The spec `app` parsed for `provider`, if it serves the same document: an in-process run
    reads the spec once, for the mock and for itself."""
    from mockserver.app import mock_of

    spec = mock_of(app).specs.get(provider.name)
    return spec if spec is not None and spec.filename == provider.spec else None


# -- targets --------------------------------------------------------------------------------
def fresh_mock(name: str) -> Any:
    """A mock of its own for an in-process run, serving `name`, its virtual clock frozen."""
    from mockserver.app import create_app
    from mockserver.clock import VirtualClock

    return create_app(providers=[name], clock=VirtualClock.fake())


def in_process(
    profile: Profile, *, app: Any = None, tenant: str | None = None, tick: float = 1.0
) -> Target:
    """The mock in process: a fresh app of its own unless `app` is given."""
    from mockserver.app import mock_of

    name = profile.name
    if app is None:
        app = fresh_mock(name)
    mock = mock_of(app)
    tenant = tenant or profile.tenant_value(uuid.uuid4().hex)
    pinned = {p.name.lower() for p in profile.tenant if p.where == "header"}
    provider = mock.providers[name]

    def credentials_for(who: str) -> dict[str, str]:
        headers = provider.client_headers(who)
        return {k: v for k, v in headers.items() if k.lower() not in pinned}

    clock = mock.clock_for(tenant)
    forward = AsgiForwarder(app, prefix=f"/{name}")
    seen = len(mock.errors)
    return Target(
        name="in process",
        forward=forward,
        credentials=credentials_for(tenant),
        tenant=tenant,
        other_tenant=profile.tenant_value(uuid.uuid4().hex),
        live=False,
        tick=(lambda: clock.advance(tick)) if tick > 0 else None,
        advance=clock.advance,
        any_token=True,
        credentials_for=credentials_for,
        mock_errors=lambda: [f"{e.operation_id}: {e.message}" for e in mock.errors[seen:]],
        close=forward.close,
    )


def live(
    profile: Profile,
    url: str,
    *,
    token: str | None = None,
    tenant: str | None = None,
    other_tenant: str | None = None,
    headers: Mapping[str, str] | None = None,
    verify: bool | str = True,
    timeout: float = 30.0,
    transport: Any = None,
) -> Target:
    """A live server: `url` is where the spec's paths start (e.g. `http://host:8080/ibm_wml`).
    `transport` is an httpx transport to send through instead of the network."""
    credentials = {**(profile.token_headers(token) if token else {}), **(headers or {})}
    forward = HttpForwarder(url, verify=verify, timeout=timeout, transport=transport)
    return Target(
        name=url,
        forward=forward,
        credentials=credentials,
        tenant=tenant,
        other_tenant=other_tenant,
        live=True,
        close=forward.close,
    )


# -- the run --------------------------------------------------------------------------------
def build_schema(
    profile: Profile, app: GateApp, target: Target, options: ContractOptions, pinned: dict[str, str]
) -> Any:
    import schemathesis
    from schemathesis.config import SchemathesisConfig

    off = (
        *OFF_BY_DEFAULT,
        *(OFF_FOR_ANY_TOKEN if target.any_token else ()),
        *options.exclude_checks,
    )
    checks = {name: {"enabled": False} for name in off}
    stateful: dict[str, Any] = {"enabled": "stateful" in options.phases and not options.read_only}
    if options.stateful_steps:
        stateful["max-steps"] = options.stateful_steps
    if options.stateful_examples:
        stateful["generation"] = {"max-examples": options.stateful_examples}
    config = SchemathesisConfig.from_dict(
        {
            "seed": options.seed if options.seed is not None else uuid.uuid4().int >> 64,
            "base-url": "http://testserver",
            "headers": dict(target.credentials),
            "parameters": pinned,
            "workers": 1,
            "continue-on-failure": True,
            "request-timeout": options.timeout,
            "cache": {"enabled": False},
            "generation": {
                "mode": options.mode,
                "max-examples": options.max_examples,
                "database": "none",
                "no-shrink": options.no_shrink,
            },
            "phases": {
                **{p: {"enabled": p in options.phases} for p in SCHEMATHESIS_PHASES[:3]},
                "stateful": stateful,
            },
            "checks": checks,
        }
    )
    schema: Any = schemathesis.openapi.from_dict(copy.deepcopy(profile.doc), config=config)
    schema.app = app
    if options.read_only:
        schema = schema.include(method=["GET", "HEAD"])
    if options.operations:
        schema = schema.include(operation_id=list(options.operations))
    with_create_roots(schema, profile)
    return schema


class ContractSession:
    """One contract run, set up: `.schema` is the Schemathesis schema whose every request goes
    through the run's gate. `execute()` runs the whole suite; `close()` deletes what the run
    created and returns the report. A pytest user may run the schema's cases themselves.
    """

    def __init__(
        self,
        provider: str,
        *,
        app: Any = None,
        url: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
        other_tenant: str | None = None,
        headers: Mapping[str, str] | None = None,
        options: ContractOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        transport: Any = None,
    ) -> None:
        self.options = options = options or ContractOptions()
        self.sleep = sleep
        self.say = options.progress or (lambda _line: None)
        reference = provider_named(provider, app if url is None else None)
        if url is None and app is None:
            app = fresh_mock(provider)
        spec = served_spec(app, reference) if url is None else None
        self.profile = profile_for(reference, options.hints, spec=spec)
        if url is None:
            self.target = in_process(self.profile, app=app, tenant=tenant, tick=options.tick)
        else:
            self.target = live(
                self.profile,
                url,
                token=token,
                tenant=tenant,
                other_tenant=other_tenant,
                headers=headers,
                verify=options.verify,
                timeout=options.timeout,
                transport=transport,
            )
        if options.any_token:
            self.target = replace(self.target, any_token=True)
        self.gate = Gate(
            self.target.forward,
            profile=self.profile,
            safe=self.target.live,
            read_only=options.read_only,
            budget=options.max_requests,
            rate=RateLimit(options.rate_limit, sleep=sleep) if options.rate_limit else None,
            sleep=sleep,
        )
        self.gate.on_created = lambda label: self.say(f"  + created by {label}")
        self.run = RunContext(
            self.profile,
            self.gate,
            self.target,
            probes_per_operation=options.probes_per_operation,
            settling=_settling(self.target, options, sleep, clock),
        )
        self.app = GateApp(self.gate)
        self.report = ContractReport(self.profile.name, self.target.name, live=self.target.live)
        self.tally = _Tally(self.report, self.target.name.rstrip("/") if self.target.live else "")
        self.schema = build_schema(self.profile, self.app, self.target, options, self.run.pinned())
        self.checks = ContractChecks(self.run)
        self.checks.attach(self.schema)
        self.started = time.monotonic()
        self.closed = False

    def execute(self) -> ContractReport:
        """Run every phase and every check, then clean up."""
        report, target = self.report, self.target
        if target.live and target.tenant is None and self.profile.tenant:
            report.notes.append("no --tenant: the tenant parameters are generated like any other")
        if target.other_tenant is None:
            report.notes.append("no other tenant given: tenant_isolation not checked")
        settle, budget = self.profile.settle, self.run.settling.budget
        if self.run.settling.samples and budget is not None and budget < settle:
            report.notes.append(
                f"settle budget {budget:g} s is less than the settle time {settle:g} s: "
                "the run waits for no asynchronous update to end"
            )
        self.say(f"deploymock contract {self.profile.name} on {target.name}")
        try:
            _execute(self.schema, self.gate, self.tally, self.say)
            if "walk" in self.options.phases and not self.options.read_only:
                self.walk()
        except KeyboardInterrupt:
            report.interrupted = True
            self.say("interrupted: cleaning up")
        finally:
            self.close()
        return report

    def walk(self) -> None:
        """Our phase: every create with the spec's example bodies, then its links."""
        from mockserver.contract.walk import Walk

        walk = Walk(self.schema, self.run, self.run.pinned(), self.say)

        def after_validate(context: Any, case: Any, response: Any, results: list[Any]) -> None:
            walk.record(case, results)

        self.say("phase walk")
        started = time.monotonic()
        self.schema.hooks.register_hook_with_name(after_validate, "after_validate")
        try:
            walk()
        finally:
            self.schema.hooks.unregister(after_validate)
            self.report.phases["walk"] = time.monotonic() - started
        self.tally.walked(walk.results)
        self.report.notes.append(f"walk: {walk.steps} documented requests along the links")

    def close(self) -> ContractReport:
        """Delete what the run created (once) and fill in the report's counts."""
        if not self.closed:
            self.closed = True
            self.gate.closed = True
            try:
                _cleanup(self.gate, self.target, self.report, self.say, self.sleep)
            finally:
                self.checks.detach(self.schema)
                self.app.close()  # Schemathesis keeps a started ASGI app for the process
                self.target.close()
                _finish(self.report, self.run, self.checks, self.started)
        return self.report

    def __enter__(self) -> ContractSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _settling(
    target: Target,
    options: ContractOptions,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> Settling:
    if not target.live:
        return Settling(sleep=sleep, clock=clock)  # virtual time: no limits
    return Settling(
        samples=options.settle_samples, budget=options.settle_budget, sleep=sleep, clock=clock
    )


def run_contract(provider: str, **kwargs: Any) -> ContractReport:
    """Run the contract suite for `provider`: in process (default, or on `app=`), or on `url=`.

    Keyword arguments are `ContractSession`'s: app, url, token, tenant, other_tenant, headers,
    options (a `ContractOptions`), sleep and clock (what a live run waits with: the rate limit,
    429s, polls for an update to settle, the cleanup), transport (an httpx transport for `url`).
    """
    with ContractSession(provider, **kwargs) as session:
        return session.execute()


def _execute(schema: Any, gate: Gate, tally: _Tally, say: Callable[[str], None]) -> None:
    from schemathesis.engine import events, from_schema

    report = tally.report
    stream = from_schema(schema).execute()
    phase_started = time.monotonic()
    for event in stream:
        if isinstance(event, events.PhaseStarted):
            phase_started = time.monotonic()
            say(f"phase {event.phase.name.value}")
        elif isinstance(event, events.PhaseFinished):
            spent = time.monotonic() - phase_started
            report.phases[event.phase.name.value] = (
                report.phases.get(event.phase.name.value, 0) + spent
            )
        elif isinstance(event, events.ScenarioFinished):
            tally.scenario(event.recorder.label, event.recorder)
            if event.phase.value != "stateful":
                say(f"  {event.status.value:<8} {event.recorder.label}")
        elif isinstance(event, events.NonFatalError):
            report.errors.append(f"{event.label}: {event.info.message}")
        elif isinstance(event, events.FatalError):
            report.errors.append(f"fatal: {event.exception!r}")
        elif isinstance(event, events.Interrupted) and not gate.exhausted:
            report.interrupted = True  # Ctrl-C (stopping at the budget is not an interruption)
        elif isinstance(event, events.EngineFinished):
            report.stop_reason = event.stop_reason.value
            for failure in event.failures:
                report.findings.append(
                    Finding("after_run", failure.operation or "", failure.title, failure.message)
                )
        if gate.exhausted and not report.notes.count("request budget exhausted"):
            report.notes.append("request budget exhausted")
            stream.stop()


def _cleanup(
    gate: Gate,
    target: Target,
    report: ContractReport,
    say: Callable[[str], None],
    sleep: Callable[[float], None],
) -> None:
    pending = gate.ledger.open()
    if not pending:
        return
    say(f"cleanup: deleting {len(pending)} resource(s) this run created")
    wait = target.advance or sleep
    try:
        gate.ledger.cleanup(gate, headers=dict(target.credentials), wait=wait)
    except KeyboardInterrupt:
        report.interrupted = True
        say("cleanup interrupted")


def _finish(
    report: ContractReport, run: RunContext, checks: ContractChecks, started: float
) -> None:
    for check in checks.checks.values():
        if check.name in report.checks:
            report.checks[check.name].applied = check.applied
    gate = run.gate
    report.requests.update(gate.stats.sent)
    report.blocked.update(gate.stats.blocked)
    report.rate_limited = gate.stats.rate_limited
    report.waited = gate.stats.waited
    report.created = list(gate.ledger.entries)
    settling = run.settling
    report.settled.update(settling.followed)
    report.not_settled.update(settling.skipped)
    report.settle_polls, report.settle_seconds = settling.polls, settling.spent
    if run.target.mock_errors is not None:
        report.server_errors.extend(run.target.mock_errors())
    report.seconds = time.monotonic() - started
