"""The gateway's HTTP API under fuzzed requests: every request of every /v1 operation, with
parameters and bodies from docs/openapi.json or junk, gets a 2xx or an RFC 9457 problem
document, never a 500, and the gateway goes on (a valid request after each batch is
answered 200, and its process still runs).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from tests.fuzz.conftest import GATEWAY_PROFILE, TIMEOUT, FuzzSystem
from tests.fuzz.requests import FORGED, LOGINS, Call, calls

pytestmark = [pytest.mark.e2e, pytest.mark.fuzz, pytest.mark.timeout(TIMEOUT)]

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
async def gateway(
    fuzz_system: FuzzSystem,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, str]]]:
    """A client of the run's gateway and a token per `LOGINS` party."""
    assert fuzz_system.launcher.gateway_url, "the gateway was not started"
    async with httpx.AsyncClient(base_url=fuzz_system.launcher.gateway_url, timeout=90) as client:
        tokens = {}
        for name, (party_id, role) in LOGINS.items():
            answer = await client.post("/v1/demo/login", json={"party_id": party_id, "role": role})
            answer.raise_for_status()
            tokens[name] = answer.json()["token"]
        yield client, {**tokens, "forged": FORGED}


async def send(client: httpx.AsyncClient, tokens: dict[str, str], call: Call) -> httpx.Response:
    headers = dict(call.headers)
    if call.token in tokens:
        headers["authorization"] = f"Bearer {tokens[call.token]}"
    if call.body is not None:
        headers["content-type"] = "application/json"
    return await client.request(
        call.method, call.path, params=call.query, headers=headers, content=call.body
    )


def fault(call: Call, response: httpx.Response, token: str | None = None) -> str | None:
    """What is wrong with `response` to `call`, or None: 2xx, or 4xx/5xx (not 500) as a
    problem document that does not repeat the caller's token."""
    kind = response.headers.get("content-type", "")
    if response.status_code == 500:
        return f"500 to {call}: {response.text[:300]}"
    if 200 <= response.status_code < 300:
        return None
    if not kind.startswith(PROBLEM):
        return f"{response.status_code} as {kind!r}, not a problem document, to {call}"
    if response.json().get("status") != response.status_code:
        return f"problem document's status differs from {response.status_code} for {call}"
    if token and token in response.text:
        return f"the problem document repeats the caller's token, to {call}"
    return None


@GATEWAY_PROFILE
@given(batch=st.lists(calls(), min_size=1, max_size=8))
async def test_X07_every_fuzzed_request_gets_2xx_or_a_problem_document_never_500(
    fuzz_system: FuzzSystem,
    gateway: tuple[httpx.AsyncClient, dict[str, str]],
    batch: list[Call],
) -> None:
    client, tokens = gateway
    faults = []
    for call in batch:
        response = await send(client, tokens, call)
        event(f"{call.method} {call.template}: {response.status_code}")
        if (found := fault(call, response, tokens.get(call.token))) is not None:
            faults.append(found)
    assert not faults, "\n".join(faults)
    after = await client.get(
        "/v1/orders", headers={"authorization": f"Bearer {tokens['operator']}"}
    )
    assert after.status_code == 200, after.text
    assert not fuzz_system.crashed(), f"services down: {fuzz_system.crashed()}"
