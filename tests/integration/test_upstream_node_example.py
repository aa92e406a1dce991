"""The published contract is enough: examples/upstream-node, a Node client written from
docs/schemas alone (no Python of the project), drives ordering on the real stack.

It opens an account and waits for ordering's answer (registered, and a forged one
rejected), takes a managed order from draft to active as member, operator and client, and
validates everything it sends and reads against the schemas. `npm ci` installs its locked
packages from the npm registry, with npm's cache under .cache/npm.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devstack.services import ServiceProcess
from tests.support.services import service_env, start

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "upstream-node"
NPM_CACHE = ROOT / ".cache" / "npm"

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def node_client() -> Path:
    """The example with its locked packages installed (`npm ci`, cached under .cache/)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js and npm are needed to run the example in another language")
    installed = EXAMPLE / "node_modules" / ".package-lock.json"
    lock = EXAMPLE / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--cache", str(NPM_CACHE), "--prefer-offline"],
            cwd=EXAMPLE,
            check=True,
            capture_output=True,
            timeout=240,
        )
    return EXAMPLE


@pytest.fixture(scope="module")
def own_prefix(topic_prefix: str) -> str:
    """Topics of this module alone: the client checks every event it reads against the
    published contract, and other tests publish stand-in events on the session's topics."""
    return f"{topic_prefix}node."


@pytest.fixture(scope="module")
async def ordering(
    stack: Any, own_prefix: str, database_name: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[ServiceProcess]:
    env = service_env(stack, own_prefix, f"{database_name}_node")
    process = await start("ordering", env, tmp_path_factory.mktemp("logs"))
    yield process
    process.terminate()


def test_every_published_schema_compiles_in_ajv_and_accepts_its_own_examples(
    node_client: Path,
) -> None:
    result = subprocess.run(
        ["node", "check-schemas.js", str(ROOT / "docs" / "schemas")],
        cwd=node_client,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert " 0 failed" in result.stdout
    assert "examples checked" in result.stdout


def test_a_node_client_built_from_the_schemas_alone_takes_a_managed_order_to_active(
    node_client: Path, ordering: ServiceProcess, stack: Any, own_prefix: str
) -> None:
    result = subprocess.run(
        [
            "node",
            "client.js",
            "--bootstrap",
            stack.kafka_bootstrap,
            "--prefix",
            own_prefix,
            "--timeout",
            "60",
        ],
        cwd=node_client,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    out = result.stdout
    assert ": AccountRegistered" in out
    assert "AccountRejected (not_authorized)" in out
    for step in (
        "CreateOrder -> OrderCreated (status draft)",
        "SubmitOrder -> OrderSubmitted (status operator_review)",
        "ConfirmOrder -> OrderSentToClient (status client_confirmation)",
        "ConfirmAsClient -> OrderActivated (status active)",
    ):
        assert step in out
    assert "ok: the order went from draft to active" in out
