"""devstack's liveness check: a running server is never declared dead."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from devstack import process
from devstack.process import RunState, is_alive

ARGV = [sys.executable, "-c", "import time; time.sleep(30)"]


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    running = subprocess.Popen(ARGV)
    yield running
    running.kill()
    running.wait()


def state_of(child: subprocess.Popen[bytes], argv: list[str] = ARGV) -> RunState:
    return RunState("server", child.pid, argv, {}, "2026-11-21T00:00:00+00:00")


def test_a_running_child_whose_poll_reports_an_exit_is_still_alive(
    child: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    # What Popen.poll() answers when the child was reaped elsewhere (ECHILD): 0.
    monkeypatch.setattr(child, "poll", lambda: 0)
    monkeypatch.setitem(process._children, child.pid, child)
    assert is_alive(state_of(child))


def test_a_child_that_exited_is_not_alive(child: subprocess.Popen[bytes]) -> None:
    process._children[child.pid] = child
    child.kill()
    child.wait()
    assert not is_alive(state_of(child))


def test_a_process_with_another_command_line_is_not_the_server(
    child: subprocess.Popen[bytes],
) -> None:
    assert not is_alive(state_of(child, argv=["/usr/bin/ferretdb", "-listen-addr", "x"]))
