"""Every figure the project holds itself to, in one run (about three minutes):

1. validated, stateful PATCH+GET throughput against a bare Starlette app, no access log (>= 0.9x)
2. the same with `deploymock serve`'s default access log (>= 0.8x)
3. startup to the first answer with all five providers (< 250 ms)
4. the `mockserver` fixture's cost per test: setup, one request, teardown (< 1 ms)

    python bench/run.py              # the four
    python bench/run.py --hardening  # and the state file's and the journal's figures

Exit status 0 when all meet their targets. Each script runs alone too (see its docstring).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("throughput.py", "startup.py", "fixture.py")
HARDENING = ("state.py", "memory.py")  # --state PUT latency by size; RSS with large bodies


def main() -> int:
    scripts = SCRIPTS + (HARDENING if "--hardening" in sys.argv[1:] else ())
    failed = 0
    for script in scripts:
        done = subprocess.run([sys.executable, str(HERE / script)], check=False)
        failed += done.returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
