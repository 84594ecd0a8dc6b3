"""The `mockserver` fixture's cost per test: setup, one request, teardown, as pytest runs it.

Generates a test module and runs pytest on it twice, with a few and with many tests, so that
pytest's start and the session's app drop out of the difference: (T(many) - T(few)) / (many -
few) is what one more test costs. The same for tests that use no fixture at all is the
baseline: what pytest itself costs per test. Prints the fixture's cost over the baseline
(target: < 1 ms) and both figures; the median of `--rounds` rounds.

    python bench/fixture.py [--few 100] [--many 1100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WITH_FIXTURE = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_one_request(mockserver, i):
    api = mockserver.client("sap_ai_core")
    assert api.get("/v2/lm/deployments").status_code == 200
"""
BASELINE = """
import pytest

@pytest.mark.parametrize("i", range({n}))
def test_nothing(i):
    assert i >= 0
"""
TARGET_MS = 1.0


def run(source: str, n: int, where: Path) -> float:
    """Seconds pytest takes to run `n` tests of `source`."""
    test = where / "test_bench_fixture.py"
    test.write_text(source.format(n=n))
    started = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:randomly",
            str(test),
        ],
        cwd=where,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def per_test(source: str, few: int, many: int, where: Path) -> float:
    """Milliseconds one more test costs."""
    return (run(source, many, where) - run(source, few, where)) / (many - few) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--few", type=int, default=100)
    parser.add_argument("--many", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    fixture, baseline = [], []
    with tempfile.TemporaryDirectory() as tmp:
        where = Path(tmp)
        (where / "conftest.py").write_text("")
        for _ in range(args.rounds):
            baseline.append(per_test(BASELINE, args.few, args.many, where))
            fixture.append(per_test(WITH_FIXTURE, args.few, args.many, where))
    base, with_fixture = statistics.median(baseline), statistics.median(fixture)
    cost = with_fixture - base
    print(
        f"fixture cost per test (setup, one request, teardown): {cost:.2f} ms "
        f"(target < {TARGET_MS:.0f}); a test with it {with_fixture:.2f} ms, "
        f"an empty test {base:.2f} ms"
    )
    return 0 if cost < TARGET_MS else 1


if __name__ == "__main__":
    sys.exit(main())
