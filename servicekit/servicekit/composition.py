"""One shape for every service's composition root (`<service>/app.py`), its wiring as data.

    build(settings) ─▶ settings_as(XSettings, settings)   the service's own settings class
                    ─▶ ServiceRuntime(NAME, config)
                    ─▶ handlers.Deps(...), on_start, background
                    ─▶ wire(runtime, deps, OUTPUTS, INPUTS)
                           OUTPUTS: Output(topic, description) ─▶ runtime.output
                           INPUTS:  Input(topic, handler)      ─▶ runtime.subscriber

What a topic carries is said once, in `contracts.channels`. The AsyncAPI documents stay
generated from `runtime.output` and `runtime.subscriber`: the topic's union is each
handler's parameter type, as FastStream reads it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contracts.channels import BY_TOPIC
from contracts.envelope import Message
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
    """A topic the service publishes to, and what its AsyncAPI document says of it."""

    topic: str
    description: str


@dataclass(frozen=True)
class Input(Generic[D]):
    """A topic the service reads, and the handler `(message, deps)` of its messages."""

    topic: str
    handle: Callable[[Any, D], Awaitable[object]]
    #: X-13 (command topics): the rejection that answers a command whose content does not
    #: read (servicekit/invalid.py). It goes to the event topic of the same name
    #: (`orders.commands` → `orders.events`), which the service must declare an output.
    invalid: Callable[[InvalidCommand], Message] | None = None


def wire(
    runtime: ServiceRuntime, deps: D, outputs: Sequence[Output], inputs: Sequence[Input[D]]
) -> ServiceRuntime:
    """Declare every output, then subscribe every input's handler with `deps`."""
    for output in outputs:
        runtime.output(output.topic, BY_TOPIC[output.topic].messages.annotation, output.description)
    for route in inputs:
        _subscribe(runtime, route, deps)
    return runtime


def _subscribe(runtime: ServiceRuntime, route: Input[D], deps: D) -> None:
    async def handle(message: Any) -> None:
        await route.handle(message, deps)

    messages = BY_TOPIC[route.topic].messages
    # The topic's discriminated union: FastStream parses each message by it, and
    # documents every message type of the topic.
    handle.__annotations__["message"] = messages.annotation
    invalid = None
    if route.invalid is not None:
        answers_on = route.topic.removesuffix(".commands") + ".events"
        invalid = InvalidCommands(answers_on, messages, route.invalid)
    runtime.subscriber(route.topic, invalid=invalid)(handle)
