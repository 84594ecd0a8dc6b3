"""The outcome of a contract run: per-check counts, findings, requests, cleanup; text and JUnit."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from mockserver.contract.cleanup import Created


@dataclass
class CheckStat:
    name: str
    passed: int = 0
    failed: int = 0
    applied: int | None = None  # our own checks: how often they had something to assert
    operations: Counter[str] = field(default_factory=Counter)  # operation -> runs


@dataclass(frozen=True)
class Finding:
    """One distinct failure of one check."""

    check: str
    operation: str
    title: str
    message: str
    reproduce: str = ""

    def render(self) -> str:
        text = f"[{self.check}] {self.operation}: {self.title}\n    " + self.message.replace(
            "\n", "\n    "
        )
        return text + (f"\n    reproduce: {self.reproduce}" if self.reproduce else "")


@dataclass
class ContractReport:
    provider: str
    target: str
    checks: dict[str, CheckStat] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)  # engine, probe, cleanup
    blocked: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0
    waited: float = 0.0
    created: list[Created] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)  # errors inside the mock
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    stop_reason: str = ""
    interrupted: bool = False
    live: bool = False  # what a run leaves behind counts only on a live server
    phases: dict[str, float] = field(default_factory=dict)  # seconds per Schemathesis phase
    # accepted asynchronous updates: followed to their end (by operation), or not (by reason)
    settled: Counter[str] = field(default_factory=Counter)
    not_settled: Counter[str] = field(default_factory=Counter)
    settle_polls: int = 0  # live: reads while waiting for an update to settle
    settle_seconds: float = 0.0  # live: time spent on them, waiting included

    @property
    def left(self) -> list[Created]:
        """What the run created and could not delete although the API can delete it."""
        return [c for c in self.created if c.state in ("left", "open")]

    @property
    def ok(self) -> bool:
        left = self.left if self.live else []
        return not (self.findings or self.errors or left or self.server_errors or self.interrupted)

    def failures(self, check: str) -> list[Finding]:
        return [f for f in self.findings if f.check == check]

    @property
    def failed_checks(self) -> set[str]:
        return {f.check for f in self.findings}

    def summary(self) -> str:
        total = sum(self.requests.values())
        kinds = ", ".join(f"{k} {v}" for k, v in sorted(self.requests.items()))
        lines = [
            f"deploymock contract {self.provider} ({self.target}): {total} requests ({kinds}) "
            f"in {self.seconds:.1f} s ("
            + ", ".join(f"{k} {v:.1f} s" for k, v in self.phases.items() if v >= 0.05)
            + ")",
            f"{'check':<30} {'passed':>8} {'failed':>7} {'asserted':>9}",
        ]
        for stat in sorted(self.checks.values(), key=lambda s: s.name):
            applied = "" if stat.applied is None else str(stat.applied)
            lines.append(f"{stat.name:<30} {stat.passed:>8} {stat.failed:>7} {applied:>9}")
        states = Counter(c.state for c in self.created)
        lines.append(
            f"created {len(self.created)}: {states['deleted']} deleted, "
            f"{states['kept']} kept (no delete operation), {len(self.left)} left"
        )
        lines += [f"  left: {c.where} ({c.note})" for c in self.left[:10]]
        if len(self.left) > 10:
            lines.append(f"  ... and {len(self.left) - 10} more")
        if self.blocked:
            lines.append(f"not sent: {dict(self.blocked)}")
        if self.rate_limited:
            lines.append(f"429 answers: {self.rate_limited}, waited {self.waited:.1f} s")
        if self.settled or self.not_settled:
            lines.append(self._settle_line())
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"error: {e}" for e in self.errors]
        lines += [f"mock error: {e}" for e in self.server_errors]
        if self.findings:
            lines.append(f"{len(self.findings)} finding(s):")
            lines += [f.render() for f in self.findings]
        lines.append("OK" if self.ok else "FAILED")
        return "\n".join(lines)

    def _settle_line(self) -> str:
        def counts(counter: Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items()))

        line = f"async updates: {sum(self.settled.values())} followed to the end"
        if self.settled:
            line += f" ({counts(self.settled)})"
        line += f", {sum(self.not_settled.values())} not"
        if self.not_settled:
            line += f" ({counts(self.not_settled)})"
        if self.live:
            line += f"; {self.settle_polls} polls in {self.settle_seconds:.1f} s"
        return line

    def assert_ok(self) -> None:
        """Raise AssertionError with the summary unless the run passed."""
        if not self.ok:
            raise AssertionError(self.summary())

    def write_junit(self, path: str | Path) -> None:
        suite = ET.Element("testsuite", name=f"deploymock contract {self.provider}")
        cases = 0
        for stat in sorted(self.checks.values(), key=lambda s: s.name):
            for operation in sorted(stat.operations):
                cases += 1
                case = ET.SubElement(
                    suite, "testcase", classname=f"{self.provider}.{stat.name}", name=operation
                )
                for finding in self.findings:
                    if finding.check == stat.name and finding.operation == operation:
                        failure = ET.SubElement(case, "failure", message=finding.title)
                        failure.text = finding.render()
        cleanup = ET.SubElement(
            suite, "testcase", classname=f"{self.provider}.cleanup", name="cleanup"
        )
        cases += 1
        if self.left:
            failure = ET.SubElement(cleanup, "failure", message=f"{len(self.left)} left behind")
            failure.text = "\n".join(f"{c.where}: {c.note}" for c in self.left)
        for error in self.errors + self.server_errors:
            cases += 1
            case = ET.SubElement(suite, "testcase", classname=f"{self.provider}.run", name="error")
            ET.SubElement(case, "error", message=error[:200]).text = error
        failures = sum(1 for c in suite.iter("testcase") if c.find("failure") is not None)
        errors = sum(1 for c in suite.iter("testcase") if c.find("error") is not None)
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("time", f"{self.seconds:.3f}")
        root = ET.Element("testsuites")
        root.append(suite)
        ET.indent(root)
        ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
