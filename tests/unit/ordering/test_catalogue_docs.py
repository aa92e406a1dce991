"""docs/configuration.md documents the catalogue format with examples ordering loads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ordering.config import DEMO_CATALOGUE, OrderingSettings, catalogue_from_json

DOC = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def block(name: str) -> Any:
    text = DOC.read_text()
    found = re.search(rf"<!-- {name}:start -->\n```json\n(.*?)```\n<!-- {name}:end -->", text, re.S)
    assert found, f"docs/configuration.md has no {name} block"
    return json.loads(found.group(1))


def test_A04_the_documented_catalogue_example_loads_with_everything_it_states(
    tmp_path: Path,
) -> None:
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(block("catalogue-example")))
    catalogue = OrderingSettings(catalogue_file=path).catalogue()
    assert catalogue.currencies == {"EUR", "USD", "GBP"}
    assert catalogue.payment_methods["sepa-debit"] == {"EUR"}
    server = catalogue.products["dedicated-server"]
    assert server.needs_approval and server.required_configurations == {"region", "os"}
    assert not catalogue.products["legacy-fax"].available
    assert catalogue.products["hosting"].available


def test_the_demo_catalogue_documented_is_the_one_ordering_uses_when_none_is_configured() -> None:
    assert catalogue_from_json(block("catalogue-demo")) == DEMO_CATALOGUE
    assert OrderingSettings().catalogue() == DEMO_CATALOGUE


def test_the_settings_point_at_a_page_that_exists() -> None:
    assert "docs/configuration.md" in (catalogue_from_json.__doc__ or "")
    assert DOC.exists()
