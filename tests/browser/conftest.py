"""Browser tests: real headless Chromium (Debian's `chromium`) driven by Playwright.

ordering, notifier, timers and the gateway run as processes on the run's stack; the
gateway serves its pages on a free port with demo logins on, and the notifier's links
point at it. When a test fails, the page it was on is saved as a screenshot under
.cache/screenshots/ (the path is printed). Playwright never downloads a browser here
(never run `playwright install`): the system's Chromium is launched by path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

from devstack.services import ServiceProcess, free_port
from tests.support.services import service_env, start

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".cache" / "screenshots"
JWT_SECRET = "browser-tests-secret-of-at-least-32-bytes"
#: ordering's M-08 tokens and the notifier's P-17 review links are signed with it.
TOKEN_SECRET = "browser-tests-token-secret"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep each phase's report on the test, so the page fixture knows it failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="module")
def prefix(topic_prefix: str) -> str:
    return topic_prefix + "browser."


@pytest.fixture(scope="module")
def public_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module")
async def services(
    stack: Any,
    prefix: str,
    database_name: str,
    public_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[dict[str, ServiceProcess]]:
    env = service_env(
        stack,
        prefix,
        database_name,
        SMTP_URL=stack.smtp_url,
        ORDERFLOW_CONFIRMATION_URL=public_url + "/confirm?order={order_id}&token={token}",
        ORDERFLOW_API_PORT=public_url.rsplit(":", 1)[1],
        ORDERFLOW_PUBLIC_URL=public_url,
        ORDERFLOW_DEMO_LOGINS="true",
        ORDERFLOW_JWT_SECRET=JWT_SECRET,
        ORDERFLOW_REVIEW_URL=public_url + "/review?order={order_id}&token={token}",
        ORDERFLOW_TOKEN_SECRET=TOKEN_SECRET,
        ORDERFLOW_AUTO_DONE_AFTER="2",  # P-12 and P-13 in seconds: a post-paid order
        ORDERFLOW_AUTO_CONFIRM_AFTER="2",  # closes by itself soon after its appointment
    )
    logs = tmp_path_factory.mktemp("logs")
    started: dict[str, ServiceProcess] = {}
    try:
        for name in ("ordering", "notifier", "timers", "gateway"):
            started[name] = await start(name, env, logs)
        yield started
    finally:
        for process in started.values():
            process.terminate()


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium as root")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        await launched.close()


@pytest.fixture
async def page(
    browser: Browser, request: pytest.FixtureRequest, services: dict[str, ServiceProcess]
) -> AsyncIterator[Page]:
    context = await browser.new_context()
    opened = await context.new_page()
    opened.set_default_timeout(30_000)
    yield opened
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{request.node.name}.png"
        await opened.screenshot(path=str(shot), full_page=True)
        print(f"\nscreenshot of the failed page: {shot}")
    await context.close()
