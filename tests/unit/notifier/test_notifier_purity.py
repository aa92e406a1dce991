"""The notifier's domain is pure: no broker, no database, no SMTP, no clock, no randomness."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import notifier.domain

FORBIDDEN_MODULES = {
    "faststream", "aiokafka", "pymongo", "aiosmtplib", "smtplib", "jinja2", "os", "sys",
    "time", "random", "secrets", "socket", "asyncio", "logging", "pathlib", "servicekit",
}  # fmt: skip
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid1", "uuid4", "time_ns", "perf_counter", "random"}

DOMAIN = Path(notifier.domain.__file__).parent
MODULES = sorted(f"notifier.domain.{m.name}" for m in pkgutil.iter_modules([str(DOMAIN)]))


def _source(module: str) -> ast.Module:
    return ast.parse((DOMAIN / f"{module.rsplit('.', 1)[-1]}.py").read_text(encoding="utf-8"))


def test_X06_every_domain_module_is_checked() -> None:
    assert {"notifier.domain.catalogue", "notifier.domain.delivery"} <= set(MODULES)


@pytest.mark.parametrize("module", MODULES)
def test_X06_domain_modules_import_no_io(module: str) -> None:
    found: set[str] = set()
    for node in ast.walk(_source(module)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    assert found & FORBIDDEN_MODULES == set()


@pytest.mark.parametrize("module", MODULES)
def test_X06_domain_modules_never_read_the_clock_or_draw_random_numbers(module: str) -> None:
    calls = {
        node.func.attr
        for node in ast.walk(_source(module))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls & FORBIDDEN_CALLS == set()
