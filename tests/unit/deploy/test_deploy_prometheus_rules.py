"""The alert rules and the dashboard in deploy/: checked and unit-tested by promtool, and
every metric they name is one the services register (read from prometheus_client's
registry after importing every service, not from a list kept by hand)."""

from __future__ import annotations

import importlib
import json
import re

import pytest
import yaml
from prometheus_client import REGISTRY

from tests.unit.deploy.deploy_tools import DASHBOARD, RULES, run, tool

#: Every module that declares metrics: the runtime's and each service's composition root.
MODULES = (
    "servicekit.metrics",
    "ordering.app",
    "invoicing.app",
    "payments.app",
    "notifier.app",
    "timers.app",
)
_NAME = re.compile(r"\b((?:orderflow|timers)_[a-z0-9_]+)\b")
_QUOTED = re.compile(r'"[^"]*"')


@pytest.fixture(scope="module")
def promtool() -> str:
    return tool("promtool", "apt-get install prometheus (make deploy-tools does it as root)")


def exposed() -> set[str]:
    """The sample names the services' registries produce, e.g. orderflow_x_total."""
    for module in MODULES:
        importlib.import_module(module)
    names: set[str] = set()
    for family in REGISTRY.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",),
        }.get(family.type, ("",))
        names |= {family.name + s for s in suffixes}
    return names


def named_in(expressions: list[str]) -> set[str]:
    return {m for e in expressions for m in _NAME.findall(_QUOTED.sub("", e))}


def rule_expressions() -> list[str]:
    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p["targets"]]


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = run(promtool, "check", "rules", str(RULES / "alerts.yml"))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_unit_tests_every_alert(promtool: str) -> None:
    result = run(promtool, "test", "rules", str(RULES / "alerts_test.yml"))
    assert result.returncode == 0, result.stdout + result.stderr
    tested = set(re.findall(r"alertname: (\w+)", (RULES / "alerts_test.yml").read_text()))
    groups = yaml.safe_load((RULES / "alerts.yml").read_text())["groups"]
    assert tested == {r["alert"] for g in groups for r in g["rules"]}


def test_every_metric_the_alerts_name_is_one_the_services_expose() -> None:
    named = named_in(rule_expressions())
    assert named, "the rules name no metric"
    assert named <= exposed(), sorted(named - exposed())


def test_every_metric_the_dashboard_plots_is_one_the_services_expose() -> None:
    named = named_in(dashboard_expressions())
    assert named, "the dashboard names no metric"
    assert named <= exposed(), sorted(named - exposed())


def test_the_dashboard_shows_what_the_alerts_watch() -> None:
    assert named_in(rule_expressions()) <= named_in(dashboard_expressions())
