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


class Admin:
    """Stands in for aiokafka's admin client: keeps how it was built and what it was asked."""

    def __init__(self, fail: bool = False) -> None:
        self.built: list[dict[str, Any]] = []
        self.created: list[Any] = []
        self.fail = fail

    def __call__(self, **kwargs: Any) -> Admin:
        self.built.append(kwargs)
        return self

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def create_topics(self, topics: list[Any]) -> None:
        self.created += topics

    async def delete_topics(self, names: list[str]) -> None:
        if self.fail:
            raise ConnectionError("broker away")


async def test_topics_are_created_with_the_security_partitions_and_configs_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    admin = Admin()
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", admin)
    limit = {"max.message.bytes": "20000"}
    await kafka.create_topics("broker:9093", ["run.a", "run.b"], 3, limit, security=SASL)
    [kwargs] = admin.built
    assert kwargs["sasl_plain_username"] == "upstream"
    assert [(t.name, t.num_partitions, t.topic_configs) for t in admin.created] == [
        ("run.a", 3, limit),
        ("run.b", 3, limit),
    ]


async def test_deleting_topics_is_best_effort(monkeypatch: pytest.MonkeyPatch) -> None:
    admin = Admin(fail=True)
    monkeypatch.setattr(kafka, "AIOKafkaAdminClient", admin)
    await kafka.delete_topics("broker:9093", ["run.a"])  # cleaning up: no error raised
    assert len(admin.built) == 1
