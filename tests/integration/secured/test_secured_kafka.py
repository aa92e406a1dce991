"""Every service on a secured broker: SASL_SSL (SCRAM-SHA-512 over TLS) with ACLs, and mTLS.

The module starts a Kafka of its own (devstack's opt-in secured listener, on free ports in
.cache/devstack-secured) beside the run's shared stack, whose store and SMTP catcher it
uses. Each service logs in as its own principal and may touch only its own topics and
group (ServiceRuntime.kafka_acls); the test clients log in as devstack's super user.
The broker's second secured listener takes TLS client certificates instead (mutual TLS):
there the notifier is `User:CN=notifier`, with the same ACLs.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import shutil
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from aiokafka.errors import TopicAuthorizationFailedError

import devstack
from contracts import topics
from contracts.envelope import Role
from contracts.orders import ConfirmOrder, CreateOrder
from devstack import kafka as devstack_kafka
from devstack import secured
from devstack.config import SOURCE_DIR, StackConfig
from devstack.services import SERVICES, ServiceProcess, free_port
from orderflow import commands as c
from servicekit.kafka import KafkaLoginError, KafkaSettings
from servicekit.runtime import ServiceRuntime
from tests.support.kafka import Record, Upstream, eventually, read_topic
from tests.support.services import service_env

pytestmark = pytest.mark.timeout(240)


@dataclass(frozen=True)
class SecuredKafka:
    config: StackConfig
    prefix: str
    admin: KafkaSettings  # devstack's super user: what the test clients log in as
    notifier_certificate: tuple[Path, Path]  # for the mutual-TLS listener

    def env(self, service: str) -> dict[str, str]:
        return secured.client_env(self.config, service)


def _build(service: str, env: dict[str, str]) -> ServiceRuntime:
    """A service's runtime as its process would build it from `env` (nothing connects)."""
    with mock.patch.dict(os.environ, env):
        runtime: ServiceRuntime = importlib.import_module(f"{service}.app").build()
    return runtime


def _link_or_copy(source: str, target: str) -> object:
    try:
        os.link(source, target)
        return target
    except OSError:
        return shutil.copy2(source, target)


def _reuse_jars(config: StackConfig) -> None:
    """Link the shared stack's Kafka jars, if it has them, instead of fetching them again."""
    shared = StackConfig.from_env().kafka_dir
    if not (shared / "libs.sha256").is_file():
        return  # devstack fetches them (mvn)
    config.kafka_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(shared / "libs", config.kafka_dir / "libs", copy_function=_link_or_copy)
    shutil.copyfile(shared / "libs.sha256", config.kafka_dir / "libs.sha256")


@pytest.fixture(scope="module")
def secured_kafka(run_id: str, topic_prefix: str) -> Iterator[SecuredKafka]:
    """A broker with a SASL_SSL listener and every service's ACLs for this run's topics.

    Its folder is the run's own (as the chaos run's stack is), so two test runs never share
    a broker, and it is removed at the end.
    """
    ports = [free_port() for _ in range(6)]
    config = StackConfig(
        root=SOURCE_DIR.parent / ".cache" / "devstack-secured" / run_id,
        kafka_port=ports[0],
        kafka_controller_port=ports[1],
        ferretdb_port=ports[2],
        smtp_port=ports[3],
        kafka_sasl_port=ports[4],
        kafka_mtls_port=ports[5],
    )
    _reuse_jars(config)
    devstack.start("kafka", config)
    prefix = f"{topic_prefix}secured."
    needs = {s: _build(s, {"ORDERFLOW_TOPIC_PREFIX": prefix}).kafka_acls() for s in SERVICES}
    principals = {f"User:{s}": needs[s] for s in SERVICES} | {"User:CN=notifier": needs["notifier"]}
    devstack_kafka.grant(
        config,
        [
            secured.Acl(principal, resource, name, operation)
            for principal, acls in principals.items()
            for resource, name, operation in acls
        ],
    )
    certificate = secured.client_certificate(config, devstack_kafka.find_java(), "notifier")
    admin_env = secured.client_env(config, secured.SUPER_USER)
    admin = KafkaSettings.model_validate({k.lower(): v for k, v in admin_env.items()})
    try:
        yield SecuredKafka(config, prefix, admin, certificate)
    finally:
        devstack.stop("kafka", config)
        shutil.rmtree(config.root, ignore_errors=True)


def _env(stack: Any, kafka: SecuredKafka, database: str, service: str) -> dict[str, str]:
    return service_env(
        stack,
        kafka.prefix,
        f"{database}_secured",
        SMTP_URL=stack.smtp_url,
        **kafka.env(service),
    )


@pytest.fixture(scope="module")
async def services(
    stack: Any, secured_kafka: SecuredKafka, database_name: str, tmp_path_factory: Any
) -> AsyncIterator[dict[str, ServiceProcess]]:
    logs = tmp_path_factory.mktemp("secured-logs")
    processes = {
        s: ServiceProcess(s, _env(stack, secured_kafka, database_name, s), logs / f"{s}.log")
        for s in SERVICES
    }
    try:
        for process in processes.values():
            process.start()
        await asyncio.gather(*(p.wait_healthy(timeout=90) for p in processes.values()))
        yield processes
    finally:
        for process in processes.values():
            if process.proc is not None:
                process.terminate()


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


async def _ready(url: str) -> str | None:
    """/readyz's body once every check passes (consumers get their partitions last)."""
    with contextlib.suppress(OSError):
        body = await asyncio.to_thread(_get, url)
        return body if '"ready": true' in body else None
    return None


def _of(order_id: uuid.UUID, *types: str) -> Any:
    def until(records: Sequence[Record]) -> bool:
        seen = {r.json().get("type") for r in records if r.json().get("order_id") == str(order_id)}
        return set(types) <= seen

    return until


async def test_all_five_services_run_over_sasl_ssl_and_a_postpaid_order_is_created_and_confirmed(
    secured_kafka: SecuredKafka, services: dict[str, ServiceProcess]
) -> None:
    customer = c.party("customer-1", Role.CUSTOMER, "customer1@example.com")
    supplier = c.party("supplier-1", Role.SUPPLIER, "supplier1@example.com")
    order_id = uuid.uuid4()
    create = c.command(
        CreateOrder,
        customer.party,
        order_id=order_id,
        parties=[customer, supplier],
        terms=c.postpaid_terms(datetime.now(UTC)),
    )
    orders_events = secured_kafka.prefix + topics.ORDERS_EVENTS
    admin = secured_kafka.admin
    async with Upstream(admin.kafka_bootstrap_servers, secured_kafka.prefix, admin) as upstream:
        await upstream.send(topics.ORDERS_COMMANDS, create)
        await read_topic(
            admin.kafka_bootstrap_servers, orders_events, _of(order_id, "OrderCreated"), 60, admin
        )
        confirm = c.command(ConfirmOrder, supplier.party, order_id=order_id)
        await upstream.send(topics.ORDERS_COMMANDS, confirm)
    # ordering answered; the notifier heard of it and mailed a party, over SASL_SSL too.
    events = await read_topic(
        admin.kafka_bootstrap_servers, orders_events, _of(order_id, "OrderConfirmed"), 60, admin
    )
    assert "OrderConfirmed" in {r.json()["type"] for r in events}
    mails = await read_topic(
        admin.kafka_bootstrap_servers,
        secured_kafka.prefix + topics.NOTIFICATIONS_EVENTS,
        _of(order_id, "EmailSent"),
        60,
        admin,
    )
    assert any(r.json().get("order_id") == str(order_id) for r in mails)


async def test_no_password_reaches_a_log_line_or_the_probes(
    secured_kafka: SecuredKafka, services: dict[str, ServiceProcess]
) -> None:
    for name, process in services.items():
        body = await eventually(partial(_ready, f"http://127.0.0.1:{process.port}/readyz"), 60)
        assert secured.password(name) not in body
        assert secured.password(name) not in process.log_path.read_text()


async def test_a_wrong_password_stops_a_service_at_start_with_one_clear_line(
    stack: Any, secured_kafka: SecuredKafka, database_name: str, tmp_path: Path
) -> None:
    env = _env(stack, secured_kafka, database_name, "ordering")
    env |= {"KAFKA_SASL_PASSWORD": "not-the-password", "ORDERFLOW_CONNECT_TIMEOUT_SECONDS": "120"}
    process = ServiceProcess("ordering", env, tmp_path / "ordering.log")
    process.start()
    assert process.proc is not None
    # Well inside the connect timeout: a refused login is not retried.
    code = await asyncio.to_thread(process.proc.wait, 60)
    assert code != 0
    log = process.log_path.read_text()
    errors = [line for line in log.splitlines() if '"could not start"' in line]
    assert len(errors) == 1
    assert "refused the login of 'ordering'" in errors[0]
    assert "not-the-password" not in log
    assert "waiting for kafka" not in log


async def test_a_service_writing_a_topic_it_does_not_own_is_refused_by_the_broker(
    stack: Any, secured_kafka: SecuredKafka, database_name: str
) -> None:
    # The notifier owns notifications.events; orders.commands is not its to write.
    runtime = _build("notifier", _env(stack, secured_kafka, database_name, "notifier"))
    await runtime.broker.connect()
    try:
        with pytest.raises(TopicAuthorizationFailedError):
            await runtime.publish_raw(
                secured_kafka.prefix + topics.ORDERS_COMMANDS, b"{}", b"k", {}
            )
    finally:
        await runtime.broker.stop()
        await runtime.mongo.close()


async def test_over_mutual_tls_the_notifier_is_known_by_its_certificate_and_only_writes_its_own_topics(
    stack: Any, secured_kafka: SecuredKafka, database_name: str
) -> None:
    cert, key = secured_kafka.notifier_certificate
    env = _env(stack, secured_kafka, database_name, "notifier") | {
        "KAFKA_BOOTSTRAP_SERVERS": secured.mtls_bootstrap(secured_kafka.config),
        "KAFKA_SECURITY_PROTOCOL": "SSL",
        "KAFKA_SSL_CERT_FILE": str(cert),
        "KAFKA_SSL_KEY_FILE": str(key),
    }
    runtime = _build("notifier", env)
    await runtime.settings.check_login()
    await runtime.broker.connect()
    try:
        own = secured_kafka.prefix + topics.NOTIFICATIONS_EVENTS
        await runtime.publish_raw(own, b"{}", b"k", {})
        with pytest.raises(TopicAuthorizationFailedError):
            await runtime.publish_raw(
                secured_kafka.prefix + topics.ORDERS_COMMANDS, b"{}", b"k", {}
            )
    finally:
        await runtime.broker.stop()
        await runtime.mongo.close()


async def test_a_broker_certificate_from_an_unknown_ca_fails_the_login_at_once(
    secured_kafka: SecuredKafka,
) -> None:
    # Without KAFKA_SSL_CA_FILE the system's CAs are trusted, and devstack's CA is not one.
    untrusted = secured_kafka.admin.model_copy(update={"kafka_ssl_ca_file": ""})
    with pytest.raises(KafkaLoginError, match="certificate verify failed"):
        await untrusted.check_login()
