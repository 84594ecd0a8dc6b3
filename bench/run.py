"""Every figure the project holds itself to, in one run (about three minutes):

1. validated, stateful PATCH+GET throughput against a bare Starlette app, no access log (>= 0.9x)
2. the same with `deploymock serve`'s default access log (>= 0.8x)
3. startup to the first answer with all five providers (< 250 ms)
4. the `mockserver` fixture's cost per test: setup, one request, teardown (< 1 ms)

    python bench/run.py

Exit status 0 when all four meet their targets. Each script runs alone too (see its docstring).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("throughput.py", "startup.py", "fixture.py")


def main() -> int:
    failed = 0
    for script in SCRIPTS:
        done = subprocess.run([sys.executable, str(HERE / script)], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
