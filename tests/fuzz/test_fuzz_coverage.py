"""The fuzzers cover everything by construction: every command type in contracts/ and
every /v1 operation of the gateway has a strategy, and each strategy makes what it says.
No broker needed (these run with the unit tests)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts import topics
from contracts.channels import CHANNELS
from contracts.envelope import Command, Message
from tests.fuzz.harness import ANSWER_TOPIC
from tests.fuzz.messages import MUTATIONS, Recipe, recipe_of
from tests.fuzz.requests import OPENAPI, operations
from tests.fuzz.schemas import COMMAND_TOPICS, body_of, commands

_QUICK = settings(
    max_examples=5, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)


def test_X07_every_command_type_in_contracts_is_fuzzed() -> None:
    """Every Command subclass a channel carries, and every upstream message, has a strategy."""
    fuzzed = {cls for _, cls in commands()}
    carried = {
        cls
        for channel in CHANNELS
        for cls in channel.messages.classes.values()
        if issubclass(cls, Command) or channel.upstream
    }
    assert carried - fuzzed == set()
    assert {topics.ACCOUNTS_EVENTS, topics.TIMERS_COMMANDS} <= set(COMMAND_TOPICS)


def test_X07_every_fuzzed_topic_has_an_answer_topic_and_a_sentinel() -> None:
    from tests.fuzz.conftest import sentinel_for

    assert set(COMMAND_TOPICS) == set(ANSWER_TOPIC)
    for topic in COMMAND_TOPICS:
        sentinel = sentinel_for(topic)
        assert type(sentinel) in {cls for t, cls in commands() if t == topic}


@pytest.mark.parametrize(("topic", "cls"), commands(), ids=lambda x: getattr(x, "__name__", x))
def test_X07_each_command_strategy_makes_bodies_of_its_type(topic: str, cls: type[Message]) -> None:
    name = cls.model_fields["type"].default

    @_QUICK
    @given(body_of(topic, cls))
    def makes(body: dict[str, object]) -> None:
        assert body["type"] == name
        json.dumps(body)  # a JSON object, as sent

    makes()


@_QUICK
@given(
    st.sampled_from(MUTATIONS).flatmap(
        lambda m: recipe_of(*commands()[0]).map(
            lambda r: Recipe(r.topic, r.type, r.body, m, r.at, r.junk)
        )
    )
)
def test_X07_every_mutation_makes_a_record(recipe: Recipe) -> None:
    key, value = recipe.record()
    assert isinstance(value, bytes)
    assert key is None or isinstance(key, bytes)


def test_X07_every_gateway_operation_is_fuzzed() -> None:
    documented = {
        (method.upper(), path)
        for path, ops in OPENAPI["paths"].items()
        if path.startswith("/v1/")
        for method in ops
    }
    assert documented == {(method, path) for method, path, _ in operations()}
    assert documented, "docs/openapi.json lists no /v1 operation"
