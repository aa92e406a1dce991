"""Where the real tools that check deploy/ are: helm (built by `make deploy-tools` into
.cache/tools/bin) and promtool (Debian's `prometheus` package).

`make test` builds or installs both before pytest runs. Run alone (a unit test run in a
fresh worktree), a missing tool skips its tests with the command that provides it; in CI
(`CI` set) a missing tool fails them instead, so the checks can never silently vanish.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CHART = ROOT / "deploy" / "helm" / "orderflow"
RULES = ROOT / "deploy" / "prometheus"
DASHBOARD = ROOT / "deploy" / "grafana" / "orderflow.json"


def tool(name: str, provided_by: str) -> str:
    """The path of `name`, or skip (fail in CI) naming how to get it."""
    found = shutil.which(name) or shutil.which(name, path=str(ROOT / ".cache" / "tools" / "bin"))
    if found:
        return found
    message = f"{name} not found: {provided_by}"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
