"""Every service's domain is pure: no broker, no database, no SMTP, no OS, no clock, no
randomness (STYLE: domain code imports no I/O; `now` and new ids come in as arguments)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest

FORBIDDEN_MODULES = {
    "faststream", "aiokafka", "pymongo", "motor", "aiosmtplib", "smtplib", "jinja2", "os",
    "sys", "time", "random", "secrets", "socket", "subprocess", "asyncio", "logging",
    "pathlib", "httpx", "requests", "servicekit",
}  # fmt: skip
FORBIDDEN_CALLS = {"now", "utcnow", "today", "uuid1", "uuid4", "time_ns", "perf_counter", "random"}
#: Modules that write the generated docs: they touch files, and `decide` never uses them.
WRITES_DOCS = {"sys", "pathlib"}
#: The pure part of servicekit the domains may use.
SHARED_PURE = {
    "servicekit.businessdays",
    "servicekit.deadlines",
    "servicekit.currencies",
    "servicekit.diagrams",
    "servicekit.decisions",
    "servicekit.links",
    "servicekit.tables",
}

#: Each service's domain, and modules it must have (so a renamed package is noticed).
DOMAINS = {
    "ordering.domain": {"decide", "evolve", "tokens"},
    "invoicing.domain": {"decide", "evolve"},
    "payments.domain": {"decide", "evolve", "fees"},
    "notifier.domain": {"catalogue", "delivery"},
    "timers.domain": set(),
    "gateway.domain": {"view", "rules", "access", "answers", "queues"},
}


def modules() -> list[tuple[str, Path]]:
    found = []
    for package, required in DOMAINS.items():
        module = importlib.import_module(package)
        path = Path(str(module.__file__))
        if path.name != "__init__.py":  # a single-module domain
            found.append((package, path))
            continue
        names = {m.name for m in pkgutil.iter_modules([str(path.parent)])}
        assert required <= names, f"{package} lacks {required - names}"
        found += [(f"{package}.{n}", path.parent / f"{n}.py") for n in sorted(names)]
        found.append((package, path))
    return found


MODULES = modules()


def _imports(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_domain_modules_import_no_io(module: str, path: Path) -> None:
    imported = _imports(ast.parse(path.read_text(encoding="utf-8")))
    allowed = WRITES_DOCS if module.endswith((".diagrams", ".docs")) else set()
    bad = {m for m in imported if m.split(".")[0] in FORBIDDEN_MODULES - allowed}
    assert bad - SHARED_PURE == set()


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[m for m, _ in MODULES])
def test_domain_modules_never_read_the_clock_or_make_random_ids(module: str, path: Path) -> None:
    calls = {
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    }
    assert calls & FORBIDDEN_CALLS == set()
