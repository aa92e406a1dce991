"""The size limits agree from the broker to the service (README, "Message sizes").

service check (ORDERFLOW_MAX_MESSAGE_BYTES, 256 KiB)  larger: dead-lettered, `oversized`
  ≤ topic max.message.bytes (1 MiB)                    larger: refused at publish time
  < dead-letter topic (+64 KiB for the error headers)
  = the services' producer max_request_size
broker message.max.bytes (devstack, docker-compose) = the topic limit
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from devstack.config import StackConfig
from devstack.kafka import _server_properties
from servicekit.config import DLQ_HEADROOM_BYTES, TOPIC_MAX_MESSAGE_BYTES, ServiceSettings

ROOT = Path(__file__).resolve().parents[3]


def test_the_local_broker_takes_what_the_services_topics_take(tmp_path: Path) -> None:
    properties = _server_properties(StackConfig.from_env({"ORDERFLOW_DEVSTACK_DIR": str(tmp_path)}))
    assert f"message.max.bytes={TOPIC_MAX_MESSAGE_BYTES}" in properties.splitlines()


def test_the_compose_broker_takes_what_the_services_topics_take() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    env = compose["services"]["kafka"]["environment"]
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == TOPIC_MAX_MESSAGE_BYTES


def test_the_service_limit_is_below_the_topic_limit_and_a_dead_letter_has_room_for_its_headers() -> (
    None
):
    settings = ServiceSettings()
    assert settings.max_message_bytes < settings.topic_max_message_bytes
    assert settings.dlq_max_message_bytes == settings.topic_max_message_bytes + DLQ_HEADROOM_BYTES
    assert DLQ_HEADROOM_BYTES > 2000 + 1000, "x-dlq-error is cut at 2000 characters"


def test_a_service_limit_above_the_topic_limit_is_refused_at_startup() -> None:
    with pytest.raises(ValidationError, match="could never reach the service"):
        ServiceSettings(max_message_bytes=2_000_000)
