"""The README's generated tables say what the code says."""

from __future__ import annotations

from servicekit import readme


def test_the_configuration_table_in_the_readme_is_generated_from_the_settings() -> None:
    current = readme.README.read_text()
    assert readme.render(current) == current, "README.md is stale; run: make docs"


def test_the_configuration_table_names_the_shared_and_the_rule_settings() -> None:
    table = readme.configuration_table()
    for variable in ("KAFKA_BOOTSTRAP_SERVERS", "MONGODB_URI", "ORDERFLOW_CONFIRMATION_WINDOW"):
        assert f"`{variable}`" in table
