"""The committed AsyncAPI documents are what FastStream generates from the code now."""

from __future__ import annotations

import pytest

from servicekit import asyncapi


@pytest.mark.parametrize("service", asyncapi.SERVICES)
def test_the_committed_asyncapi_document_of_each_service_is_up_to_date(service: str) -> None:
    path = asyncapi.DOCS / f"{service}.json"
    assert path.exists(), f"missing {path}; run: make docs"
    assert path.read_text() == asyncapi.document(service), f"{path} is stale; run: make docs"


def test_every_service_built_so_far_has_a_document_listing_what_it_consumes_and_publishes() -> None:
    services = asyncapi.SERVICES
    assert "ordering" in services
    for service in services:
        document = (asyncapi.DOCS / f"{service}.json").read_text()
        assert '"action": "receive"' in document
        assert '"action": "send"' in document
