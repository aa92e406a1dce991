"""orderflow's services as real OS processes: what `orderflow run`, the end-to-end tests
and the fault tests start, stop, kill and watch through /readyz and /metrics."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]

SERVICES = ("ordering", "invoicing", "payments", "notifier", "timers")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    """One `python -m <service>` process with its own ops port and log file."""

    module: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        """Start the process; its JSON log lines go to `log_path`."""
        env = {**os.environ, **self.env, "ORDERFLOW_HTTP_PORT": str(self.port)}
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            # Its own session: a Ctrl-C in the terminal reaches the launcher only, which
            # then stops each service in order.
            start_new_session=True,
        )

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def wait_healthy(self, timeout: float = 60.0, *, assigned: bool = False) -> None:
        """Wait until the service reaches Kafka and its store (its /readyz checks say so).

        With `assigned`, also until its consumers have their partitions (all of /readyz).
        Not by default: after a kill -9 the assignment waits for the dead member's session
        to time out, and most callers don't need it (messages wait in their topics).
        """
        url = f"http://127.0.0.1:{self.port}/readyz"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.module} exited: see {self.log_path}")
            try:
                body = await asyncio.to_thread(_probe, url)
                checks = json.loads(body).get("checks", {})
                connected = checks.get("kafka") and checks.get("store")
                if connected and (not assigned or checks.get("partitions", True)):
                    return
            except (OSError, ValueError):
                pass
            await asyncio.sleep(0.25)
        raise TimeoutError(f"{self.module} not healthy after {timeout}s: see {self.log_path}")

    def metrics(self) -> str:
        return _get(f"http://127.0.0.1:{self.port}/metrics")

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM and wait: the service drains in-flight messages and exits.

        A service still running after `timeout` is killed (and -9 returned).
        """
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            code = -9
        if self._log:
            self._log.close()
        return code

    def kill(self) -> None:
        """SIGKILL: a crash, with no chance to drain or commit."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        if self._log:
            self._log.close()


def _probe(url: str) -> str:
    """The body of a probe, also when it answers 503."""
    try:
        return _get(url)
    except urllib.error.HTTPError as e:
        return str(e.read().decode())


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text, 0 if absent."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
