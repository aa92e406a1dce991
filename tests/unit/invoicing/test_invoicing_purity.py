"""The domain is pure: no broker, no database, no OS, no clock, no randomness."""

from __future__ import annotations

import ast
import pkgutil
from pathlib import Path

import pytest

import invoicing.domain

FORBIDDEN_MODULES = {
    "faststream",
    "aiokafka",
    "pymongo",
    "motor",
    "os",
    "sys",
    "time",
    "random",
    "secrets",
    "socket",
    "subprocess",
    "asyncio",
    "logging",
    "pathlib",
    "httpx",
    "requests",
    "servicekit",
}
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid1", "uuid4", "time_ns", "perf_counter"}
#: Writes the rendered docs: the one module that touches files, never used by `decide`.
ALLOWED = {"invoicing.domain.diagrams": {"sys", "pathlib"}}

DOMAIN = Path(invoicing.domain.__file__).parent
MODULES = sorted(f"invoicing.domain.{m.name}" for m in pkgutil.iter_modules([str(DOMAIN)]))


def _source(module: str) -> ast.Module:
    name = module.rsplit(".", 1)[-1]
    return ast.parse((DOMAIN / f"{name}.py").read_text(encoding="utf-8"))


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_every_domain_module_is_checked() -> None:
    assert {"invoicing.domain.decide", "invoicing.domain.evolve", "invoicing.domain.money"} <= set(
        MODULES
    )


@pytest.mark.parametrize("module", MODULES)
def test_domain_modules_import_no_io(module: str) -> None:
    imported = _imports(_source(module))
    assert imported & (FORBIDDEN_MODULES - ALLOWED.get(module, set())) == set()


@pytest.mark.parametrize("module", MODULES)
def test_domain_modules_never_read_the_clock_or_make_random_ids(module: str) -> None:
    calls = {
        node.func.attr
        for node in ast.walk(_source(module))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls & FORBIDDEN_CALLS == set()
