"""Figures as rows of tables: printed as each section ends, then written as markdown."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class Row:
    """One figure; `met` is None where the issue sets no goal."""

    figure: str
    value: str
    goal: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.met is None else ("yes" if self.met else "**no**")


@dataclass
class Section:
    name: str
    how: str
    rows: list[Row] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, figure: str, value: str, goal: str = "", met: bool | None = None) -> None:
        self.rows.append(Row(figure, value, goal, met))

    def console(self) -> str:
        width = max((len(r.figure) for r in self.rows), default=0)
        lines = [f"[{self.name}: {self.seconds:.0f} s]"]
        for r in self.rows:
            goal = f"   (goal {r.goal}: {'met' if r.met else 'NOT met'})" if r.goal else ""
            lines.append(f"  {r.figure:<{width}}  {r.value}{goal}")
        return "\n".join(lines)

    def markdown(self) -> str:
        lines = [
            f"## {self.name}",
            "",
            self.how,
            "",
            "| figure | value | goal | met? |",
            "|---|---|---|---|",
        ]
        lines += [f"| {r.figure} | {r.value} | {r.goal} | {r.verdict} |" for r in self.rows]
        lines += ["", f"({self.seconds:.0f} s)", ""]
        return "\n".join(lines)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except OSError:
        pass
    return float("nan")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def machine() -> list[tuple[str, str]]:
    """What the figures were measured on."""
    return [
        ("cores", str(os.cpu_count())),
        ("CPU", _cpu_model()),
        ("memory", f"{_memory_gib():.1f} GiB"),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", sys.version.split()[0]),
    ]


def document(
    sections: list[Section],
    started: datetime,
    command: str,
    stack: list[tuple[str, str]],
    loads: tuple[str, str],
) -> str:
    head = [
        "# Benchmarks",
        "",
        "Figures of the last full benchmark run, written by `bench/run.py` (do not edit by",
        "hand; run it again). Each section measures beside a baseline taken in the same run.",
        "",
        f"- date: {started:%Y-%m-%d %H:%M %Z}",
        f"- command: `{command}`",
        *(f"- {k}: {v}" for k, v in machine()),
        *(f"- {k}: {v}" for k, v in stack),
        f"- load average (1/5/15 min) at start: {loads[0]}; at the end: {loads[1]}",
        "",
    ]
    return "\n".join(head + [s.markdown() for s in sections])
