"""Where the dev stack lives on disk and which ports it listens on.

Everything is read from the environment once, into a frozen :class:`StackConfig`, so a
test process, the ``devstack`` CLI and a child process all agree on the same layout.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

# devstack/devstack/config.py -> devstack/ holds the committed build inputs (kafka/, ferretdb/)
SOURCE_DIR = Path(__file__).resolve().parent.parent
KAFKA_SOURCE_DIR = SOURCE_DIR / "kafka"
FERRETDB_SOURCE_DIR = SOURCE_DIR / "ferretdb"

DIR_ENV = "ORDERFLOW_DEVSTACK_DIR"
KAFKA_PORT_ENV = "ORDERFLOW_DEVSTACK_KAFKA_PORT"
KAFKA_CONTROLLER_PORT_ENV = "ORDERFLOW_DEVSTACK_KAFKA_CONTROLLER_PORT"
FERRETDB_PORT_ENV = "ORDERFLOW_DEVSTACK_FERRETDB_PORT"
SMTP_PORT_ENV = "ORDERFLOW_DEVSTACK_SMTP_PORT"
# Opt-in: a SASL_SSL listener (SCRAM users, TLS, ACLs) beside the plain one; see secured.py.
KAFKA_SASL_PORT_ENV = "ORDERFLOW_DEVSTACK_KAFKA_SASL_PORT"
# Opt-in, with the SASL port: an SSL listener that requires a client certificate (mTLS).
KAFKA_MTLS_PORT_ENV = "ORDERFLOW_DEVSTACK_KAFKA_MTLS_PORT"

DEFAULT_KAFKA_PORT = 9092
DEFAULT_FERRETDB_PORT = 27017
DEFAULT_SMTP_PORT = 1025

# Every server binds to loopback only: the stack is for this machine, not the network.
HOST = "127.0.0.1"


class DevstackError(RuntimeError):
    """A problem the user can fix (missing tool, busy port, server that won't start).

    The message is one line meant to be shown as is, without a traceback.
    """


def say(message: str) -> None:
    """Print one progress line to stderr, so stdout stays clean for ``devstack env``."""
    print(f"devstack: {message}", file=sys.stderr, flush=True)


def _repo_root() -> Path:
    # In the checkout the package sits at <repo>/devstack/devstack; anywhere else (an
    # installed wheel) the current directory is the best guess for "the project".
    candidate = SOURCE_DIR.parent
    if (candidate / "pyproject.toml").is_file() and (SOURCE_DIR / "pyproject.toml").is_file():
        return candidate
    return Path.cwd()


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        port = int(raw)
    except ValueError:
        raise DevstackError(f"{name}={raw!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise DevstackError(f"{name}={port} is outside 1..65535")
    return port


@dataclass(frozen=True)
class StackConfig:
    """The cache folder and ports of one dev stack.

    Two stacks with different ``root`` folders and ports can run side by side (the
    default one for everyday work, a throwaway one for a cold-start check).
    """

    root: Path
    kafka_port: int = DEFAULT_KAFKA_PORT
    kafka_controller_port: int = DEFAULT_KAFKA_PORT + 1
    ferretdb_port: int = DEFAULT_FERRETDB_PORT
    smtp_port: int = DEFAULT_SMTP_PORT
    host: str = HOST
    # None: no secured listener (the default, and what the shared stack runs).
    kafka_sasl_port: int | None = None
    # None: no mutual-TLS listener (it needs the secured listener's CA, so the SASL port too).
    kafka_mtls_port: int | None = None

    def __post_init__(self) -> None:
        # Servers run with the cache folder as their working directory, so every path
        # handed to them must be absolute.
        object.__setattr__(self, "root", Path(self.root).expanduser().resolve())

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> StackConfig:
        """Read the folder and ports from ``ORDERFLOW_DEVSTACK_*`` variables.

        The Kafka controller port defaults to the Kafka port + 1, so moving Kafka to
        another port with a single variable doesn't clash with a stack on the defaults.
        """
        env = os.environ if environ is None else environ
        raw_root = env.get(DIR_ENV, "").strip()
        root = Path(raw_root).expanduser() if raw_root else _repo_root() / ".cache" / "devstack"
        kafka_port = _port(env, KAFKA_PORT_ENV, DEFAULT_KAFKA_PORT)
        config = cls(
            root=root,
            kafka_port=kafka_port,
            kafka_controller_port=_port(env, KAFKA_CONTROLLER_PORT_ENV, kafka_port + 1),
            ferretdb_port=_port(env, FERRETDB_PORT_ENV, DEFAULT_FERRETDB_PORT),
            smtp_port=_port(env, SMTP_PORT_ENV, DEFAULT_SMTP_PORT),
            kafka_sasl_port=_port(env, KAFKA_SASL_PORT_ENV, 0) or None,
            kafka_mtls_port=_port(env, KAFKA_MTLS_PORT_ENV, 0) or None,
        )
        ports = [
            config.kafka_port,
            config.kafka_controller_port,
            config.ferretdb_port,
            config.smtp_port,
            *([config.kafka_sasl_port] if config.kafka_sasl_port else []),
            *([config.kafka_mtls_port] if config.kafka_mtls_port else []),
        ]
        if len(set(ports)) != len(ports):
            raise DevstackError(f"the dev stack's ports must all differ, got {ports}")
        if config.kafka_mtls_port and not config.kafka_sasl_port:
            raise DevstackError(f"{KAFKA_MTLS_PORT_ENV} needs {KAFKA_SASL_PORT_ENV} too")
        return config

    def with_ports(self, ports: Mapping[str, int]) -> StackConfig:
        """A copy with some ports replaced, keyed by field name (``{"kafka_port": 19092}``)."""
        return StackConfig(
            root=self.root,
            host=self.host,
            kafka_port=ports.get("kafka_port", self.kafka_port),
            kafka_controller_port=ports.get("kafka_controller_port", self.kafka_controller_port),
            ferretdb_port=ports.get("ferretdb_port", self.ferretdb_port),
            smtp_port=ports.get("smtp_port", self.smtp_port),
            kafka_sasl_port=ports.get("kafka_sasl_port", self.kafka_sasl_port),
            kafka_mtls_port=ports.get("kafka_mtls_port", self.kafka_mtls_port),
        )

    @property
    def kafka_dir(self) -> Path:
        """Kafka jars, server.properties and the broker's data."""
        return self.root / "kafka"

    @property
    def ferretdb_dir(self) -> Path:
        """The FerretDB binary and its SQLite files."""
        return self.root / "ferretdb"

    @property
    def maildir(self) -> Path:
        """Where the SMTP catcher stores every message it accepts."""
        return self.root / "smtp" / "maildir"

    @property
    def logs_dir(self) -> Path:
        """One log per server plus one per build step."""
        return self.root / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files and the state of running servers."""
        return self.root / "run"
