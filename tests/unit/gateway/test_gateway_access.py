"""Who is calling (bearer tokens) and what they may see and send (M-02, M-19, A-14)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from contracts.envelope import Party, Role
from contracts.orders import OrderParty, SubmitOrder
from gateway.auth import TokenError, Verifier, issue
from gateway.config import GatewaySettings
from gateway.domain import UPSTREAM, Caller, OrderView, may_see, may_send

#: Tokens are made when the module is collected and checked against the real clock when
#: their test runs, which in the whole suite is many minutes later: they last a day.
NOW = datetime.now(UTC)
SECRET = "a-test-secret-of-at-least-32-bytes!!"
HS = GatewaySettings.model_validate({"jwt_secret": SECRET})


def token(claims: dict[str, object], key: str = SECRET, algorithm: str = "HS256") -> str:
    base: dict[str, object] = {
        "sub": "m-1",
        "role": "member",
        "aud": "orderflow",
        "exp": int((NOW + timedelta(days=1)).timestamp()),
    }
    return "Bearer " + jwt.encode({**base, **claims}, key, algorithm=algorithm)


def test_a_valid_token_names_the_caller() -> None:
    assert Verifier(HS).caller(token({})) == Caller(id="m-1", role="member")


def test_issued_tokens_verify() -> None:
    agent = Caller(id="ag-1", role="agent", accounts=("acc-1",))
    assert Verifier(HS).caller("Bearer " + issue(HS, agent, datetime.now(UTC))) == agent


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (None, "required"),
        ("Basic abc", "required"),
        (token({"exp": int((NOW - timedelta(minutes=1)).timestamp())}), "expired"),
        (token({}, key="another-secret-of-at-least-32-bytes!"), "not valid"),
        (token({"aud": "someone-else"}), "not valid"),
        (token({"role": "emperor"}), "no known role"),
        (token({"accounts": "acc-1"}), "accounts"),
        ("Bearer " + jwt.encode({"sub": "m-1", "role": "member"}, SECRET), "not valid"),
        ("Bearer " + jwt.encode({"sub": "m-1", "role": "member"}, "", algorithm="none"), "valid"),
        ("Bearer not.a.jwt", "not valid"),
    ],
)
def test_bad_tokens_are_refused(header: str | None, why: str) -> None:
    with pytest.raises(TokenError, match=why):
        Verifier(HS).caller(header)


def test_without_a_secret_no_token_is_accepted() -> None:
    with pytest.raises(TokenError, match="no key"):
        Verifier(GatewaySettings()).caller(token({}))


def test_RS256_accepts_any_configured_public_key_and_nothing_else() -> None:
    keys = [rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(3)]
    pems = [
        k.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
        for k in keys
    ]
    settings = GatewaySettings(jwt_algorithm="RS256", jwt_public_keys="\n".join(pems[:2]))
    verifier = Verifier(settings)
    assert verifier.caller(token({}, key=keys[1], algorithm="RS256")).id == "m-1"  # type: ignore[arg-type]
    with pytest.raises(TokenError):
        verifier.caller(token({}, key=keys[2], algorithm="RS256"))  # type: ignore[arg-type]
    with pytest.raises(TokenError):  # an HS256 token signed with a public key as secret
        verifier.caller(token({}, key=pems[0][:40], algorithm="HS256"))


def view(status: str, flow: str = "managed", account: str | None = None) -> OrderView:
    return OrderView(
        order_id=uuid.uuid4(),
        flow=flow,
        status=status,
        account_id=account,
        parties=[
            OrderParty(id="m-1", role=Role.MEMBER if flow == "managed" else Role.AGENT),
            OrderParty(id="c-1", role=Role.CLIENT),
        ],
    )


def test_M02_M19_operators_never_see_drafts_or_discarded_drafts() -> None:
    operator = Caller(id="op-1", role="operator")
    assert not may_see(operator, view("draft"))
    assert not may_see(operator, view("discarded"))
    assert may_see(operator, view("operator_review"))


def test_M19_a_draft_is_its_members_alone() -> None:
    assert may_see(Caller(id="m-1", role="member"), view("discarded"))
    assert not may_see(Caller(id="c-1", role="client"), view("draft"))


def test_M17_a_party_sees_its_own_orders_only() -> None:
    assert may_see(Caller(id="c-1", role="client"), view("active"))
    assert not may_see(Caller(id="c-2", role="client"), view("active"))
    assert not may_see(Caller(id="op-1", role="operator"), view("active", flow="postpaid"))


def test_A14_an_agent_sees_every_order_of_its_accounts() -> None:
    order = view("completed", flow="account", account="acc-1")
    assert may_see(Caller(id="ag-2", role="agent", accounts=("acc-1",)), order)
    assert not may_see(Caller(id="ag-2", role="agent", accounts=("acc-9",)), order)
    assert may_see(Caller(id="ap-1", role="approver"), order)


def test_a_commands_actor_must_be_the_caller_unless_upstream() -> None:
    command = SubmitOrder(
        message_id=uuid.uuid4(),
        occurred_at=NOW,
        correlation_id=uuid.uuid4(),
        actor=Party(id="m-1", role=Role.MEMBER),
        order_id=uuid.uuid4(),
    )
    assert may_send(Caller(id="m-1", role="member"), command)
    assert not may_send(Caller(id="m-2", role="member"), command)
    assert not may_send(Caller(id="m-1", role="operator"), command)
    assert may_send(Caller(id="shop", role=UPSTREAM), command)
