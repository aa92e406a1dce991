"""The chaos run's own stack: Kafka, FerretDB and the SMTP catcher in a folder of its own.

The run stops and kills these servers, so it never touches the shared default stack: it
gets a fresh folder under `.cache/chaos/<run id>` and free ports. A fresh folder would
fetch the Kafka jars (mvn) and build FerretDB (go build) again; instead the builds of the
default stack are hard-linked in when their stamps are there (devstack's `prepare` checks
the stamps and rebuilds only if they no longer match the committed build inputs).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import devstack
from devstack.config import StackConfig
from devstack.services import ROOT, free_port

CHAOS_DIR = ROOT / ".cache" / "chaos"

#: What a stack folder needs to skip the Kafka download and the FerretDB build.
BUILDS = ("kafka/libs", "kafka/libs.sha256", "ferretdb/ferretdb", "ferretdb/ferretdb.sha256")


def _distinct_free_ports(n: int) -> list[int]:
    ports: list[int] = []
    while len(ports) < n:
        port = free_port()
        if port not in ports:
            ports.append(port)
    return ports


def private_config(run_id: str) -> StackConfig:
    """A stack folder and four free ports for this run alone."""
    kafka, controller, ferretdb, smtp = _distinct_free_ports(4)
    return StackConfig(
        root=CHAOS_DIR / run_id,
        kafka_port=kafka,
        kafka_controller_port=controller,
        ferretdb_port=ferretdb,
        smtp_port=smtp,
    )


def _link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def reuse_builds(source: StackConfig, target: StackConfig) -> list[str]:
    """Hard-link the default stack's builds into `target`; return what was linked."""
    linked = []
    for relative in BUILDS:
        origin, copy = source.root / relative, target.root / relative
        if not origin.exists() or copy.exists():
            continue
        if origin.is_dir():
            for path in origin.rglob("*"):
                if path.is_file():
                    _link_or_copy(path, copy / path.relative_to(origin))
        else:
            _link_or_copy(origin, copy)
        linked.append(relative)
    return linked


@dataclass
class PrivateStack:
    """The servers of one chaos run; `stop`/`start` fault them, `close` removes them."""

    config: StackConfig
    endpoints: devstack.StackEndpoints

    @classmethod
    async def up(cls, run_id: str) -> PrivateStack:
        config = private_config(run_id)
        config.root.mkdir(parents=True, exist_ok=True)
        reuse_builds(StackConfig.from_env(), config)
        try:
            endpoints = await asyncio.to_thread(devstack.ensure_up, config)
        except BaseException:
            await asyncio.to_thread(devstack.down, config)
            raise
        return cls(config, endpoints)

    async def stop(self, server: str, *, kill: bool) -> None:
        await asyncio.to_thread(devstack.stop, server, self.config, kill=kill)

    async def start(self, server: str) -> None:
        await asyncio.to_thread(devstack.start, server, self.config)

    async def close(self, keep: bool) -> None:
        """Stop every server; delete the folder unless `keep` (logs for a post-mortem)."""
        await asyncio.to_thread(devstack.down, self.config)
        if not keep:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(shutil.rmtree, self.config.root)


def prune(keep: int = 3) -> None:
    """Remove the folders of old runs kept after a failure, all but the newest `keep`."""
    if not CHAOS_DIR.is_dir():
        return
    # A folder with pid files belongs to a run still going (or one that died: keep it).
    runs = sorted(
        (p for p in CHAOS_DIR.iterdir() if p.is_dir() and not any((p / "run").glob("*.pid"))),
        key=lambda p: p.stat().st_mtime,
    )
    for old in runs[: max(len(runs) - keep, 0)]:
        shutil.rmtree(old, ignore_errors=True)
