"""What a chaos run prints: one line per count, the faults with their recovery times,
every finding, and the machine and code it ran on."""

from __future__ import annotations

import os
import platform
import subprocess
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from devstack.services import ROOT
from tests.chaos.checks import Verdict
from tests.chaos.faults import Injected
from tests.chaos.scenarios import Expected


@dataclass
class Played:
    """One scenario as driven: its expectation, and where its driver got stuck if it did."""

    scenario: str
    expected: Expected | None = None
    seconds: float = 0.0
    stuck: str | None = None

    def expect(self, expected: Expected) -> None:
        self.expected = expected


@dataclass
class Report:
    profile: str
    run_id: str
    played: list[Played]
    injected: list[Injected]
    verdict: Verdict
    upstream_retries: int
    seconds: float
    kept: Path | None = None
    #: the commit the services ran from (`-dirty`: with uncommitted changes)
    code: str = "?"
    #: requests the gateway client sent again (same Idempotency-Key) after a cut
    gateway_retries: int = 0
    #: the processes the run started (a second replica is `<service>-2`)
    processes: list[str] = field(default_factory=list)
    #: processes that ended by themselves and were started again (harness: supervise)
    restarts: list[str] = field(default_factory=list)

    @property
    def orders(self) -> list[Expected]:
        return [p.expected for p in self.played if p.expected is not None]

    @property
    def stuck(self) -> list[Played]:
        return [p for p in self.played if p.stuck is not None or p.expected is None]

    @property
    def lost(self) -> set[str]:
        stuck = {p.expected.order_id for p in self.stuck if p.expected is not None}
        return self.verdict.lost_orders | stuck

    @property
    def ok(self) -> bool:
        return self.verdict.ok and not self.stuck

    def table(self) -> str:
        v = self.verdict
        mix = Counter(p.scenario for p in self.played)
        rows = [
            ("orders", f"{len(self.played)} ({', '.join(f'{k} {n}' for k, n in sorted(mix.items()))})"),
            ("faults injected", str(len(self.injected))),
            ("lost (orders)", str(len(self.lost))),
            ("duplicated (effects)", str(v.count("duplicate"))),
            ("wrong final status", str(v.count("status"))),
            ("unexpected events", str(v.count("unexpected"))),
            ("dead letters expected / found", f"{v.dead_letters_expected} / {v.dead_letters_found}"),
            ("dead-letter problems", str(v.count("dead letter"))),
            ("emails sent / failed (SMTP faults, X-06)", f"{v.emails_sent} / {v.emails_failed}"),
            ("emails caught / re-sent (same Message-ID)", f"{v.emails_caught} / {v.emails_resent}"),
            ("event copies (same message id)", str(v.republished)),
            ("upstream sends retried", str(self.upstream_retries)),
            ("gateway requests retried (same key)", str(self.gateway_retries)),
            ("drivers stuck", str(len(self.stuck))),
            ("services that exited by themselves", str(len(self.restarts))),
            ("wall time", f"{self.seconds:.0f} s"),
        ]  # fmt: skip
        width = max(len(k) for k, _ in rows)
        lines = [
            f"chaos run {self.run_id} ({self.profile}): {'PASSED' if self.ok else 'FAILED'}",
            f"machine: {machine()}",
            f"code: {self.code}",
            f"processes: {', '.join(self.processes)}",
            *(f"  {k:<{width}}  {val}" for k, val in rows),
            "faults (seconds into the stream):",
            *(
                f"  +{i.at:5.1f}s  {i.fault.label()}; all healthy after {i.recovered_after:.1f}s"
                + (f" ({i.note})" if i.note else "")
                for i in self.injected
            ),
        ]
        if self.restarts:
            lines.append("restarted by the supervisor (seconds into the services' run):")
            lines += [f"  {r}" for r in self.restarts]
        if self.stuck:
            lines.append("drivers stuck:")
            lines += [
                f"  {p.scenario} {p.expected.order_id if p.expected else '?'}: {p.stuck}"
                for p in self.stuck
            ]
        if v.findings:
            lines.append("findings:")
            lines += [f"  {f.line()}" for f in v.findings]
        if self.kept is not None:
            lines.append(f"stack folder kept (service and server logs): {self.kept}")
        return "\n".join(lines)


def machine() -> str:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores, {memory} memory, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def code_version() -> str:
    """The commit the services ran from, and whether the tree had changes besides it."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "?"
    return out.stdout.strip() or "?"
