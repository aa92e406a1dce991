"""devstack's opt-in secured listeners: settings and broker properties (no broker needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack import kafka, secured
from devstack.config import DevstackError, StackConfig


def test_the_secured_ports_are_read_from_the_environment_and_off_by_default(
    tmp_path: Path,
) -> None:
    assert StackConfig.from_env({"ORDERFLOW_DEVSTACK_DIR": str(tmp_path)}).kafka_sasl_port is None
    config = StackConfig.from_env(
        {
            "ORDERFLOW_DEVSTACK_DIR": str(tmp_path),
            "ORDERFLOW_DEVSTACK_KAFKA_SASL_PORT": "19094",
            "ORDERFLOW_DEVSTACK_KAFKA_MTLS_PORT": "19095",
        }
    )
    assert (config.kafka_sasl_port, config.kafka_mtls_port) == (19094, 19095)
    assert kafka.ports(config) == {"port": 9092, "controller": 9093, "sasl": 19094, "mtls": 19095}


def test_a_mutual_tls_listener_needs_the_secured_one(tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match="KAFKA_SASL_PORT"):
        StackConfig.from_env(
            {"ORDERFLOW_DEVSTACK_DIR": str(tmp_path), "ORDERFLOW_DEVSTACK_KAFKA_MTLS_PORT": "19095"}
        )


def test_a_secured_port_may_not_clash_with_another(tmp_path: Path) -> None:
    with pytest.raises(DevstackError, match="must all differ"):
        StackConfig.from_env(
            {"ORDERFLOW_DEVSTACK_DIR": str(tmp_path), "ORDERFLOW_DEVSTACK_KAFKA_SASL_PORT": "9092"}
        )


def test_the_client_env_logs_in_as_the_user_over_sasl_ssl_trusting_the_stacks_ca(
    tmp_path: Path,
) -> None:
    config = StackConfig(root=tmp_path, kafka_sasl_port=19094)
    env = secured.client_env(config, "payments")
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:19094"
    assert (env["KAFKA_SECURITY_PROTOCOL"], env["KAFKA_SASL_USERNAME"]) == ("SASL_SSL", "payments")
    assert env["KAFKA_SSL_CA_FILE"] == str(tmp_path / "kafka" / "tls" / "ca.pem")


def test_acl_rules_are_written_one_a_line_for_the_java_admin_client() -> None:
    rule = secured.Acl("User:ordering", "TOPIC", "p.orders.events", "WRITE")
    assert rule.line() == "User:ordering\tTOPIC\tLITERAL\tp.orders.events\tWRITE"
