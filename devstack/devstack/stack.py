"""Bring the whole local stack (Kafka, FerretDB, SMTP catcher) up, down, or report on it."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from devstack import ferretdb, kafka, smtp
from devstack.config import (
    FERRETDB_PORT_ENV,
    KAFKA_CONTROLLER_PORT_ENV,
    KAFKA_MTLS_PORT_ENV,
    KAFKA_PORT_ENV,
    KAFKA_SASL_PORT_ENV,
    SMTP_PORT_ENV,
    DevstackError,
    StackConfig,
    say,
)
from devstack.process import (
    NotReadyError,
    RunState,
    StackLock,
    clear_state,
    is_alive,
    log_path,
    port_is_free,
    read_state,
    spawn,
    tail,
    terminate,
)


@dataclass(frozen=True)
class Server:
    """How devstack prepares, starts and checks one server."""

    name: str
    # listener name -> StackConfig field holding its port
    port_fields: dict[str, str]
    prepare: Callable[[StackConfig], None]
    argv: Callable[[StackConfig], list[str]]
    probe: Callable[[StackConfig], None]
    ready_timeout: float
    stop_timeout: float

    def ports(self, config: StackConfig) -> dict[str, int]:
        """The ports this server binds under ``config`` (an optional listener that is off has none)."""
        found = {listener: getattr(config, f) for listener, f in self.port_fields.items()}
        return {listener: port for listener, port in found.items() if port is not None}


def _smtp_prepare(config: StackConfig) -> None:
    smtp.ensure_maildir(config.maildir)


SERVERS: dict[str, Server] = {
    s.name: s
    for s in (
        Server(
            name=kafka.NAME,
            port_fields={
                "port": "kafka_port",
                "controller": "kafka_controller_port",
                "sasl": "kafka_sasl_port",
                "mtls": "kafka_mtls_port",
            },
            prepare=kafka.prepare,
            argv=kafka.argv,
            probe=kafka.probe,
            ready_timeout=kafka.READY_TIMEOUT,
            stop_timeout=kafka.STOP_TIMEOUT,
        ),
        Server(
            name=ferretdb.NAME,
            port_fields={"port": "ferretdb_port"},
            prepare=ferretdb.prepare,
            argv=ferretdb.argv,
            probe=ferretdb.probe,
            ready_timeout=ferretdb.READY_TIMEOUT,
            stop_timeout=ferretdb.STOP_TIMEOUT,
        ),
        Server(
            name=smtp.NAME,
            port_fields={"port": "smtp_port"},
            prepare=_smtp_prepare,
            # The catcher runs on the same interpreter (and so the same venv) as devstack.
            argv=lambda config: smtp.argv(config, sys.executable),
            probe=smtp.probe,
            ready_timeout=smtp.READY_TIMEOUT,
            stop_timeout=smtp.STOP_TIMEOUT,
        ),
    )
}
NAMES: tuple[str, ...] = tuple(SERVERS)

_PORT_ENV = {
    "kafka_port": KAFKA_PORT_ENV,
    "kafka_controller_port": KAFKA_CONTROLLER_PORT_ENV,
    "ferretdb_port": FERRETDB_PORT_ENV,
    "smtp_port": SMTP_PORT_ENV,
    "kafka_sasl_port": KAFKA_SASL_PORT_ENV,
    "kafka_mtls_port": KAFKA_MTLS_PORT_ENV,
}


@dataclass(frozen=True)
class StackEndpoints:
    """Where a test or a service finds the servers."""

    kafka_bootstrap: str
    mongodb_uri: str
    smtp_host: str
    smtp_port: int
    # The SMTP catcher's Maildir: read mail with devstack.smtp.messages(maildir), make the
    # catcher refuse with devstack.smtp.refuse_next(n, maildir).
    maildir: Path

    @property
    def smtp_url(self) -> str:
        """The catcher as an ``smtp://host:port`` URL."""
        return f"smtp://{self.smtp_host}:{self.smtp_port}"

    def as_env(self) -> dict[str, str]:
        """The environment variables the services read their endpoints from."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "MONGODB_URI": self.mongodb_uri,
            "SMTP_URL": self.smtp_url,
        }


@dataclass(frozen=True)
class ServerStatus:
    """One line of ``devstack status``."""

    name: str
    pid: int | None
    ports: dict[str, int]
    running: bool
    ready: bool
    log: Path


def _server(name: str) -> Server:
    try:
        return SERVERS[name]
    except KeyError:
        raise DevstackError(f"unknown server {name!r}; known: {', '.join(NAMES)}") from None


def _running(config: StackConfig, server: Server) -> RunState | None:
    """The state of ``server`` if it runs; a stale record is removed."""
    state = read_state(config, server.name)
    if state is None:
        return None
    if is_alive(state):
        return state
    clear_state(config, server.name)
    return None


def _as_running(config: StackConfig, server: Server, state: RunState | None) -> StackConfig:
    """``config`` with the ports the running server actually uses (they may differ)."""
    if state is None:
        return config
    changes = {
        field: state.ports[listener]
        for listener, field in server.port_fields.items()
        if listener in state.ports
    }
    return config.with_ports(changes)


def _still_alive(state: RunState) -> bool:
    """A second look before declaring a server dead: a process found not alive while it
    was starting is looked at again half a second later."""
    time.sleep(0.5)
    return is_alive(state)


def _wait_ready(config: StackConfig, server: Server, state: RunState) -> None:
    deadline = time.monotonic() + server.ready_timeout
    log = log_path(config, server.name)
    while True:
        if not is_alive(state) and not _still_alive(state):
            clear_state(config, server.name)
            raise DevstackError(f"{server.name} exited while starting; see {log}:\n{tail(log)}")
        try:
            server.probe(config)
            return
        except NotReadyError as exc:
            reason = str(exc)
        if time.monotonic() >= deadline:
            terminate(state, timeout=server.stop_timeout)
            clear_state(config, server.name)
            raise DevstackError(
                f"{server.name} not ready after {server.ready_timeout:.0f} s ({reason}); "
                f"see {log}:\n{tail(log)}"
            )
        time.sleep(0.25)


def _start_one(config: StackConfig, server: Server) -> None:
    """Start ``server`` unless it runs; return once it answers its readiness probe.

    The caller holds the stack lock.
    """
    state = _running(config, server)
    if state is not None:
        wanted = server.ports(config)
        if state.ports != wanted:
            say(
                f"{server.name} already runs on {state.ports} (pid {state.pid}), not on "
                f"the configured {wanted}; run `devstack down` to apply the new ports"
            )
        _wait_ready(_as_running(config, server, state), server, state)
        return
    for listener, field in server.port_fields.items():
        port = getattr(config, field)
        if port is not None and not port_is_free(config.host, port):
            raise DevstackError(
                f"port {port} ({server.name} {listener}) is taken by a process devstack "
                f"didn't start from {config.root}: stop it or set {_PORT_ENV[field]}"
            )
    started = time.monotonic()
    server.prepare(config)
    say(f"starting {server.name}...")
    state = spawn(config, server.name, server.argv(config), server.ports(config))
    _wait_ready(config, server, state)
    took = time.monotonic() - started
    ports = ", ".join(f"{k} {v}" for k, v in state.ports.items())
    say(f"{server.name} ready ({ports}; pid {state.pid}; {took:.1f} s)")


def _in_parallel(names: Iterable[str], action: Callable[[Server], None]) -> None:
    """Run ``action`` for each server at once (builds and JVM start overlap); re-raise errors."""
    servers = [_server(n) for n in names]
    with ThreadPoolExecutor(max_workers=max(1, len(servers))) as pool:
        futures = [pool.submit(action, s) for s in servers]
    errors = [f.exception() for f in futures]
    problems = [e for e in errors if e is not None]
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise DevstackError("\n".join(str(p) for p in problems))


def endpoints(config: StackConfig | None = None) -> StackEndpoints:
    """The endpoints of the stack (running ports win over configured ones); starts nothing."""
    config = config or StackConfig.from_env()
    resolved = {
        name: _as_running(config, server, _running(config, server))
        for name, server in SERVERS.items()
    }
    return StackEndpoints(
        kafka_bootstrap=kafka.bootstrap(resolved[kafka.NAME]),
        mongodb_uri=ferretdb.mongodb_uri(resolved[ferretdb.NAME]),
        smtp_host=resolved[smtp.NAME].host,
        smtp_port=resolved[smtp.NAME].smtp_port,
        maildir=config.maildir,
    )


def ensure_up(config: StackConfig | None = None, *, names: Iterable[str] = NAMES) -> StackEndpoints:
    """Start whatever isn't running yet and return once every server answers.

    Idempotent and quick when warm (a few readiness calls). The first run builds in the
    cache folder: Kafka jars via mvn, FerretDB via go build. Raises DevstackError with a
    one-line reason (plus a log tail when a server fails to start).
    """
    config = config or StackConfig.from_env()
    with StackLock(config).held():
        _in_parallel(names, lambda server: _start_one(config, server))
        return endpoints(config)


def start(name: str, config: StackConfig | None = None) -> StackEndpoints:
    """Start one server (``"kafka"``, ``"ferretdb"`` or ``"smtp"``) and wait until it answers."""
    return ensure_up(config, names=[name])


def _stop_one(
    config: StackConfig, server: Server, *, kill: bool = False, timeout: float | None = None
) -> bool:
    """Stop ``server`` if it runs; the caller holds the stack lock."""
    state = _running(config, server)
    if state is None:
        return False
    terminate(state, timeout=server.stop_timeout if timeout is None else timeout, kill=kill)
    clear_state(config, server.name)
    say(f"{'killed' if kill else 'stopped'} {server.name} (pid {state.pid})")
    return True


def stop(
    name: str,
    config: StackConfig | None = None,
    *,
    kill: bool = False,
    timeout: float | None = None,
) -> bool:
    """Stop one server; return False if it wasn't running.

    SIGTERM first and SIGKILL after ``timeout`` (default per server); with ``kill=True``
    SIGKILL at once, which to clients looks like the server crashed.
    """
    config = config or StackConfig.from_env()
    server = _server(name)
    with StackLock(config).held():
        return _stop_one(config, server, kill=kill, timeout=timeout)


def down(config: StackConfig | None = None) -> None:
    """Stop every server of the stack (data stays)."""
    config = config or StackConfig.from_env()

    def stop_server(server: Server) -> None:
        _stop_one(config, server)

    with StackLock(config).held():
        _in_parallel(NAMES, stop_server)


def status(config: StackConfig | None = None) -> list[ServerStatus]:
    """Each server's pid, ports, and whether it answers its readiness probe right now."""
    config = config or StackConfig.from_env()
    result: list[ServerStatus] = []
    for name, server in SERVERS.items():
        state = _running(config, server)
        effective = _as_running(config, server, state)
        ready = False
        if state is not None:
            try:
                server.probe(effective)
                ready = True
            except NotReadyError:
                ready = False
        result.append(
            ServerStatus(
                name=name,
                pid=None if state is None else state.pid,
                ports=server.ports(effective),
                running=state is not None,
                ready=ready,
                log=log_path(config, name),
            )
        )
    return result


def clean(config: StackConfig | None = None) -> None:
    """Stop the stack and wipe its data (topics, databases, mail, logs).

    Builds (Kafka jars, FerretDB binary) stay, so the next ``up`` is quick.
    """
    config = config or StackConfig.from_env()
    with StackLock(config).held():
        down(config)
        for path in (
            config.kafka_dir / "data",
            config.kafka_dir / "formatted-for-controller",
            config.ferretdb_dir / "data",
            config.maildir.parent,
            config.logs_dir,
            config.run_dir,
        ):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        say(f"wiped the data in {config.root} (builds kept)")
