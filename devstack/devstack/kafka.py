"""A single-node Kafka 4.1.1 broker (KRaft: broker and controller in one JVM).

The jars come from Maven Central through ``devstack/kafka/pom.xml`` (mvn copies them
into the cache once); the broker then runs as ``java -cp 'libs/*' kafka.Kafka``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient

from devstack import secured
from devstack.aio import run_in_fresh_loop
from devstack.config import KAFKA_SOURCE_DIR, DevstackError, StackConfig, say
from devstack.process import NotReadyError, accepts_connections, log_path, run_build_step

NAME = "kafka"
KAFKA_VERSION = "4.1.1"
MIN_JAVA = 17
READY_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0

POM = KAFKA_SOURCE_DIR / "pom.xml"
LOG4J_CONFIG = KAFKA_SOURCE_DIR / "log4j2.properties"


def bootstrap(config: StackConfig) -> str:
    """The bootstrap address clients use."""
    return f"{config.host}:{config.kafka_port}"


def ports(config: StackConfig) -> dict[str, int]:
    """The ports the broker binds, by listener."""
    found = {"port": config.kafka_port, "controller": config.kafka_controller_port}
    if config.kafka_sasl_port is not None:
        found["sasl"] = config.kafka_sasl_port
    if config.kafka_mtls_port is not None:
        found["mtls"] = config.kafka_mtls_port
    return found


def _libs(config: StackConfig) -> Path:
    return config.kafka_dir / "libs"


def _data(config: StackConfig) -> Path:
    return config.kafka_dir / "data"


def _properties_path(config: StackConfig) -> Path:
    return config.kafka_dir / "server.properties"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@functools.cache
def find_java() -> str:
    """Path of a Java 17+ ``java`` (JAVA_HOME first, then PATH), or a DevstackError."""
    java_home = os.environ.get("JAVA_HOME", "")
    candidate = Path(java_home, "bin", "java") if java_home else None
    java = str(candidate) if candidate and candidate.is_file() else shutil.which("java")
    if java is None:
        raise DevstackError(
            f"java not found: Kafka {KAFKA_VERSION} needs a Java {MIN_JAVA}+ runtime "
            "(Debian/Ubuntu: apt-get install default-jdk-headless)"
        )
    out = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    # `java -version` prints e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_412").
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if match is None:
        raise DevstackError(f"cannot tell the version of {java}: {out.stderr.strip()!r}")
    major = int(match.group(1))
    if major == 1 and match.group(2):
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise DevstackError(
            f"{java} is Java {major}; Kafka {KAFKA_VERSION} needs Java {MIN_JAVA}+ "
            "(Debian/Ubuntu: apt-get install default-jdk-headless)"
        )
    return java


def _fetch_jars(config: StackConfig) -> None:
    """Copy the broker's jars from Maven Central unless the cache already has them."""
    libs = _libs(config)
    stamp = config.kafka_dir / "libs.sha256"
    wanted = _sha256(POM)
    if libs.is_dir() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise DevstackError(
            f"mvn not found: it fetches the Kafka {KAFKA_VERSION} jars from Maven Central once "
            "(Debian/Ubuntu: apt-get install maven)"
        )
    say(f"fetching Kafka {KAFKA_VERSION} jars from Maven Central (first run, ~45 MB)...")
    config.kafka_dir.mkdir(parents=True, exist_ok=True)
    # mvn runs on a copy of the pom so it never writes next to the committed one.
    pom_copy = config.kafka_dir / "pom.xml"
    shutil.copyfile(POM, pom_copy)
    partial = config.kafka_dir / "libs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    run_build_step(
        config,
        "build-kafka",
        [
            mvn,
            "-B",
            "-q",
            "-Dstyle.color=never",
            "-f",
            str(pom_copy),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={partial}",
        ],
        cwd=config.kafka_dir,
        what="mvn dependency:copy-dependencies",
    )
    # Swap in the complete set only, so an interrupted download is never mistaken for jars.
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    stamp.write_text(wanted + "\n")


def _server_properties(config: StackConfig) -> str:
    host = config.host
    # The secured listener (opt-in, devstack/devstack/secured.py) comes after the others,
    # so a stack without it writes exactly the properties it always did.
    sasl = f"SASL_SSL://{host}:{config.kafka_sasl_port}" if config.kafka_sasl_port else ""
    if sasl and config.kafka_mtls_port:
        sasl += f",SSL://{host}:{config.kafka_mtls_port}"
    extra = secured.server_properties(config) if sasl else []
    return "\n".join(
        [
            "# Written by devstack on every start; edit devstack/devstack/kafka.py instead.",
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers={host}:{config.kafka_controller_port}",
            f"listeners=PLAINTEXT://{host}:{config.kafka_port},"
            f"CONTROLLER://{host}:{config.kafka_controller_port}" + (f",{sasl}" if sasl else ""),
            f"advertised.listeners=PLAINTEXT://{host}:{config.kafka_port}"
            + (f",{sasl}" if sasl else ""),
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            + (",SASL_SSL:SASL_SSL" if sasl else "")
            + (",SSL:SSL" if sasl and config.kafka_mtls_port else ""),
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={_data(config)}",
            # One broker: internal topics can't have more than one replica.
            "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            # Tests start consumers constantly; don't wait 3 s before the first rebalance.
            "group.initial.rebalance.delay.ms=0",
            "num.partitions=3",
            "auto.create.topics.enable=true",
            # The services' size limits (servicekit/config.py, README "Message sizes"):
            # a topic takes 1 MiB unless it says otherwise; dead-letter topics say more.
            "message.max.bytes=1048576",
            *extra,
            "",
        ]
    )


def _cluster_id() -> str:
    # Same shape as `kafka-storage random-uuid` (Kafka's Uuid.randomUuid): 16 random bytes
    # in unpadded URL-safe base64, never starting with "-" (it would read as a CLI flag).
    # Generating it here saves a JVM start on the cold path.
    while True:
        text = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _format_storage(config: StackConfig, java: str) -> None:
    """Format the KRaft log dir once; again only if the controller port changed."""
    data = _data(config)
    marker = config.kafka_dir / "formatted-for-controller"
    controller = f"{config.host}:{config.kafka_controller_port}"
    if config.kafka_sasl_port is not None:
        # SCRAM users exist only if the storage was formatted with them.
        controller += " with-scram-users"
    formatted = (data / "meta.properties").is_file()
    if formatted and marker.is_file() and marker.read_text().strip() == controller:
        return
    if formatted:
        # --standalone records the controller's endpoint in the metadata log, so a broker
        # whose controller listener moved would wait for a voter that no longer exists.
        say(f"Kafka controller moved to {controller}: wiping Kafka data and formatting again")
        shutil.rmtree(data)
    else:
        say("formatting Kafka storage (first run)...")
    run_build_step(
        config,
        "build-kafka",
        [
            java,
            *_log4j_args(config),
            "-cp",
            f"{_libs(config)}/*",
            "kafka.tools.StorageTool",
            "format",
            "--standalone",
            "-t",
            _cluster_id(),
            "-c",
            str(_properties_path(config)),
            *(secured.scram_arguments() if config.kafka_sasl_port is not None else []),
        ],
        cwd=config.kafka_dir,
        what="Kafka storage format",
    )
    marker.write_text(controller + "\n")


def _log4j_args(config: StackConfig) -> list[str]:
    return [
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Ddevstack.kafka.log={log_path(config, NAME)}",
    ]


def prepare(config: StackConfig) -> None:
    """Get everything the broker needs on disk: jars, server.properties, formatted storage."""
    java = find_java()
    _fetch_jars(config)
    props = _properties_path(config)
    content = _server_properties(config)
    if not props.is_file() or props.read_text() != content:
        props.write_text(content)
    _format_storage(config, java)


def argv(config: StackConfig) -> list[str]:
    """The broker's command line."""
    return [
        find_java(),
        "-Xmx512m",
        "-Djava.awt.headless=true",
        *_log4j_args(config),
        "-cp",
        f"{_libs(config)}/*",
        "kafka.Kafka",
        str(_properties_path(config)),
    ]


async def _describe_cluster(bootstrap_servers: str) -> dict[str, Any]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=5000)
    try:
        await admin.start()
        info: dict[str, Any] = await admin.describe_cluster()
        return info
    finally:
        await admin.close()


def describe_cluster(bootstrap_servers: str) -> dict[str, Any]:
    """A Kafka metadata call (brokers, controller, cluster id), from sync code."""
    return run_in_fresh_loop(lambda: _describe_cluster(bootstrap_servers))


def probe(config: StackConfig) -> None:
    """Raise NotReadyError unless the broker answers a metadata call with itself as a broker."""
    # A bare connect first: it costs nothing and keeps aiokafka from logging a connection
    # error for every attempt while the JVM is still starting.
    if not accepts_connections(config.host, config.kafka_port):
        raise NotReadyError("port closed")
    if config.kafka_sasl_port is not None and not accepts_connections(
        config.host, config.kafka_sasl_port
    ):
        raise NotReadyError("secured listener's port closed")
    try:
        info = describe_cluster(bootstrap(config))
    except Exception as exc:  # aiokafka raises a zoo of errors while the broker boots
        raise NotReadyError(str(exc)) from exc
    if not info.get("brokers") or int(info.get("controller_id", -1)) < 0:
        raise NotReadyError(f"no broker/controller in metadata yet: {info}")


async def _delete_topics(bootstrap_servers: str, prefix: str) -> list[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=15000)
    try:
        await admin.start()
        names = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        if names:
            await admin.delete_topics(names)
        return names
    finally:
        await admin.close()


def grant(config: StackConfig, acls: list[secured.Acl]) -> int:
    """Add ALLOW ACLs on the broker (for principals of the secured listener)."""
    return secured.grant(config, find_java(), acls)


def delete_topics_with_prefix(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix``; return their names.

    Test runs name their topics ``<run_id>.*`` and call this at the end, so a shared
    broker doesn't pile up thousands of partitions over weeks of test runs.
    """
    if not prefix or prefix.startswith("_"):
        raise ValueError(f"refusing to delete topics by the prefix {prefix!r}")
    return run_in_fresh_loop(lambda: _delete_topics(bootstrap_servers, prefix))
