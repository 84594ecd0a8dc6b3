"""Fuzz every operation of every provider: generated cases, positive and negative, no 5xx.

Runs deploymock's contract suite in process for each provider with `--examples` cases per
operation (default 500; CI runs the same suite at 200) and counts what matters here: answers
with a 5xx status and errors inside the mock. Prints a line per provider and exits non-zero
if any provider produced either.

    python bench/fuzz.py [--examples 500] [--provider NAME ...]
"""

from __future__ import annotations

import argparse
import sys
import time

from mockserver.app import discover
from mockserver.contract import ContractOptions, run_contract


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--examples", type=int, default=500, help="cases per operation")
    parser.add_argument("--provider", action="append", default=None)
    args = parser.parse_args()
    bad = 0
    for name in args.provider or list(discover()):
        started = time.perf_counter()
        report = run_contract(name, options=ContractOptions(max_examples=args.examples, mode="all"))
        server_side = len(report.failures("not_a_server_error")) + len(report.server_errors)
        bad += server_side
        requests = sum(report.requests.values())
        print(
            f"{name:<15} {requests:>7} requests in {time.perf_counter() - started:6.1f} s: "
            f"{server_side} 5xx or mock errors; other findings: {len(report.findings)}",
            flush=True,
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
