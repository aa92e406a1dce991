"""The Helm chart in deploy/helm/orderflow, checked by helm itself and read back as YAML:
`helm lint`, then `helm template` with different values and assertions over the objects."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from tests.unit.deploy.deploy_tools import CHART, run, tool

SERVICES = ("invoicing", "notifier", "ordering", "payments", "timers")


@pytest.fixture(scope="module")
def helm() -> str:
    return tool("helm", "make deploy-tools (builds it from the Go module proxy)")


def render(helm: str, *settings: str) -> list[dict[str, Any]]:
    args = [helm, "template", "demo", str(CHART)]
    for setting in settings:
        args += ["--set", setting]
    result = run(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of one kind, by the service they belong to."""
    return {d["metadata"]["labels"]["app.kubernetes.io/name"]: d for d in docs if d["kind"] == kind}


def env_values(docs: list[dict[str, Any]]) -> Iterator[str]:
    for config in of_kind(docs, "ConfigMap").values():
        yield from (str(v) for v in config["data"].values())


def test_helm_lint_passes(helm: str) -> None:
    result = run(helm, "lint", "--strict", str(CHART))
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_service_has_a_deployment_service_configmap_secret_and_pdb(helm: str) -> None:
    docs = render(helm)
    for kind in ("Deployment", "Service", "ConfigMap", "Secret", "PodDisruptionBudget"):
        assert sorted(of_kind(docs, kind)) == list(SERVICES), kind
    assert not of_kind(docs, "ServiceMonitor")


def test_replicas_are_set_per_service(helm: str) -> None:
    docs = render(helm, "services.ordering.replicas=6", "services.timers.replicas=1")
    deployments = of_kind(docs, "Deployment")
    assert deployments["ordering"]["spec"]["replicas"] == 6
    assert deployments["timers"]["spec"]["replicas"] == 1
    assert deployments["payments"]["spec"]["replicas"] == 2


def test_probes_ask_livez_and_readyz_on_the_ops_port(helm: str) -> None:
    for name, deployment in of_kind(render(helm), "Deployment").items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}, name
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        assert container["resources"]["requests"]["cpu"]
        assert container["command"] == ["python", "-m", name]


def test_the_ops_endpoints_listen_on_every_address_of_the_pod(helm: str) -> None:
    for name, config in of_kind(render(helm), "ConfigMap").items():
        assert config["data"]["ORDERFLOW_HTTP_HOST"] == "0.0.0.0", name
        assert config["data"]["ORDERFLOW_HTTP_PORT"] == "8080"


def test_secrets_go_to_the_secret_and_never_to_the_configmap(helm: str) -> None:
    docs = render(
        helm,
        "secrets.MONGODB_URI=mongodb://orderflow:s3cret-pw@db/?replicaSet=rs0",
        "services.notifier.secrets.ORDERFLOW_SMTP_PASSWORD=smtp-pw-42",
        "services.ordering.secrets.KAFKA_SASL_PASSWORD=kafka-pw-7",
    )
    assert not [v for v in env_values(docs) if "s3cret-pw" in v or "-pw-" in v]
    secrets = of_kind(docs, "Secret")

    def decoded(service: str) -> dict[str, str]:
        data = secrets[service]["data"] or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    assert decoded("notifier")["ORDERFLOW_SMTP_PASSWORD"] == "smtp-pw-42"
    assert "ORDERFLOW_SMTP_PASSWORD" not in decoded("ordering")  # each service its own
    assert decoded("ordering")["KAFKA_SASL_PASSWORD"] == "kafka-pw-7"
    assert decoded("payments")["MONGODB_URI"].startswith("mongodb://orderflow:")
    for name, deployment in of_kind(docs, "Deployment").items():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        refs = {next(iter(r)): next(iter(r.values()))["name"] for r in container["envFrom"]}
        assert refs == {"configMapRef": f"demo-{name}", "secretRef": f"demo-{name}"}


def test_a_password_put_in_config_is_refused(helm: str) -> None:
    result = run(helm, "template", "demo", str(CHART), "--set", "config.KAFKA_SASL_PASSWORD=x")
    assert result.returncode != 0
    assert "KAFKA_SASL_PASSWORD belongs in `secrets`" in result.stderr


def test_an_existing_secret_replaces_the_chart_s_own(helm: str) -> None:
    docs = render(helm, "secrets.existingSecret=orderflow-prod")
    assert not of_kind(docs, "Secret")
    for deployment in of_kind(docs, "Deployment").values():
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert {"secretRef": {"name": "orderflow-prod"}} in container["envFrom"]


def test_the_service_monitor_is_rendered_only_when_asked(helm: str) -> None:
    docs = render(helm, "serviceMonitor.enabled=true", "serviceMonitor.labels.release=kps")
    [monitor] = [d for d in docs if d["kind"] == "ServiceMonitor"]
    assert monitor["metadata"]["labels"]["release"] == "kps"
    assert monitor["spec"]["endpoints"] == [{"port": "http", "path": "/metrics", "interval": "30s"}]
    selected = monitor["spec"]["selector"]["matchLabels"]
    for service in of_kind(docs, "Service").values():
        assert selected.items() <= service["metadata"]["labels"].items()


def test_tracing_is_off_unless_an_endpoint_is_given(helm: str) -> None:
    assert not [v for v in env_values(render(helm)) if "otlp" in v.lower()]
    docs = render(helm, "tracing.otlpEndpoint=http://otel-collector:4318")
    for config in of_kind(docs, "ConfigMap").values():
        assert config["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"


def test_a_service_can_be_left_out_and_its_pdb_too(helm: str) -> None:
    docs = render(helm, "services.timers.enabled=false", "services.notifier.pdb.enabled=false")
    assert "timers" not in of_kind(docs, "Deployment")
    assert "notifier" not in of_kind(docs, "PodDisruptionBudget")
    assert of_kind(docs, "PodDisruptionBudget")["ordering"]["spec"]["maxUnavailable"] == 1


def test_certificate_files_can_be_mounted_from_a_secret(helm: str) -> None:
    docs = render(
        helm,
        "extraVolumes[0].name=kafka-tls",
        "extraVolumes[0].secret.secretName=orderflow-kafka-tls",
        "extraVolumeMounts[0].name=kafka-tls",
        "extraVolumeMounts[0].mountPath=/etc/orderflow/kafka",
        "config.KAFKA_SSL_CA_FILE=/etc/orderflow/kafka/ca.pem",
    )
    for deployment in of_kind(docs, "Deployment").values():
        pod = deployment["spec"]["template"]["spec"]
        assert {"name": "kafka-tls", "secret": {"secretName": "orderflow-kafka-tls"}} in pod[
            "volumes"
        ]
        [container] = pod["containers"]
        assert {"name": "kafka-tls", "mountPath": "/etc/orderflow/kafka"} in container[
            "volumeMounts"
        ]
