"""docker-compose.yml declares every service with its endpoints and waits for healthy servers.

No Docker needed: the file is parsed as YAML and checked against what the services read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("ordering", "invoicing", "payments", "notifier", "timers", "gateway")
SERVERS = ("kafka", "mongodb", "mailpit")


def _compose() -> dict[str, Any]:
    loaded = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _service(name: str) -> dict[str, Any]:
    service = _compose()["services"][name]
    assert isinstance(service, dict)
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    # Compose accepts a mapping or a list of KEY=VALUE strings.
    raw = service.get("environment", {})
    if isinstance(raw, list):
        return dict(item.split("=", 1) for item in raw)
    return {str(k): str(v) for k, v in raw.items()}


def test_compose_declares_the_three_servers_and_the_six_services() -> None:
    assert set(_compose()["services"]) == {*SERVERS, *SERVICES}


def test_servers_use_the_pinned_images() -> None:
    assert _service("kafka")["image"] == "apache/kafka:4.1.1"
    assert _service("mongodb")["image"] == "mongo:7"
    assert _service("mailpit")["image"].startswith("axllent/mailpit:")


@pytest.mark.parametrize("server", SERVERS)
def test_every_server_has_a_healthcheck(server: str) -> None:
    healthcheck = _service(server)["healthcheck"]
    assert healthcheck["test"]
    assert healthcheck.get("retries", 0) > 0


def test_kafka_runs_as_a_single_kraft_node() -> None:
    env = _environment(_service("kafka"))
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] == "CONTROLLER"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_mailpit_exposes_smtp_and_its_web_ui() -> None:
    assert {"1025:1025", "8025:8025"} <= set(_service("mailpit")["ports"])


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_built_from_the_shared_dockerfile_for_its_own_package(name: str) -> None:
    service = _service(name)
    build = service["build"]
    assert build["context"] == "."
    assert build["dockerfile"] == "docker/Dockerfile"
    assert build["args"]["SERVICE"] == name
    assert service["command"] == ["python", "-m", name]
    assert (REPO / "services" / name / name / "__init__.py").is_file()


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_gets_kafka_mongodb_and_an_http_port_from_its_environment(name: str) -> None:
    env = _environment(_service(name))
    assert {"KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "ORDERFLOW_HTTP_PORT"} <= set(env)
    assert env["MONGODB_URI"].startswith("mongodb://mongodb:")
    assert int(env["ORDERFLOW_HTTP_PORT"]) > 0


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_reaches_kafka_on_a_listener_kafka_advertises_on_the_network(
    name: str,
) -> None:
    advertised = _environment(_service("kafka"))["KAFKA_ADVERTISED_LISTENERS"]
    addresses = {listener.split("://", 1)[1] for listener in advertised.split(",")}
    assert _environment(_service(name))["KAFKA_BOOTSTRAP_SERVERS"] in addresses


def test_only_the_notifier_gets_the_smtp_url_and_it_points_at_mailpit() -> None:
    for name in SERVICES:
        env = _environment(_service(name))
        if name == "notifier":
            assert env["SMTP_URL"] == "smtp://mailpit:1025"
        else:
            assert "SMTP_URL" not in env


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_waits_for_healthy_kafka_and_mongodb(name: str) -> None:
    depends_on = _service(name)["depends_on"]
    assert depends_on["kafka"] == {"condition": "service_healthy"}
    assert depends_on["mongodb"] == {"condition": "service_healthy"}
    for server in depends_on:
        assert "healthcheck" in _service(server), f"{name} waits on {server}, which has none"


def test_the_notifier_also_waits_for_a_healthy_mailpit() -> None:
    assert _service("notifier")["depends_on"]["mailpit"] == {"condition": "service_healthy"}


def test_services_publish_distinct_host_ports() -> None:
    published = [p.split(":")[0] for name in SERVICES for p in _service(name)["ports"]]
    assert len(published) == len(set(published))


def test_the_dockerfile_takes_the_service_as_a_build_argument() -> None:
    dockerfile = (REPO / "docker" / "Dockerfile").read_text(encoding="utf-8")
    assert "ARG SERVICE" in dockerfile
    assert "uv sync --frozen" in dockerfile


@pytest.mark.parametrize("name", SERVICES)
def test_each_service_is_healthy_when_its_readyz_answers_on_its_container_port(name: str) -> None:
    service = _service(name)
    env = _environment(service)
    assert env["ORDERFLOW_HTTP_HOST"] == "0.0.0.0"  # else nothing outside the container reaches it
    check = " ".join(service["healthcheck"]["test"])
    assert f"http://127.0.0.1:{env['ORDERFLOW_HTTP_PORT']}/readyz" in check
