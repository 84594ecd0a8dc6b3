"""What the `mockserver_contract` fixture hands a test: the contract suite, ready to run."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_plugin.handle import MockserverConfig

if TYPE_CHECKING:
    from mockserver.contract import ContractReport
    from mockserver.contract.runner import ContractSession


class ContractRunner:
    """What `mockserver_contract` hands a test: deploymock's contract suite, ready to run.

    `runner("sap_ai_core")` runs it in process against a fresh mock built from the session's
    `MockserverConfig` (delays, options, seed), or, with `--mockserver-target URL`, against that
    server (`{provider}` in the URL is replaced by the provider's name; `--mockserver-token` and
    `--mockserver-tenant` give the credentials and tenant). Keyword arguments are
    `mockserver.contract.ContractOptions` fields, e.g. `max_examples=50`, `hints={...}`.
    """

    def __init__(
        self,
        config: MockserverConfig,
        *,
        target: str | None = None,
        token: str | None = None,
        tenant: str | None = None,
    ) -> None:
        self.config = config
        self.target = target
        self.token = token
        self.tenant = tenant

    def session(self, provider: str, **options: Any) -> ContractSession:
        """The run, set up but not started: `.schema` for Schemathesis, `.close()` to clean up."""
        from mockserver.app import create_app
        from mockserver.clock import VirtualClock
        from mockserver.contract.runner import ContractOptions, ContractSession

        opts = ContractOptions(**options)
        if self.target:
            url = self.target.replace("{provider}", provider)
            return ContractSession(
                provider, url=url, token=self.token, tenant=self.tenant, options=opts
            )
        cfg = self.config
        app = create_app(
            providers=[provider],
            clock=VirtualClock.fake(),
            seed=cfg.seed,
            delays=cfg.delays,
            options=cfg.options,
        )
        return ContractSession(provider, app=app, tenant=self.tenant, options=opts)

    def __call__(self, provider: str, **options: Any) -> ContractReport:
        """Run the whole suite for `provider` and return its report (`.assert_ok()`)."""
        with self.session(provider, **options) as run:
            return run.execute()
