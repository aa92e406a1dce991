"""The metrics ops alert on, read from /metrics as Prometheus scrapes them (X-08)."""

from __future__ import annotations

import asyncio

from servicekit import metrics


async def scrape(server: metrics.OpsServer) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    page = (await reader.read()).decode()
    writer.close()
    return page


async def test_X07_rejections_are_counted_by_service_and_reason_and_other_events_are_not() -> None:
    server = metrics.OpsServer("127.0.0.1", 0, {})
    await server.start()
    try:
        metrics.count_rejection("payments", "PaymentCommandRejected", "claim_not_open")
        metrics.count_rejection("payments", "PaymentSettled", "claim_not_open")
        metrics.count_rejection("ordering", "OrderCommandRejected", None)
        page = await scrape(server)
    finally:
        await server.stop()
    payments = 'orderflow_commands_rejected_total{reason="claim_not_open",service="payments"}'
    assert f"{payments} 1.0" in page
    assert 'orderflow_commands_rejected_total{reason="unknown",service="ordering"}' in page
    assert "# TYPE orderflow_consumer_lag gauge" in page
    assert "# TYPE orderflow_messages_dead_lettered_total counter" in page
