"""The ordering process every module here runs against, started once per module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from devstack.services import ServiceProcess
from tests.support.services import service_env, start


@pytest.fixture(scope="module")
def ordering_env(stack: Any, topic_prefix: str, database_name: str) -> dict[str, str]:
    """Where the module's ordering reads and writes; a module overrides it to move."""
    return service_env(stack, topic_prefix, database_name)


@pytest.fixture(scope="module")
async def ordering(
    ordering_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    process = await start("ordering", ordering_env, tmp_path_factory.mktemp("logs"))
    yield process
    process.terminate()
