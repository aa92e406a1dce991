"""`orderflow --help` lists its commands one per line; `follow` takes the demo's short ids."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid

import pytest

from orderflow.__main__ import CliError, app, one_order
from orderflow.bus import Seen


def help_text(columns: int) -> str:
    env = {"COLUMNS": str(columns), "TERM": "dumb", "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-m", "orderflow", "--help"],
        capture_output=True, text=True, check=True, env=env,
    )  # fmt: skip
    return result.stdout


@pytest.mark.parametrize("columns", [80, 120])
def test_the_help_lists_each_command_on_a_line_of_its_own(columns: int) -> None:
    text = help_text(columns)
    names = [c.name or c.callback.__name__ for c in app.registered_commands if c.callback]
    for name in names:
        assert re.search(rf"^\s*orderflow {name}\s{{2,}}\S", text, re.M), f"{name}:\n{text}"
    assert not [line for line in text.splitlines() if line.count("orderflow ") > 1], text


def test_every_command_of_the_cli_is_in_the_help_list() -> None:
    text = help_text(100)
    listed = set(re.findall(r"^\s*orderflow (\w+)\s{2,}", text, re.M))
    assert listed == {c.name or c.callback.__name__ for c in app.registered_commands if c.callback}


def seen(order_id: str) -> list[Seen]:
    return [Seen("orders.events", order_id, {"type": "OrderCreated"})]


A = "1a2b3c4d-0000-4000-8000-000000000001"
B = "1a2b3c4d-0000-4000-8000-000000000002"
C = "9f8e7d6c-0000-4000-8000-000000000003"


def test_follow_takes_the_short_id_the_demo_prints_when_one_order_has_it() -> None:
    assert one_order(C[:8], {A: seen(A), C: seen(C)}) == C


def test_follow_refuses_a_short_id_two_orders_share_and_lists_them() -> None:
    with pytest.raises(CliError, match=f"2 orders' ids start with '1a2b3c4d' \\({A}, {B}\\)"):
        one_order("1a2b3c4d", {A: seen(A), B: seen(B)})


def test_follow_refuses_a_short_id_no_order_has() -> None:
    with pytest.raises(CliError, match="no order whose id starts with 'ffff'"):
        one_order("ffff", {A: seen(A)})


def test_follow_waits_for_a_full_id_that_has_no_events_yet() -> None:
    full = str(uuid.uuid4())
    assert one_order(full, {A: seen(A)}) == full
