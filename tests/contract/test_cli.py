"""`deploymock contract` end to end: a real `deploymock serve` process, a real contract process.

What is checked is what a user of a live endpoint relies on: the exit status, the JUnit XML,
that everything the run created is gone afterwards (also after Ctrl-C), that nothing it did not
create was touched, that 429 + Retry-After is waited out, and `--read-only` / the budget.
The tests read the processes' output (blocking) and never sleep.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from mockserver.providers.ibm_wml import DEFAULT_USER, token_for
from tests.support import ADMIN, serving

pytestmark = pytest.mark.slow

WML_TOKEN = token_for(DEFAULT_USER)
WML = {"Authorization": f"Bearer {WML_TOKEN}"}
VERSION = {"version": "2026-10-14"}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    delays = ("schedule=0", "start=0", "stop=0", "initialize=0", "update=0")
    with serving(*(arg for d in delays for arg in ("--delay", d))) as (url, _proc, _lines):
        yield url


def sap_contract(server: str, tenant: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`deploymock contract sap_ai_core` against the module's server, as one tenant."""
    url = f"{server}/sap_ai_core"
    return contract(
        "sap_ai_core", "--url", url, "--token", "t", "--tenant", tenant, "--any-token", *args
    )


def contract(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mockserver", "contract", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=600)


def state(url: str, provider: str, tenant: str) -> dict:
    query = {"provider": provider, "tenant": tenant}
    found: dict = httpx.get(f"{url}/__admin/state", params=query, headers=ADMIN).json()
    return found.get(provider, {}).get(tenant, {})


def wml_run(url: str, space: str, *extra: str) -> list[str]:
    return [
        "ibm_wml",
        "--url",
        f"{url}/ibm_wml",
        "--token",
        WML_TOKEN,
        "--tenant",
        space,
        "--any-token",
        *extra,
    ]


def test_a_live_run_cleans_up_writes_junit_and_leaves_others_alone(server, tmp_path: Path):
    space = "space-e2e"
    models = f"{server}/ibm_wml/ml/v4/models"
    theirs = httpx.post(
        models,
        params=VERSION,
        headers=WML,
        json={
            "name": "theirs",
            "type": "scikit-learn_1.3",
            "software_spec": {"name": "rt-24.1"},
            "space_id": space,
        },
    ).json()["metadata"]["id"]
    before = httpx.get(f"{models}/{theirs}", params={**VERSION, "space_id": space}, headers=WML)
    junit = tmp_path / "contract.xml"

    out = contract(
        *wml_run(
            server,
            space,
            "--max-examples",
            "5",
            "--phases",
            "fuzzing,stateful",
            "--junit-xml",
            str(junit),
        )
    )

    assert out.returncode == 0, out.stdout + out.stderr
    assert "+ created by" in out.stdout  # progress, as it happens
    assert "OK" in out.stdout.splitlines()[-1]
    kinds = state(server, "ibm_wml", space)
    assert list(kinds.get("model", {})) == [theirs], "only the model the run did not create is left"
    assert not kinds.get("deployment")
    after = httpx.get(f"{models}/{theirs}", params={**VERSION, "space_id": space}, headers=WML)
    assert after.json() == before.json()
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert int(suite.get("tests", "0")) > 10
    assert suite.get("failures") == "0"
    assert suite.find("testcase[@name='cleanup']") is not None


@pytest.mark.parametrize("hints", ["", "cleanup: {}\n"], ids=["provider hints", "no cleanup hint"])
def test_the_providers_hints_let_the_cleanup_stop_a_deployment_first(tmp_path: Path, hints):
    # A stop takes 2 s here, so the walk's own DELETE (right after its stop) is refused with
    # 412 and the deployment is left to the cleanup. SAP's cleanup hint, which the CLI uses by
    # default, stops it and retries the delete every second; without it the delete is refused.
    # The stop outlasts the 1 s settle time on purpose, so its end is not waited for here
    # (--settle-samples 0; following updates live is tested in test_live_settle.py).
    hints_file = tmp_path / "sap.yaml"
    hints_file.write_text("settle: 1\n" + hints)
    group = "rg-e2e"
    with serving("--delay", "schedule=0", "--delay", "start=0", "--delay", "stop=2") as (
        url,
        _proc,
        _lines,
    ):
        out = contract(
            "sap_ai_core",
            *("--url", f"{url}/sap_ai_core", "--token", "t", "--tenant", group, "--any-token"),
            *("--phases", "walk", "--hints", str(hints_file), "--settle-samples", "0"),
        )
        left = state(url, "sap_ai_core", group).get("deployment")
    assert "cleanup: deleting 1 resource(s)" in out.stdout, out.stdout + out.stderr
    if hints:
        assert out.returncode == 1, out.stdout + out.stderr
        assert left, "without the hint the running deployment cannot be deleted"
        assert "1 left" in out.stdout
    else:
        assert out.returncode == 0, out.stdout + out.stderr
        assert not left
        assert "1 deleted, 1 kept (no delete operation), 0 left" in out.stdout


def test_failures_exit_1_and_land_in_the_junit_xml(server, tmp_path: Path):
    rule = {
        "kind": "error",
        "status": 500,
        "provider": "sap_ai_core",
        "operationId": "deployment.query",
        "allow_undocumented": True,
    }
    created = (
        httpx.post(f"{server}/__admin/faults", json=rule, headers=ADMIN).raise_for_status().json()
    )
    junit = tmp_path / "contract.xml"
    try:
        out = sap_contract(
            server,
            "rg-broken",
            "--max-examples",
            "3",
            "--phases",
            "fuzzing",
            "--operation",
            "deployment.query",
            "--junit-xml",
            str(junit),
        )
    finally:
        httpx.delete(f"{server}/__admin/faults", params={"id": created["id"]}, headers=ADMIN)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "[not_a_server_error] GET /v2/lm/deployments" in out.stdout
    failed = ET.parse(junit).getroot().findall(".//testcase[failure]")
    assert any(case.get("classname") == "sap_ai_core.not_a_server_error" for case in failed)


def test_429_is_waited_out_and_retried(server):
    rule = {
        "kind": "rate_limit",
        "provider": "sap_ai_core",
        "operationId": "deployment.query",
        "retry_after": 1,
        "times": 2,
        "allow_undocumented": True,
    }
    httpx.post(f"{server}/__admin/faults", json=rule, headers=ADMIN).raise_for_status()
    out = sap_contract(
        server,
        "rg-429",
        "--max-examples",
        "3",
        "--phases",
        "fuzzing",
        "--operation",
        "deployment.query",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "429 answers: 2, waited 2.0 s" in out.stdout


def test_read_only_and_the_budget_hold(server):
    group = "rg-readonly"
    out = contract(
        "sap_ai_core",
        "--url",
        f"{server}/sap_ai_core",
        "--token",
        "t",
        "--tenant",
        group,
        "--any-token",
        "--max-examples",
        "5",
        "--read-only",
        "--max-requests",
        "60",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    sent = httpx.get(
        f"{server}/__admin/requests",
        params={"provider": "sap_ai_core", "tenant": group},
        headers=ADMIN,
    ).json()["requests"]
    assert sent, "the run sent nothing at all"
    assert {r["method"] for r in sent} == {"GET"}
    assert len(sent) <= 60
    assert "request budget exhausted" in out.stdout


def test_ctrl_c_stops_the_run_and_still_cleans_up(server):
    space = "space-interrupted"
    command = [
        sys.executable,
        "-u",  # unbuffered: the line that says something was created comes as it happens,
        "-m",  # not when the run ends (which made the SIGINT arrive too late, now and then)
        "mockserver",
        "contract",
        *wml_run(server, space, "--max-examples", "1000", "--phases", "stateful"),
    ]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:  # blocks until the run has created something
            lines.append(line)
            if "+ created by" in line:
                break
        proc.send_signal(signal.SIGINT)
        lines.extend(proc.stdout)
        assert proc.wait(timeout=120) == 130, "".join(lines)
    assert any("cleanup: deleting" in line for line in lines), "".join(lines)
    kinds = state(server, "ibm_wml", space)
    assert not kinds.get("deployment") and not kinds.get("model"), kinds


def test_the_settle_options_reach_the_run(server, tmp_path: Path):
    # --settle overrides the hints file's 0.05 (the provider's own hints name the state and the
    # transitional states); with every delay 0 an accepted stop has ended by the next read, so
    # nothing is waited for and the budget is not needed.
    hints = tmp_path / "sap.yaml"
    hints.write_text("settle: 0.05\n")
    out = sap_contract(
        server,
        "rg-settle-options",
        "--max-examples",
        "5",
        "--phases",
        "stateful,walk",
        "--hints",
        str(hints),
        "--settle",  # small: the cleanup really sleeps this long before a delete it retries
        "0.04",
        "--settle-budget",
        "0.02",
        "--settle-samples",
        "2",
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "settle budget 0.02 s is less than the settle time 0.04 s" in out.stdout
    assert "followed to the end (deployment.modify" in out.stdout
    assert "; 0 polls in" in out.stdout


def test_bad_arguments_exit_2():
    out = contract("no_such_provider")
    assert out.returncode == 2
    assert "unknown provider" in out.stderr
    assert contract("sap_ai_core", "--phases", "warp").returncode == 2
    negative = contract("sap_ai_core", "--settle-samples", "-1")
    assert negative.returncode == 2
    assert "settle_samples cannot be negative" in negative.stderr
    assert contract("sap_ai_core", "--settle", "0").returncode == 2
