"""`deploymock` as a user runs it: real processes on real ports."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import httpx
import pytest

from mockserver.cli import _delay, build_parser
from tests.support import serving

ROOT = Path(__file__).parents[1]
SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}


def test_delay_argument_parsing() -> None:
    assert _delay("start=0") == ("*", "start", 0.0)
    assert _delay("sap_ai_core.stop=2.5") == ("sap_ai_core", "stop", 2.5)
    for bad in ("start", "start=soon", "start=-1"):
        with pytest.raises(Exception, match=r"expected|seconds|negative"):
            _delay(bad)
    args = build_parser().parse_args(["serve", "--provider", "sap_ai_core", "--delay", "start=1"])
    assert args.provider == ["sap_ai_core"] and args.port == 8080 and args.host == "127.0.0.1"


def test_serve_all_providers_and_stop_cleanly_on_sigterm() -> None:
    with serving("--delay", "schedule=0", "--delay", "sap_ai_core.start=0") as (url, proc, lines):
        assert httpx.get(f"{url}/").json()["providers"]["sap_ai_core"] == f"{url}/sap_ai_core"
        base = f"{url}/sap_ai_core/v2/lm"
        body = {"name": "serving", "scenarioId": "scenario-a", "executableId": "executable-a"}
        cid = httpx.post(f"{base}/configurations", json=body, headers=SAP).json()["id"]
        did = httpx.post(f"{base}/deployments", json={"configurationId": cid}, headers=SAP).json()[
            "id"
        ]
        assert httpx.get(f"{base}/deployments/{did}", headers=SAP).json()["status"] == "RUNNING"
        proc.send_signal(signal.SIGTERM)
        # uvicorn finishes in-flight work, then re-raises the signal (the conventional exit).
        assert proc.wait(timeout=10) in (0, -signal.SIGTERM)
    assert any("Finished server process" in line for line in lines)


def test_serve_one_provider_at_the_root_with_response_validation() -> None:
    with serving("--provider", "sap_ai_core", "--validate-responses") as (url, _, _lines):
        assert httpx.get(f"{url}/v2/lm/deployments", headers=SAP).json() == {
            "count": 0,
            "resources": [],
        }
        assert httpx.get(f"{url}/__admin/").json()["validate_responses"] is True


@pytest.mark.parametrize("quiet", [False, True], ids=["access log", "--no-access-log"])
def test_serve_logs_each_request_unless_told_not_to(tmp_path: Path, quiet: bool) -> None:
    log = tmp_path / "stdout.txt"
    with (
        log.open("w") as out,
        serving(*(["--no-access-log"] if quiet else []), stdout=out) as (
            url,
            proc,
            _lines,
        ),
    ):
        assert httpx.get(f"{url}/sap_ai_core/v2/lm/deployments", headers=SAP).status_code == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    logged = '"GET /sap_ai_core/v2/lm/deployments HTTP/1.1" 200 OK' in log.read_text()
    assert logged is not quiet


def test_serve_https_with_a_self_signed_certificate() -> None:
    with serving("--self-signed") as (url, _, _lines):
        r = httpx.get(f"{url}/sap_ai_core/v2/lm/deployments", headers=SAP, verify=False)
        assert r.status_code == 200


def test_unknown_provider_exits_2_with_a_message() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--provider", "nope"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "unknown provider" in out.stderr


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_finds_its_specs(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(ROOT)],
        check=True,
        timeout=300,
    )
    wheel = next(dist.glob("deploymock-*.whl"))
    env_dir = tmp_path / "venv"
    # Dependencies come from this interpreter's site-packages (a path, so its .pth files, the
    # editable install of this checkout among them, are not read); deploymock from the wheel.
    venv.create(env_dir, with_pip=True)
    bindir = env_dir / "bin"
    site = subprocess.run(
        [str(bindir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "deploymock-test-deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    subprocess.run(
        [str(bindir / "python"), "-m", "pip", "install", "-q", "--no-deps", str(wheel)],
        check=True,
        timeout=300,
    )
    where = subprocess.run(
        [str(bindir / "python"), "-c", "import mockserver.spec as s; print(s.spec_dir())"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    ).stdout.strip()
    assert where.startswith(str(env_dir)) and Path(where, "sap_ai_core.yaml").is_file()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with serving(command=(str(bindir / "deploymock"),), env=env) as (url, _, _lines):
        r = httpx.get(f"{url}/sap_ai_core/v2/lm/deployments", headers=SAP)
        assert r.status_code == 200
