"""Shared fixtures: where the real servers are, and per-run names that keep runs apart.

Each server is found in this order:

1. the environment: ``KAFKA_BOOTSTRAP_SERVERS``, ``MONGODB_URI``, ``SMTP_URL``
   (``smtp://host:port``, with ``SMTP_MAILDIR`` naming the Maildir it writes to);
2. containers (testcontainers) when a Docker engine answers; the SMTP catcher then runs
   inside this process (devstack's catcher on a temporary Maildir);
3. the local stack: ``devstack.ensure_up()`` (plain processes under .cache/devstack).

``ORDERFLOW_TEST_STACK=local`` skips the Docker probe; ``=docker`` insists on Docker.
Nothing starts until a test asks for ``stack``, so unit tests run without any server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pymongo import MongoClient
from pymongo.errors import PyMongoError

import devstack
from devstack import smtp as devstack_smtp
from devstack.kafka import delete_topics_with_prefix

TESTS_DIR = Path(__file__).resolve().parent

# Tests under these folders get the marker of the same name (declared in pyproject), so
# `pytest -m "not integration and not e2e"` runs the unit tests alone.
_MARKED_FOLDERS = {
    "integration": pytest.mark.integration,
    "e2e": pytest.mark.e2e,
    "browser": pytest.mark.browser,
}

# Images used when the servers come from containers (no local stack needed).
KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.0"
MONGODB_IMAGE = "mongo:7"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration and tests/e2e with its folder's marker."""
    for item in items:
        try:
            relative = Path(item.path).resolve().relative_to(TESTS_DIR)
        except ValueError:
            continue
        marker = _MARKED_FOLDERS.get(relative.parts[0]) if len(relative.parts) > 1 else None
        if marker is not None:
            item.add_marker(marker)


def topic_prefix_for(run_id: str) -> str:
    """The prefix every topic of run ``run_id`` starts with."""
    return f"{run_id}."


def database_name_for(run_id: str) -> str:
    """The MongoDB database of run ``run_id``."""
    return f"orderflow_{run_id}"


@pytest.fixture(scope="session")
def run_id() -> str:
    """Unique per test session (``t`` + 8 hex digits): names this run's topics, database, mail."""
    return f"t{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def topic_prefix(run_id: str) -> str:
    """Prefix for every topic this run creates, so runs on a shared broker never meet."""
    return topic_prefix_for(run_id)


@pytest.fixture(scope="session")
def database_name(run_id: str) -> str:
    """The database this run uses, so runs on a shared store never see each other's data."""
    return database_name_for(run_id)


def _docker_answers() -> bool:
    """True if a Docker engine answers a ping within a few seconds."""
    try:
        # testcontainers' client finds the engine the same way the containers will.
        from testcontainers.core.docker_client import DockerClient

        client = DockerClient(timeout=3).client
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # no socket, no permission, wrong DOCKER_HOST: all mean "no Docker"
        return False


def _use_docker() -> bool:
    choice = os.environ.get("ORDERFLOW_TEST_STACK", "").strip().lower()
    if choice == "local":
        return False
    if choice == "docker":
        if not _docker_answers():
            pytest.fail("ORDERFLOW_TEST_STACK=docker but no Docker engine answers", pytrace=False)
        return True
    return _docker_answers()


class _StackResolver:
    """Finds each server per the module docstring, starting containers/processes on demand."""

    def __init__(self, resources: contextlib.ExitStack) -> None:
        self._resources = resources
        self._docker: bool | None = None
        self._local: devstack.StackEndpoints | None = None

    def _docker_ok(self) -> bool:
        if self._docker is None:
            self._docker = _use_docker()
        return self._docker

    def _local_stack(self) -> devstack.StackEndpoints:
        if self._local is None:
            try:
                self._local = devstack.ensure_up()
            except devstack.DevstackError as exc:
                pytest.fail(f"the local dev stack did not come up: {exc}", pytrace=False)
        return self._local

    def kafka(self) -> str:
        if bootstrap := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
            return bootstrap
        if self._docker_ok():
            from testcontainers.kafka import KafkaContainer

            container: Any = self._resources.enter_context(KafkaContainer(KAFKA_IMAGE).with_kraft())
            return str(container.get_bootstrap_server())
        return self._local_stack().kafka_bootstrap

    def mongodb(self) -> str:
        if uri := os.environ.get("MONGODB_URI"):
            return uri
        if self._docker_ok():
            from testcontainers.mongodb import MongoDbContainer

            container: Any = self._resources.enter_context(MongoDbContainer(MONGODB_IMAGE))
            return str(container.get_connection_url())
        return self._local_stack().mongodb_uri

    def smtp(self) -> tuple[str, int, Path]:
        if url := os.environ.get("SMTP_URL"):
            parts = urllib.parse.urlsplit(url)
            given_maildir = os.environ.get("SMTP_MAILDIR")
            if not given_maildir:
                pytest.fail(
                    f"SMTP_URL={url} is set but SMTP_MAILDIR is not: tests read sent mail from "
                    "the Maildir the SMTP server writes; set it, or unset SMTP_URL",
                    pytrace=False,
                )
            return parts.hostname or "127.0.0.1", parts.port or 25, Path(given_maildir)
        if self._docker_ok():
            # No container needed: devstack's catcher, in this process, on a temp Maildir.
            temp = Path(self._resources.enter_context(tempfile.TemporaryDirectory()))
            host, port = "127.0.0.1", devstack_smtp.free_port()
            controller = devstack_smtp.start_catcher(host, port, temp / "maildir")
            self._resources.callback(controller.stop)
            return host, port, temp / "maildir"
        local = self._local_stack()
        return local.smtp_host, local.smtp_port, local.maildir


def _drop_run_data(stack: devstack.StackEndpoints, run_id: str) -> None:
    """Delete this run's topics and database; the servers may be shared and long-lived."""
    with contextlib.suppress(PyMongoError):
        client: MongoClient[dict[str, Any]] = MongoClient(
            stack.mongodb_uri, serverSelectionTimeoutMS=3000
        )
        with client:
            # Every database the run made: its own, and the ones services derive from it
            # (the timer service keeps its wheel in `<database>_wheel`; modules add suffixes).
            for name in client.list_database_names():
                if name.startswith(database_name_for(run_id)):
                    client.drop_database(name)
    with contextlib.suppress(Exception):  # best effort: a broker stopped by a test is fine
        delete_topics_with_prefix(stack.kafka_bootstrap, topic_prefix_for(run_id))


@pytest.fixture(scope="session")
def stack(run_id: str) -> Iterator[devstack.StackEndpoints]:
    """The real servers' endpoints (Kafka, MongoDB protocol, SMTP catcher with its Maildir).

    At the end of the session this run's topics and database are dropped, unless
    ORDERFLOW_KEEP_TEST_DATA=1 (handy when a failure needs looking at).
    """
    with contextlib.ExitStack() as resources:
        resolver = _StackResolver(resources)
        smtp_host, smtp_port, maildir = resolver.smtp()
        endpoints = devstack.StackEndpoints(
            kafka_bootstrap=resolver.kafka(),
            mongodb_uri=resolver.mongodb(),
            smtp_host=smtp_host,
            smtp_port=smtp_port,
            maildir=maildir,
        )
        yield endpoints
        if not os.environ.get("ORDERFLOW_KEEP_TEST_DATA"):
            _drop_run_data(endpoints, run_id)
