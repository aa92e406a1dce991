"""Kafka as the chaos run's downstream sees it, through broker restarts.

Watcher           follows the event topics for the scenarios' drivers, reconnecting
GatewayClient     the gateway's HTTP API, retrying a command with its Idempotency-Key

Upstream (with `retry_for`: it keeps trying while the broker is away) and `read_topics`
(every record up to the topics' current end, for the checks) are `orderflow.kafka`'s,
which the CLI, the bench and the tests use too.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from contracts import topics
from orderflow.kafka import Follower, Record

#: The topics the drivers watch: every event topic downstream reads.
EVENT_TOPICS = (
    topics.ORDERS_EVENTS,
    topics.INVOICING_EVENTS,
    topics.PAYMENTS_EVENTS,
    topics.NOTIFICATIONS_EVENTS,
)


class Watcher:
    """Every distinct event (by message id) of the event topics, by Kafka key."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self._seen: dict[str, dict[str, tuple[str, dict[str, Any]]]] = defaultdict(dict)
        # The broker went away: read again from the start (the events are kept by id).
        self.follower = Follower(bootstrap, EVENT_TOPICS, self._take, prefix, reconnect=True)

    async def __aenter__(self) -> Watcher:
        await self.follower.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.follower.__aexit__()

    def total(self) -> int:
        """How many distinct events it has seen so far."""
        return sum(len(seen) for seen in self._seen.values())

    def events(self, key: object, topic: str | None = None) -> list[dict[str, Any]]:
        """The distinct events about `key` (an order or account id), in arrival order."""
        found = list(self._seen.get(str(key), {}).values())
        return [body for t, body in found if topic is None or t == topic]

    async def first(self, key: object, *types: str, timeout: float) -> dict[str, Any]:
        """The first event of `types` about `key`, once there is one."""
        return (await self.matching(key, lambda e: e.get("type") in types, timeout, str(types)))[0]

    async def matching(
        self, key: object, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str
    ) -> list[dict[str, Any]]:
        try:
            return await self.follower.wait(
                lambda: [e for e in self.events(key) if wanted(e)], timeout
            )
        except TimeoutError:
            seen = [e.get("type") for e in self.events(key)]
            raise TimeoutError(f"no {what} for {key} within {timeout:.0f}s; saw {seen}") from None

    def _take(self, records: list[Record]) -> None:
        for record in records:
            try:
                body = json.loads(record.value or b"")
            except ValueError:
                continue
            if isinstance(body, dict) and record.key is not None:
                by_id = self._seen[record.key.decode()]
                by_id.setdefault(str(body.get("message_id")), (record.topic, body))


class GatewayClient:
    """A client of the gateway's HTTP API that retries a command with the same
    Idempotency-Key until it has its answer: through a killed gateway (connection
    refused or cut), a 5xx, or a 202 (not answered yet). Any other 4xx is a failure."""

    def __init__(self, url: str, token: Callable[[str, str], str], timeout: float) -> None:
        self.url, self.token, self.timeout = url, token, timeout
        #: set when a request has been sent (the gateway fault waits for it to kill)
        self.in_flight = asyncio.Event()
        #: requests sent again after a failure, in all
        self.retries = 0

    async def send(self, caller: tuple[str, str], body: dict[str, Any], key: str) -> dict[str, Any]:
        """POST /v1/commands/orders as `caller` (party id, role) until answered."""
        import httpx  # only the gateway fault needs it

        headers = {
            "Authorization": f"Bearer {self.token(*caller)}",
            "Idempotency-Key": key,
        }
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        async with httpx.AsyncClient(base_url=self.url, timeout=30.0) as http:
            while True:
                problem = ""
                try:
                    sending = http.post(
                        "/v1/commands/orders", json=body, headers=headers, params={"wait": 10}
                    )
                    self.in_flight.set()
                    response = await sending
                    if response.status_code == 200:
                        answer: dict[str, Any] = response.json()
                        return answer
                    if response.status_code != 202 and response.status_code < 500:
                        raise RuntimeError(f"gateway answered {response.status_code}: {response.text[:300]}")  # fmt: skip
                    problem = f"HTTP {response.status_code}"
                except httpx.TransportError as error:
                    problem = type(error).__name__
                if loop.time() > deadline:
                    raise TimeoutError(f"no answer from the gateway for {key}: {problem}")
                self.retries += 1
                await asyncio.sleep(0.5)
