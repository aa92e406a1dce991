"""Detached server processes: spawn, pid files, liveness, stop; plus the stack lock.

A server outlives the process that started it (``start_new_session``), so a test run or
``devstack up`` can exit and the next one finds the servers warm. What is running is
recorded in ``run/<name>.pid`` (just the pid, for shell tools) and ``run/<name>.json``
(pid, argv and ports, for devstack itself).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from devstack.config import DevstackError, StackConfig, say

# Logs are kept across runs for post-mortems but must not grow forever.
_MAX_LOG_BYTES = 20 * 1024 * 1024

# Popen objects of servers this process spawned: polling them reaps a child that died,
# which would otherwise linger as a zombie that still "exists" for os.kill(pid, 0).
_children: dict[int, subprocess.Popen[bytes]] = {}


class NotReadyError(Exception):
    """A readiness probe found the server not (yet) answering."""


@dataclass(frozen=True)
class RunState:
    """What devstack recorded when it started a server."""

    name: str
    pid: int
    argv: list[str]
    ports: dict[str, int]
    started_at: str


def _state_path(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.json"


def _pid_path(config: StackConfig, name: str) -> Path:
    return config.run_dir / f"{name}.pid"


def log_path(config: StackConfig, name: str) -> Path:
    """The log file of server (or build step) ``name``."""
    return config.logs_dir / f"{name}.log"


def read_state(config: StackConfig, name: str) -> RunState | None:
    """The recorded state of ``name``, or None if devstack has no record of it."""
    try:
        raw = json.loads(_state_path(config, name).read_text(encoding="utf-8"))
        return RunState(
            name=name,
            pid=int(raw["pid"]),
            argv=[str(a) for a in raw["argv"]],
            ports={str(k): int(v) for k, v in raw["ports"].items()},
            started_at=str(raw["started_at"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_state(config: StackConfig, name: str) -> None:
    """Forget server ``name`` (after it stopped or was found dead)."""
    for path in (_state_path(config, name), _pid_path(config, name)):
        path.unlink(missing_ok=True)


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def is_alive(state: RunState) -> bool:
    """True if the recorded process still runs *and* is still that server.

    Checking the command line guards against pid reuse after a reboot or a long pause:
    a recycled pid belongs to some other program whose argv differs.
    """
    child = _children.get(state.pid)
    if child is not None and child.poll() is not None:
        # Usually it exited (and poll() reaped it, so /proc below no longer has it). But
        # poll() also reports an exit when the child was reaped elsewhere (ECHILD), while
        # it runs: seen twice as "ferretdb exited while starting" with FerretDB listening.
        # So /proc decides.
        _children.pop(state.pid, None)
    proc = Path("/proc") / str(state.pid)
    if Path("/proc/self").exists():
        try:
            stat = (proc / "stat").read_text()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            return False
        # The state letter follows the parenthesised command name; Z is a zombie.
        if stat[stat.rfind(")") + 2 :].startswith("Z"):
            return False
        return cmdline.split(b"\0")[:-1] == [os.fsencode(a) for a in state.argv]
    # No /proc (macOS): fall back to "some process has that pid".
    try:
        os.kill(state.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def port_is_free(host: str, port: int) -> bool:
    """True if nothing listens on host:port (so a new server can bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR so that connections in TIME_WAIT from a previous run don't count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            raise
    return True


def accepts_connections(host: str, port: int, timeout: float = 1.0) -> bool:
    """True if a TCP connection to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _open_log(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        if path.stat().st_size > _MAX_LOG_BYTES:
            path.replace(path.with_suffix(".log.old"))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    os.write(fd, f"==== devstack: started at {stamp} ====\n".encode())
    return fd


def spawn(
    config: StackConfig,
    name: str,
    argv: Sequence[str],
    ports: Mapping[str, int],
    *,
    env: Mapping[str, str] | None = None,
) -> RunState:
    """Start ``argv`` detached (own session, stdin closed, output to the log) and record it."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    log_fd = _open_log(log_path(config, name))
    try:
        child = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT,
            cwd=config.root,
            env=None if env is None else dict(env),
            # Its own session: Ctrl-C in the terminal or the end of a pytest run doesn't
            # reach it, and stopping it can signal the whole process group.
            start_new_session=True,
        )
    finally:
        os.close(log_fd)
    _children[child.pid] = child
    state = RunState(
        name=name,
        pid=child.pid,
        argv=list(argv),
        ports=dict(ports),
        started_at=datetime.now(UTC).isoformat(timespec="seconds"),
    )
    _write_atomically(_pid_path(config, name), f"{child.pid}\n")
    _write_atomically(
        _state_path(config, name),
        json.dumps(
            {
                "pid": state.pid,
                "argv": state.argv,
                "ports": state.ports,
                "started_at": state.started_at,
            },
            indent=2,
        ),
    )
    return state


def terminate(state: RunState, *, timeout: float, kill: bool = False) -> None:
    """Stop a server: SIGTERM, then SIGKILL if it is still alive after ``timeout`` s.

    With ``kill=True`` it sends SIGKILL straight away, which is what a crash looks like
    to clients (fault tests use it).
    """
    first = signal.SIGKILL if kill else signal.SIGTERM
    if not _signal_group(state.pid, first):
        return
    if _wait_gone(state, timeout):
        return
    _signal_group(state.pid, signal.SIGKILL)
    if not _wait_gone(state, 10.0):
        raise DevstackError(f"{state.name} (pid {state.pid}) survived SIGKILL")


def _signal_group(pid: int, sig: signal.Signals) -> bool:
    # The server leads its own process group (start_new_session), so signalling the
    # group also reaches anything it forked.
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        os.kill(pid, sig)
    return True


def _wait_gone(state: RunState, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(state):
            return True
        time.sleep(0.1)
    return not is_alive(state)


def tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log (of the latest run only), for error messages."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    marker = text.rfind("==== devstack: started at")
    if marker >= 0:
        text = text[marker:]
    return "\n".join(text.splitlines()[-lines:])


def run_build_step(
    config: StackConfig,
    log_name: str,
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    what: str,
) -> None:
    """Run a one-off command (mvn, go build, kafka format) with output to its log.

    Raises DevstackError naming the log when it fails, with its last lines.
    """
    path = log_path(config, log_name)
    fd = _open_log(path)
    try:
        result = subprocess.run(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            env=None if env is None else dict(env),
            check=False,
        )
    finally:
        os.close(fd)
    if result.returncode != 0:
        raise DevstackError(f"{what} failed (exit {result.returncode}); see {path}:\n{tail(path)}")


class StackLock:
    """Serialises up/down/start/stop of one stack across processes and threads.

    Several pytest sessions (or engineers) may call ensure_up at the same moment; without
    the lock two of them would both see Kafka "not running" and start it twice. The lock
    is re-entrant within a process so internal helpers can nest.
    """

    _guard = threading.RLock()
    _depth: dict[Path, int] = {}
    _files: dict[Path, int] = {}

    def __init__(self, config: StackConfig) -> None:
        self._path = config.root / "devstack.lock"

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the lock for the duration of the ``with`` block."""
        with self._guard:
            depth = self._depth.get(self._path, 0)
            if depth == 0:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    say(f"waiting for another devstack command on {self._path.parent} ...")
                    fcntl.flock(fd, fcntl.LOCK_EX)
                self._files[self._path] = fd
            self._depth[self._path] = depth + 1
            try:
                yield
            finally:
                self._depth[self._path] -= 1
                if self._depth[self._path] == 0:
                    fd = self._files.pop(self._path)
                    fcntl.flock(fd, fcntl.LOCK_UN)
                    os.close(fd)
