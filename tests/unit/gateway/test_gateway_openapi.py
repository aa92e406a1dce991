"""docs/openapi.json is what the gateway's routes generate (run `make docs` after a change)."""

from __future__ import annotations

import json

from gateway.docs import OPENAPI, document


def test_the_committed_openapi_document_is_fresh() -> None:
    assert OPENAPI.read_text() == document(), "docs/openapi.json is stale: run make docs"


def test_every_command_service_takes_its_contracts_commands_as_the_body() -> None:
    spec = json.loads(document())
    body = spec["paths"]["/v1/commands/{service}"]["post"]["requestBody"]
    refs = [s["$ref"] for s in body["content"]["application/json"]["schema"]["oneOf"]]
    assert [r.rsplit("/", 1)[-1] for r in refs] == [
        "InvoicingCommand", "OrdersCommand", "PaymentsCommand", "SuppliersCommand",
    ]  # fmt: skip
    assert "CreateOrder" in spec["components"]["schemas"]
