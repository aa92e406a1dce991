"""One shape for every service's composition root (`<service>/app.py`), its wiring as data.

    build(settings) ─▶ settings_as(XSettings, settings)   the service's own settings class
                    ─▶ ServiceRuntime(NAME, config)
                    ─▶ handlers.Deps(...), on_start, background
                    ─▶ wire(runtime, deps, OUTPUTS, INPUTS)
                           OUTPUTS: Output(topic, contract, description) ─▶ runtime.output
                           INPUTS:  Input(topic, contract, handler)      ─▶ runtime.subscriber

The AsyncAPI documents stay generated from `runtime.output` and `runtime.subscriber`: the
contract's union is each handler's parameter type, as FastStream reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contracts.envelope import Message, MessageUnion
from servicekit.config import ServiceSettings
from servicekit.invalid import InvalidCommand, InvalidCommands
from servicekit.runtime import ServiceRuntime

S = TypeVar("S", bound=ServiceSettings)
D = TypeVar("D")


def settings_as(cls: type[S], settings: ServiceSettings | None) -> S:
    """`settings` as the service's own class; the environment's when None. Tests and the
    docs hand the shared `ServiceSettings`: the service's own fields keep their defaults."""
    if isinstance(settings, cls):
        return settings
    return cls(**(settings.model_dump() if settings else {}))


@dataclass(frozen=True)
class Output:
    """A topic the service publishes to: its contract, and what the AsyncAPI says of it."""

    topic: str
    messages: MessageUnion[Any]
    description: str


@dataclass(frozen=True)
class Input(Generic[D]):
    """A topic the service reads, and the handler `(message, deps)` of its messages."""

    topic: str
    messages: MessageUnion[Any]
    handle: Callable[[Any, D], Awaitable[object]]
    #: X-13 (command topics): the rejection that answers a command whose content does
    #: not read, and the event topic it goes to (servicekit/invalid.py).
    invalid: Callable[[InvalidCommand], Message] | None = None
    answers_on: str = ""


def wire(
    runtime: ServiceRuntime, deps: D, outputs: Sequence[Output], inputs: Sequence[Input[D]]
) -> ServiceRuntime:
    """Declare every output, then subscribe every input's handler with `deps`."""
    for output in outputs:
        runtime.output(output.topic, output.messages.annotation, output.description)
    for route in inputs:
        _subscribe(runtime, route, deps)
    return runtime


def _subscribe(runtime: ServiceRuntime, route: Input[D], deps: D) -> None:
    async def handle(message: Any) -> None:
        await route.handle(message, deps)

    # The topic's discriminated union: FastStream parses each message by it, and
    # documents every message type of the topic.
    handle.__annotations__["message"] = route.messages.annotation
    invalid = (
        InvalidCommands(route.answers_on, route.messages, route.invalid) if route.invalid else None
    )
    runtime.subscriber(route.topic, invalid=invalid)(handle)
