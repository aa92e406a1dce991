"""Every Kafka client of `orderflow.kafka` (CLI, bench, chaos harness, tests) connects with
the same security settings: the KAFKA_* variables, or the `security` a caller passes."""

from __future__ import annotations

from typing import Any

import pytest

from orderflow import kafka
from servicekit.kafka import KafkaSettings

SASL = KafkaSettings(
    kafka_security_protocol="SASL_PLAINTEXT",
    kafka_sasl_mechanism="PLAIN",
    kafka_sasl_username="upstream",
    kafka_sasl_password="secret",  # type: ignore[arg-type]
)


class Recorder:
    """Stands in for an aiokafka client class: keeps the keyword arguments it was built with."""

    def __init__(self) -> None:
        self.built: list[dict[str, Any]] = []

    def __call__(self, *topics: str, **kwargs: Any) -> Recorder:
        self.built.append(kwargs)
        return self


@pytest.fixture
def clients(monkeypatch: pytest.MonkeyPatch) -> dict[str, Recorder]:
    recorders = {"producer": Recorder(), "consumer": Recorder()}
    monkeypatch.setattr(kafka, "AIOKafkaProducer", recorders["producer"])
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", recorders["consumer"])
    return recorders


def test_producers_and_followers_carry_the_security_they_are_given(
    clients: dict[str, Recorder],
) -> None:
    kafka.producer("broker:9093", SASL)
    kafka.Upstream("broker:9093", "run.", SASL, retry_for=5.0)
    kafka.follower("broker:9093", "run.orders.events", security=SASL)
    built = clients["producer"].built + clients["consumer"].built
    assert len(built) == 3
    for kwargs in built:
        assert kwargs["bootstrap_servers"] == "broker:9093"
        assert (kwargs["security_protocol"], kwargs["sasl_mechanism"]) == (
            "SASL_PLAINTEXT",
            "PLAIN",
        )
        assert kwargs["sasl_plain_username"] == "upstream"
    assert all(kwargs["enable_idempotence"] for kwargs in clients["producer"].built)


def test_without_settings_the_environment_decides(
    clients: dict[str, Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
    monkeypatch.setenv("KAFKA_SASL_MECHANISM", "PLAIN")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "from-env")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "secret")
    kafka.producer("broker:9093")
    [kwargs] = clients["producer"].built
    assert (kwargs["security_protocol"], kwargs["sasl_plain_username"]) == (
        "SASL_PLAINTEXT",
        "from-env",
    )
