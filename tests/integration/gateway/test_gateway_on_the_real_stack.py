"""The gateway on the real stack: ordering runs as a process; the gateway runs in this
process (its projection consuming the real Kafka into the real FerretDB) and is called
over HTTP through httpx's ASGI transport.

Commands posted over HTTP get their answer from ordering's events (X-09); a retry with
the same Idempotency-Key gets the same answer and makes one effect; a party lists its
orders and reads a timeline (M-17); operators never see drafts (M-02); bad input gets a
problem document and changes nothing; a new projection group rebuilds the same views.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from contracts import topics
from contracts.envelope import Party, Role
from contracts.orders import Flow
from devstack.services import ServiceProcess
from gateway.app import wire
from gateway.auth import issue
from gateway.config import GatewaySettings
from gateway.domain import Caller
from orderflow import commands as c
from ordering.domain import TABLES
from servicekit.authority import PARTY_ROLES, Answer, Relation, answer
from servicekit.runtime import ServiceRuntime
from tests.support.authority import actor as authority_actor
from tests.support.kafka import Upstream, eventually, read_topic
from tests.support.services import service_env, start

pytestmark = pytest.mark.timeout(300)

SECRET = "integration-secret-of-at-least-32-bytes"
MEMBER = Caller(id="member-1", role="member")
OPERATOR = Caller(id="operator-1", role="operator")
MEMBER_PARTY = {"id": "member-1", "role": "member"}
CLIENT_PARTY = Party(id=c.client().id, role=Role.CLIENT)
LIMIT = 4096


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "gw."


@pytest.fixture(scope="module")
async def ordering(
    stack: Any, prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    process = await start(
        "ordering", service_env(stack, prefix, database_name), tmp_path_factory.mktemp("logs")
    )
    yield process
    process.terminate()


def settings(stack: Any, prefix: str, database: str, group: str = "") -> GatewaySettings:
    return GatewaySettings.model_validate(
        {
            "kafka_bootstrap_servers": stack.kafka_bootstrap,
            "mongodb_uri": stack.mongodb_uri,
            "topic_prefix": prefix,
            "database": database,
            "jwt_secret": SECRET,
            "max_body_bytes": LIMIT,
            "command_wait_seconds": 30,
            "projection_group": group,
            "connect_timeout_seconds": 60,
            "http_port": 0,
        }
    )


@pytest.fixture(scope="module")
async def gateway(
    stack: Any, prefix: str, database_name: str, ordering: ServiceProcess
) -> AsyncIterator[tuple[ServiceRuntime, httpx.AsyncClient]]:
    runtime, api = wire(settings(stack, prefix, database_name))
    await runtime.start()
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield runtime, client
    await runtime.stop()


@pytest.fixture
def http(gateway: tuple[ServiceRuntime, httpx.AsyncClient]) -> httpx.AsyncClient:
    return gateway[1]


def auth(caller: Caller, valid_for: timedelta = timedelta(minutes=30)) -> dict[str, str]:
    config = GatewaySettings.model_validate({"jwt_secret": SECRET})
    token = issue(config, caller, datetime.now(UTC), valid_for)
    return {"Authorization": f"Bearer {token}"}


def create_body(order_id: uuid.UUID) -> dict[str, Any]:
    """A CreateOrder as the topic takes it, without the envelope the gateway fills in."""
    return {
        "type": "CreateOrder",
        "order_id": str(order_id),
        "parties": [c.member().model_dump(mode="json"), c.client().model_dump(mode="json")],
        "terms": c.managed_terms().model_dump(mode="json"),
    }


async def post(
    http: httpx.AsyncClient, caller: Caller, body: Any, key: str | None = None, **params: Any
) -> httpx.Response:
    headers = auth(caller) | ({"Idempotency-Key": key} if key else {})
    return await http.post("/v1/commands/orders", json=body, headers=headers, params=params)


async def created(http: httpx.AsyncClient) -> uuid.UUID:
    order_id = uuid.uuid4()
    answer = (await post(http, MEMBER, create_body(order_id), key=str(order_id))).json()
    assert answer["outcome"] == "accepted"
    return order_id


async def test_X09_a_command_posted_gets_its_answer(http: httpx.AsyncClient) -> None:
    order_id = uuid.uuid4()
    response = await post(http, MEMBER, create_body(order_id), key=f"create-{order_id}")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["outcome"] == "accepted"
    assert [e["type"] for e in answer["events"]] == ["OrderCreated"]
    assert answer["key"] == str(order_id)  # the contract's Kafka key: the order id


async def test_X09_a_refused_command_gets_its_rejection_as_the_answer(
    http: httpx.AsyncClient,
) -> None:
    order_id = await created(http)
    body = {"type": "ConfirmOrder", "order_id": str(order_id)}
    answer = (await post(http, OPERATOR, body)).json()
    assert answer["outcome"] == "rejected"
    assert answer["reason"]
    assert answer["events"][0]["type"] == "OrderCommandRejected"


async def test_a_retried_request_gets_the_same_answer_and_makes_one_effect(
    http: httpx.AsyncClient, stack: Any, prefix: str
) -> None:
    order_id = uuid.uuid4()
    body = create_body(order_id)
    first = await post(http, MEMBER, body, key=f"retry-{order_id}")
    second = await post(http, MEMBER, body, key=f"retry-{order_id}")
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    other = {**body, "terms": c.managed_terms(description="another").model_dump(mode="json")}
    reused = await post(http, MEMBER, other, key=f"retry-{order_id}")
    assert reused.status_code == 409
    assert reused.json()["code"] == "idempotency_key_reused"
    # A later command of the same order (same key, same partition) marks the end.
    submit = {"type": "SubmitOrder", "order_id": str(order_id)}
    assert (await post(http, MEMBER, submit)).json()["outcome"] == "accepted"
    events = await read_topic(
        stack.kafka_bootstrap,
        prefix + topics.ORDERS_EVENTS,
        lambda records: any(
            r.key == str(order_id).encode() and r.json()["type"] == "OrderSubmitted"
            for r in records
        ),
    )
    mine = [r.json() for r in events if r.key == str(order_id).encode()]
    assert [e["type"] for e in mine] == ["OrderCreated", "OrderSubmitted"]


async def test_X07_the_authority_matrix_holds_through_the_gateway(
    http: httpx.AsyncClient,
) -> None:
    """docs/authority.md over HTTP: a managed draft's `SubmitOrder` from callers of every
    role in every relation to the order gets the matrix's answer (the allowed ones last:
    the first accepted moves the order on)."""
    order_id = await created(http)
    table, name = TABLES[Flow.MANAGED], "SubmitOrder"
    own = {Role.MEMBER: Party(id=MEMBER.id, role=Role.MEMBER), Role.CLIENT: CLIENT_PARTY}
    system = Party(id="gateway-tests", role=Role.SYSTEM)
    cases = [
        (role, relation, who, answer(table, name, role, relation))
        for relation in Relation
        for role in ((Role.SYSTEM,) if relation is Relation.SYSTEM else PARTY_ROLES)
        if (who := authority_actor(role, relation, own, system)) is not None
    ]
    cases.sort(key=lambda case: case[3] is Answer.ALLOWED)
    assert any(case[3] is Answer.ALLOWED for case in cases)
    for role, relation, who, expected in cases:
        caller = Caller(id=who.id, role=who.role.value)
        reply = (await post(http, caller, {"type": name, "order_id": str(order_id)})).json()
        refused = reply["outcome"] == "rejected" and reply["reason"] == "not_authorized"
        assert refused == (expected is Answer.NOT_AUTHORIZED), (role, relation, reply)


async def test_without_waiting_the_answer_is_read_later_at_its_url(
    http: httpx.AsyncClient,
) -> None:
    response = await post(http, MEMBER, create_body(uuid.uuid4()), wait=0)
    if response.status_code == 200:  # answered within the one look it takes: still fine
        assert response.json()["outcome"] == "accepted"
        return
    assert response.status_code == 202
    url = response.headers["location"]

    async def answered() -> dict[str, Any] | None:
        read = await http.get(url, headers=auth(MEMBER))
        return read.json() if read.status_code == 200 else None

    assert (await eventually(answered, timeout=30))["outcome"] == "accepted"
    stranger = await http.get(url, headers=auth(Caller(id="member-2", role="member")))
    assert stranger.status_code == 404


async def test_M17_a_party_lists_its_orders_by_status_and_reads_a_timeline(
    http: httpx.AsyncClient,
) -> None:
    order_id = await created(http)
    submit = {"type": "SubmitOrder", "order_id": str(order_id)}
    assert (await post(http, MEMBER, submit)).json()["outcome"] == "accepted"

    async def view() -> dict[str, Any] | None:
        read = await http.get(f"/v1/orders/{order_id}", headers=auth(MEMBER))
        body: dict[str, Any] = read.json()
        return body if body.get("status") == "operator_review" else None

    order = await eventually(view, timeout=30)
    assert [(e["type"], e["actor"]["id"]) for e in order["timeline"]] == [
        ("OrderCreated", "member-1"),
        ("OrderSubmitted", "member-1"),
    ]
    assert "operator_review" in order["deadlines"]  # M-04's due time
    assert order["consistent_with"][0]["topic"] == topics.ORDERS_EVENTS
    listed = await http.get(
        "/v1/orders", params={"status": "operator_review"}, headers=auth(MEMBER)
    )
    assert str(order_id) in [o["order_id"] for o in listed.json()["orders"]]
    queue = (await http.get("/v1/queues/review", headers=auth(OPERATOR))).json()
    mine = [r for r in queue["reviews"] if r["order_id"] == str(order_id)]
    assert mine and mine[0]["due_at"] and mine[0]["overdue"] is False


async def test_M17_pages_follow_the_cursor_without_repeating_an_order(
    http: httpx.AsyncClient,
) -> None:
    mine = {await created(http) for _ in range(3)}
    caller = Caller(id="member-1", role="member")

    async def all_listed() -> list[str] | None:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await http.get("/v1/orders", params=params, headers=auth(caller))).json()
            seen += [o["order_id"] for o in page["orders"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return seen if {str(m) for m in mine} <= set(seen) else None

    seen = await eventually(all_listed, timeout=30)
    assert len(seen) == len(set(seen))


async def test_M02_operators_never_see_a_draft(http: httpx.AsyncClient) -> None:
    order_id = await created(http)
    await eventually(lambda: _status(http, order_id, MEMBER, 200), timeout=30)  # the member sees it
    assert await _status(http, order_id, OPERATOR, 404)
    listed = (await http.get("/v1/orders", headers=auth(OPERATOR))).json()["orders"]
    assert str(order_id) not in [o["order_id"] for o in listed]


async def _status(http: httpx.AsyncClient, order_id: uuid.UUID, who: Caller, code: int) -> bool:
    return (await http.get(f"/v1/orders/{order_id}", headers=auth(who))).status_code == code


async def test_bad_input_gets_a_problem_document_and_changes_nothing(
    gateway: tuple[ServiceRuntime, httpx.AsyncClient], stack: Any, prefix: str
) -> None:
    runtime, http = gateway
    tried: list[uuid.UUID] = []

    def body(**extra: Any) -> dict[str, Any]:
        tried.append(uuid.uuid4())
        return {**create_body(uuid.uuid4()), "message_id": str(tried[-1]), **extra}

    headers = auth(MEMBER) | {"Content-Type": "application/json"}
    url = "/v1/commands/orders"
    cases = [
        (await http.post(url, content=b'{"type": "CreateOrder",', headers=headers), 400),
        (await http.post(url, json=body(colour="red"), headers=auth(MEMBER)), 422),
        (await http.post(url, json=body(description="x" * LIMIT), headers=auth(MEMBER)), 413),
        (await http.post(url, json=body()), 401),
        (await http.post(url, json=body(), headers=auth(MEMBER, timedelta(seconds=-60))), 401),
        (await http.post(url, json=body(), headers={"Authorization": "Bearer x.y.z"}), 401),
        (await post(http, Caller(id="member-2", role="member"), body(actor=MEMBER_PARTY)), 403),
        (await post(http, MEMBER, [1, 2]), 422),
        (await http.get("/v1/orders", params={"cursor": "nonsense"}, headers=auth(MEMBER)), 400),
        (await http.get("/v1/queues/review", headers=auth(MEMBER)), 403),
        (await http.get("/v1/orders", params={"limit": 0}, headers=auth(MEMBER)), 422),
        (await http.get("/v1/nowhere", headers=auth(MEMBER)), 404),
    ]
    for response, status in cases:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["status"] == status and problem["code"] and problem["type"]
    assert "colour" in json.dumps(cases[1][0].json()["errors"])
    marker = await created(http)
    sent = await read_topic(
        stack.kafka_bootstrap,
        prefix + topics.ORDERS_COMMANDS,
        lambda records: any(r.key == str(marker).encode() for r in records),
    )
    assert not {r.json()["message_id"] for r in sent} & {str(t) for t in tried}
    recorded = runtime.db["commands"].find({"_id": {"$in": [str(t) for t in tried]}})
    assert [d async for d in recorded] == []


async def test_A02_A14_A12_accounts_are_found_agents_see_their_accounts_orders_reports_count(
    http: httpx.AsyncClient, stack: Any, prefix: str
) -> None:
    account_id = f"acc-{uuid.uuid4().hex[:8]}"
    async with Upstream(stack.kafka_bootstrap, prefix) as upstream:
        await upstream.send(
            topics.ACCOUNTS_EVENTS, c.account_opened(account_id, "acme@example.com")
        )
    agent = Caller(id="agent-1", role="agent")

    async def found() -> list[dict[str, Any]]:
        response = await http.get("/v1/accounts", params={"q": account_id}, headers=auth(agent))
        accounts: list[dict[str, Any]] = response.json()["accounts"]
        return accounts

    assert [a["account_id"] for a in await eventually(found, timeout=30)] == [account_id]

    async def registered() -> bool:  # ordering's answer on accounts.answers
        return [a["status"] for a in await found()] == ["registered"]

    assert await eventually(registered, timeout=60)
    body = {
        "type": "CreateOrder",
        "parties": [c.agent().model_dump(mode="json")],
        "terms": c.account_terms(account_id).model_dump(mode="json"),
    }

    async def accepted() -> str | None:  # ordering learns of the account on its own
        order_id = str(uuid.uuid4())
        response = await http.post(
            "/v1/commands/orders", json={**body, "order_id": order_id}, headers=auth(agent)
        )
        return order_id if response.json()["outcome"] == "accepted" else None

    order_id = await eventually(accepted, timeout=60)
    place = {"type": "PlaceOrder", "order_id": order_id}
    assert (await http.post("/v1/commands/orders", json=place, headers=auth(agent))).json()[
        "outcome"
    ] == "accepted"
    colleague = Caller(id="agent-2", role="agent", accounts=(account_id,))
    stranger = Caller(id="agent-3", role="agent", accounts=("acc-other",))

    async def seen_by_colleague() -> bool:
        return await _status(http, uuid.UUID(order_id), colleague, 200)

    assert await eventually(seen_by_colleague, timeout=30)
    assert await _status(http, uuid.UUID(order_id), stranger, 404)
    approver = Caller(id="approver-1", role="approver")
    report = await http.get("/v1/reports/orders", params={"by": "flow"}, headers=auth(approver))
    rows = {(r["flow"], r["currency"]): r for r in report.json()["rows"]}
    assert rows[("account", "EUR")]["count"] >= 1
    csv = await http.get(
        "/v1/reports/orders", params={"by": "status", "format": "csv"}, headers=auth(approver)
    )
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "status,currency,count,total"
    forbidden = await http.get("/v1/reports/orders", headers=auth(agent))
    assert forbidden.status_code == 403


async def test_a_new_projection_group_rebuilds_the_same_views(
    gateway: tuple[ServiceRuntime, httpx.AsyncClient],
    stack: Any,
    prefix: str,
    database_name: str,
) -> None:
    first, http = gateway
    orders = [await created(http) for _ in range(2)]
    submit = {"type": "SubmitOrder", "order_id": str(orders[0])}
    assert (await post(http, MEMBER, submit)).json()["outcome"] == "accepted"
    runtime, _ = wire(settings(stack, prefix, database_name + "r", group="gateway-rebuild"))
    await runtime.start()
    try:
        originals = first.db["order_views"]
        rebuilt = runtime.db["order_views"]

        async def same() -> bool:
            for order_id in orders:
                a = await originals.find_one({"_id": str(order_id)})
                b = await rebuilt.find_one({"_id": str(order_id)})
                if a is None or b is None or a != b:
                    return False
            return True

        assert await eventually(same, timeout=60)
    finally:
        await runtime.stop()
