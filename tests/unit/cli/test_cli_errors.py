"""The CLI answers mistakes with one clear line and exit code 2, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid


def orderflow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orderflow", *args], capture_output=True, text=True, check=False
    )


def test_an_invalid_command_is_refused_before_anything_is_sent_in_one_line() -> None:
    result = orderflow(
        "send", "--type", "SubmitOrder", "--field", "order_id=not-a-uuid", "--actor", "m-1:member",
        "--bootstrap", "127.0.0.1:1",  # nothing listens there: validation comes first
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert result.stderr.startswith("orderflow: invalid SubmitOrder: SubmitOrder.order_id:")
    assert "Traceback" not in result.stderr


def test_a_command_file_that_is_not_json_is_named_in_one_line(tmp_path: object) -> None:
    bad = f"{tmp_path}/{uuid.uuid4().hex}.json"
    with open(bad, "w") as f:
        f.write("{not json")
    result = orderflow("send", bad)
    assert result.returncode == 2
    assert result.stderr.startswith(f"orderflow: {bad}: not JSON")
    assert "Traceback" not in result.stderr


def test_send_needs_a_file_or_a_type() -> None:
    result = orderflow("send")
    assert result.returncode == 2
    assert "give a JSON file, or --type" in result.stderr


def test_incomplete_kafka_security_settings_are_named_in_one_line_without_the_password() -> None:
    env = {**os.environ, "KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": "hunter2"}
    env.pop("KAFKA_SASL_USERNAME", None)
    result = subprocess.run(
        [sys.executable, "-m", "orderflow", "dlq", "orders.commands"],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("orderflow: invalid settings:")
    assert "KAFKA_SASL_USERNAME" in result.stderr and "hunter2" not in result.stderr
    assert "Traceback" not in result.stderr
