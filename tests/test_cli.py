"""`deploymock` as a user runs it: real processes on real ports."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import httpx
import pytest

from mockserver.app import discover
from mockserver.cli import READY, _delay, build_parser, main
from tests.support import serve_ready as serving

ROOT = Path(__file__).parents[1]
SAP = {"Authorization": "Bearer t", "AI-Resource-Group": "rg-a"}
DEPLOYMOCK = (sys.executable, "-m", "mockserver")


def deploymock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*DEPLOYMOCK, *args], capture_output=True, text=True, timeout=60)


def test_delay_argument_parsing() -> None:
    assert _delay("start=0") == ("*", "start", 0.0)
    assert _delay("sap_ai_core.stop=2.5") == ("sap_ai_core", "stop", 2.5)
    for bad in ("start", "start=soon", "start=-1"):
        with pytest.raises(Exception, match=r"expected|seconds|negative"):
            _delay(bad)
    args = build_parser().parse_args(["serve", "--provider", "sap_ai_core", "--delay", "start=1"])
    assert args.provider == ["sap_ai_core"] and args.port == 8080 and args.host == "127.0.0.1"


def test_serve_all_providers_and_stop_cleanly_on_sigterm() -> None:
    with serving("--delay", "schedule=0", "--delay", "sap_ai_core.start=0") as (
        url,
        proc,
        lines,
        _,
    ):
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
    with serving("--provider", "sap_ai_core", "--validate-responses") as (url, _, _lines, ready):
        assert httpx.get(f"{url}/v2/lm/deployments", headers=SAP).json() == {
            "count": 0,
            "resources": [],
        }
        admin = {"Authorization": f"Bearer {ready['admin_token']}"}
        assert httpx.get(f"{url}/__admin/", headers=admin).json()["validate_responses"] is True


@pytest.mark.parametrize("quiet", [False, True], ids=["access log", "--no-access-log"])
def test_serve_logs_each_request_unless_told_not_to(tmp_path: Path, quiet: bool) -> None:
    log = tmp_path / "stdout.txt"
    with (
        log.open("w") as out,
        serving(*(["--no-access-log"] if quiet else []), stdout=out) as (url, proc, _, _ready),
    ):
        assert httpx.get(f"{url}/sap_ai_core/v2/lm/deployments", headers=SAP).status_code == 200
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)
    logged = '"GET /sap_ai_core/v2/lm/deployments HTTP/1.1" 200 OK' in log.read_text()
    assert logged is not quiet


def test_serve_https_with_a_self_signed_certificate() -> None:
    with serving("--self-signed") as (url, _, _lines, _ready):
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


def test_port_0_serves_on_a_bound_port_the_ready_line_names() -> None:
    with serving("--provider", "sap_ai_core", admin_token=None) as (url, _, lines, ready):
        port = int(url.rpartition(":")[2])
        assert port != 0 and url == f"http://127.0.0.1:{port}"
        assert ready == {
            "url": url,
            "providers": {"sap_ai_core": f"{url}/sap_ai_core"},
            "root": "sap_ai_core",
            "admin": f"{url}/__admin",
            "admin_token": ready["admin_token"],
        }
        token = ready["admin_token"]
        assert isinstance(token, str) and len(token) >= 32  # made at start-up
        assert httpx.get(f"{ready['admin']}/").status_code == 401
        admin = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{ready['admin']}/", headers=admin).json()["providers"] == ["sap_ai_core"]
        r = httpx.get(f"{ready['providers']['sap_ai_core']}/v2/lm/deployments", headers=SAP)
        assert r.status_code == 200
        # The banner for people comes first, with the same port, and only once it listens.
        banner = "".join(lines[: next(i for i, x in enumerate(lines) if x.startswith(READY))])
        assert f"{url}/sap_ai_core" in banner and f"{url}/__admin" in banner
        assert banner.index(f"Uvicorn running on {url}") < banner.index("deploymock: sap_ai_core")


def test_every_served_provider_is_in_the_ready_line() -> None:
    with serving() as (url, _, _lines, ready):
        assert ready["providers"] == {n: f"{url}/{n}" for n in discover()}
        assert ready["root"] is None
        assert httpx.get(f"{url}/").json()["providers"] == ready["providers"]


def test_a_port_in_use_exits_2_without_a_banner() -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        out = deploymock("serve", "--port", str(port))
    assert out.returncode == 2
    assert out.stderr == f"deploymock: cannot listen on 127.0.0.1:{port}: Address already in use\n"


def test_a_certificate_without_its_key_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--port", "0", "--certfile", "cert.pem"]) == 2
    assert capsys.readouterr().err == "deploymock: --certfile and --keyfile go together\n"


@pytest.mark.parametrize(
    ("delay", "message"),
    [
        ("strat=0", 'unknown delay(s) strat for any served provider ("*"); known: '),
        ("sap_ai_core.strat=0", "unknown delay(s) strat for sap_ai_core; known: "),
        ("sap_ai_cor.start=0", "delays for unknown provider(s) sap_ai_cor; known: "),
    ],
)
def test_a_wrong_delay_exits_2_naming_the_known_ones(delay: str, message: str) -> None:
    out = deploymock("serve", "--port", "0", "--delay", delay)
    assert out.returncode == 2 and out.stderr.startswith(f"deploymock: {message}")
    known = out.stderr.rstrip("\n").rpartition("known: ")[2].split(", ")
    if "delays for" in message:
        assert known == list(discover())
    elif "sap_ai_core;" in message:
        assert known == sorted(discover()["sap_ai_core"].delays)
    else:
        assert set(known) == {d for p in discover().values() for d in p.delays}
    assert READY not in out.stderr


def test_help_describes_serve_and_shows_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps to the terminal width
    assert done.value.code == 0
    assert "admin API under /__admin" in text and "deploymock: ready" in text
    for default in ("127.0.0.1", "8080", "info", "10000"):
        assert f"(default: {default})" in text
    assert "(default: None)" not in text and "(default: False)" not in text
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "serve" in text and "describe" in text and "deploymock describe sap_ai_core" in text


@pytest.mark.parametrize("command", ["serve", "describe"])
def test_an_unknown_argument_shows_the_subcommand_usage(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([command, "--bogus"])
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert err.startswith(f"usage: deploymock {command} ")
    assert err.endswith(f"deploymock {command}: error: unrecognized arguments: --bogus\n")


def test_describe_runs_as_a_command() -> None:
    out = deploymock("describe", "sap_ai_core", "--json")
    info = json.loads(out.stdout)
    assert out.returncode == 0 and info["name"] == "sap_ai_core"
    assert {"deployment.modify", "deployment.get"} <= {o["operationId"] for o in info["operations"]}
    out = deploymock("describe", "nope")
    assert out.returncode == 2 and "known: huawei_rts, ibm_wml" in out.stderr


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
    with serving(command=(str(bindir / "deploymock"),), env=env) as (url, _, _lines, _ready):
        r = httpx.get(f"{url}/sap_ai_core/v2/lm/deployments", headers=SAP)
        assert r.status_code == 200


def test_the_admin_token_comes_from_the_environment_or_is_none_on_request() -> None:
    env = {**os.environ, "DEPLOYMOCK_ADMIN_TOKEN": "from-the-env"}
    with serving(env=env) as (url, _, _lines, ready):
        assert ready["admin_token"] == "from-the-env"
        admin = {"Authorization": "Bearer from-the-env"}
        assert httpx.get(f"{url}/__admin/state", headers=admin).status_code == 200
    with serving("--admin-token", "none") as (url, _, lines, ready):
        assert ready["admin_token"] is None
        assert httpx.get(f"{url}/__admin/state").status_code == 200
        assert any("takes no token" in line for line in lines)


def test_serving_other_machines_needs_an_admin_token() -> None:
    out = deploymock("serve", "--host", "0.0.0.0", "--port", "0", "--admin-token", "none")
    assert out.returncode == 2 and "needs a token" in out.stderr
