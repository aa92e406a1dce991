"""M-08, P-17: a link that is not genuine, is for another order or has expired gets an
HTML page saying so (4xx), never the order and never a traceback. No stack needed: a bad
link is refused before anything is read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from gateway.api import create_api
from gateway.api.context import ApiDeps
from gateway.auth import Verifier
from gateway.config import GatewaySettings
from servicekit.links import PURPOSE, REVIEW_PURPOSE, issue_token

SECRET = "unit-token-secret"
NOW = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)
ORDER = uuid.uuid4()


@pytest.fixture
def http() -> httpx.AsyncClient:
    settings = GatewaySettings.model_validate({"token_secret": SECRET, "jwt_secret": "x" * 32})
    nothing: Any = None  # a bad link never reaches the store, the bus or the waiters
    deps = ApiDeps(
        settings=settings, verifier=Verifier(settings), views=nothing, commands=nothing,
        directory=nothing, waiters=nothing, publish=nothing, clock=lambda: NOW,
    )  # fmt: skip
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_api(deps)), base_url="http://gw"
    )


PURPOSES = {"/confirm": PURPOSE, "/review": REVIEW_PURPOSE}
OTHER = {"/confirm": REVIEW_PURPOSE, "/review": PURPOSE}


def token(purpose: bytes, order: uuid.UUID = ORDER, expires: datetime = NOW + timedelta(1)) -> str:
    return issue_token(SECRET, order, "client-1", expires, purpose)


def link(page: str, case: str) -> dict[str, str]:
    genuine = token(PURPOSES[page])
    return {
        "no token": {},
        "no order": {"order": "not-a-uuid", "token": genuine},
        "tampered": {"order": str(ORDER), "token": genuine[:-3] + "abc"},
        "another order's": {"order": str(ORDER), "token": token(PURPOSES[page], uuid.uuid4())},
        "the other page's": {"order": str(ORDER), "token": token(OTHER[page])},
        "expired": {"order": str(ORDER), "token": token(PURPOSES[page], expires=NOW)},
    }[case]


@pytest.mark.parametrize(
    ("case", "status", "heading"),
    [
        ("no token", 400, "This link is not valid"),
        ("no order", 400, "This link is not valid"),
        ("tampered", 400, "This link is not valid"),
        ("another order's", 400, "This link is not valid"),
        ("the other page's", 400, "This link is not valid"),
        ("expired", 410, "This link has expired"),
    ],
)
@pytest.mark.parametrize("page", ["/confirm", "/review"])
async def test_M08_P17_a_bad_link_gets_a_page_that_says_so(
    http: httpx.AsyncClient, page: str, case: str, status: int, heading: str
) -> None:
    response = await http.get(page, params=link(page, case))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert heading in response.text
    assert "Traceback" not in response.text


async def test_M08_a_posted_form_with_a_forged_token_sends_nothing(http: httpx.AsyncClient) -> None:
    form = {"order": str(ORDER), "token": "forged.token", "decision": "confirm"}
    response = await http.post("/confirm", data=form)
    assert response.status_code == 400
    assert "This link is not valid" in response.text
