"""What ops watch of payments, on /metrics beside the runtime's own.

    orderflow_payment_requests_overdue   requests whose window passed unpaid (P-16), now
    orderflow_payouts_overdue            payouts processing past their expected date, now

Both are counted in the store every `overdue_refresh_seconds` (a count on an indexed
field), so they stay right across restarts and replicas: every replica reports the same
number, and the alert takes the max.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from prometheus_client import Gauge
from pymongo.asynchronous.database import AsyncDatabase

from contracts.payments import PayoutStatus, RequestStatus
from payments.store import COLLECTION

log = logging.getLogger("payments.metrics")

REQUESTS_OVERDUE = Gauge(
    "orderflow_payment_requests_overdue",
    "Payment requests overdue right now: the window passed unpaid (P-16).",
)
PAYOUTS_OVERDUE = Gauge(
    "orderflow_payouts_overdue",
    "Payouts still processing after their expected date (PayoutOverdue, P-18).",
)


async def refresh(db: AsyncDatabase[dict[str, Any]]) -> None:
    """Count the overdue requests and payouts once."""
    ledgers = db[COLLECTION]
    requests = await ledgers.count_documents({"request_status": RequestStatus.OVERDUE.value})
    payouts = await ledgers.count_documents(
        {"payout_status": PayoutStatus.PROCESSING.value, "payout_overdue": True}
    )
    REQUESTS_OVERDUE.set(requests)
    PAYOUTS_OVERDUE.set(payouts)


async def refresh_forever(db: AsyncDatabase[dict[str, Any]], interval: float) -> None:
    """`refresh` every `interval` seconds for the life of the service."""
    while True:
        try:
            await refresh(db)
        except Exception as error:  # the store is down: the next round tries again
            log.warning("overdue count failed", extra={"error": type(error).__name__})
        await asyncio.sleep(interval)
