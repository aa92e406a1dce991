"""KafkaSettings: one set of KAFKA_* variables becomes every client's security arguments."""

from __future__ import annotations

import asyncio
import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
from faststream.security import BaseSecurity, SASLScram256, SASLScram512
from pydantic import ValidationError

from devstack import kafka as devstack_kafka
from devstack import secured
from devstack.config import StackConfig
from servicekit.kafka import KafkaSettings, client_kwargs
from servicekit.metrics import OpsServer


def settings(**values: str) -> KafkaSettings:
    return KafkaSettings.model_validate(values)


def test_plaintext_is_the_default_and_adds_nothing_but_the_servers() -> None:
    assert settings().broker_security() is None
    assert settings(kafka_bootstrap_servers="k:9092").client_kwargs() == {
        "bootstrap_servers": "k:9092"
    }


def test_sasl_ssl_with_scram_gives_faststream_security_and_the_same_aiokafka_arguments() -> None:
    s = settings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="ordering",
        kafka_sasl_password="pw",
    )
    security = s.broker_security()
    assert isinstance(security, SASLScram256) and security.use_ssl
    kwargs = s.client_kwargs()
    assert kwargs["security_protocol"] == "SASL_SSL"
    assert kwargs["sasl_mechanism"] == "SCRAM-SHA-256"
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == ("ordering", "pw")
    assert isinstance(kwargs["ssl_context"], ssl.SSLContext)
    assert kwargs["ssl_context"].check_hostname


def test_sasl_plaintext_uses_no_tls_and_ssl_alone_uses_no_sasl() -> None:
    plain = settings(
        kafka_security_protocol="SASL_PLAINTEXT", kafka_sasl_username="u", kafka_sasl_password="p"
    )
    security = plain.broker_security()
    assert isinstance(security, SASLScram512) and not security.use_ssl
    assert plain.client_kwargs()["ssl_context"] is None
    tls = settings(kafka_security_protocol="SSL", kafka_ssl_check_hostname="false")
    security = tls.broker_security()
    assert type(security) is BaseSecurity and security.use_ssl
    assert "sasl_mechanism" not in tls.client_kwargs()
    assert not tls.client_kwargs()["ssl_context"].check_hostname


def test_sasl_without_a_password_is_refused_as_an_invalid_setting() -> None:
    with pytest.raises(ValidationError, match="KAFKA_SASL_PASSWORD"):
        settings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="u")


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(ValidationError, match="go together"):
        settings(kafka_security_protocol="SSL", kafka_ssl_cert_file="/c.pem")


def test_the_password_never_shows_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "ordering")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "hunter2-secret")
    s = KafkaSettings()
    assert "hunter2-secret" not in repr(s) and "hunter2-secret" not in str(s.model_dump())
    # The CLI, the bench and the tests read the same variables.
    assert client_kwargs("other:9093")["sasl_plain_password"] == "hunter2-secret"
    assert client_kwargs("other:9093")["bootstrap_servers"] == "other:9093"


async def _get(port: int, path: str) -> tuple[str, dict[str, object]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    raw = (await reader.read()).decode()
    writer.close()
    head, _, body = raw.partition("\r\n\r\n")
    return head.split("\r\n")[0], json.loads(body)


async def test_livez_answers_while_readyz_says_which_check_fails() -> None:
    async def up() -> bool:
        return True

    async def down() -> bool:
        return False

    server = OpsServer("127.0.0.1", 0, {"kafka": up, "partitions": down})
    port = await server.start()
    try:
        status, body = await _get(port, "/livez")
        assert status.endswith("200 OK") and body == {"alive": True}
        status, body = await _get(port, "/readyz")
        assert status.endswith("503 Service Unavailable")
        assert body["checks"] == {"kafka": True, "partitions": False} and body["ready"] is False
        assert (await _get(port, "/health"))[1] == body  # the old name, for old tools
    finally:
        await server.stop()


def test_a_stack_without_the_secured_listener_writes_the_plain_broker_properties(
    tmp_path: Path,
) -> None:
    plain = devstack_kafka._server_properties(StackConfig(root=tmp_path))
    assert "SASL" not in plain and "authorizer" not in plain
    assert secured.scram_arguments()[:2] == [
        "--add-scram",
        "SCRAM-SHA-256=[name=devstack,password=devstack-secret]",
    ]


def test_incomplete_security_settings_stop_a_service_with_one_line_and_no_password() -> None:
    env = {
        **os.environ,
        "KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "KAFKA_SASL_PASSWORD": "hunter2-secret",
        "ORDERFLOW_HTTP_PORT": "0",
    }
    env.pop("KAFKA_SASL_USERNAME", None)
    done = subprocess.run(
        [sys.executable, "-m", "ordering"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1 and "KAFKA_SASL_USERNAME" in lines[0]
    assert "hunter2-secret" not in done.stdout + done.stderr
