"""Issue 18: one composition-root shape (servicekit.composition) and one way from settings to
a policy (`ServiceSettings.derive`), the same in every service."""

from __future__ import annotations

import importlib
import typing
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from contracts.channels import BY_TOPIC
from invoicing.config import InvoicingSettings
from notifier.config import NotifierSettings
from ordering.config import OrderingSettings
from payments.config import PaymentsSettings
from servicekit.composition import settings_as
from servicekit.config import ServiceSettings
from timers.config import TimersSettings

SERVICES = ("ordering", "payments", "invoicing", "notifier", "timers")


@dataclass(frozen=True)
class Knobs:
    window: timedelta = timedelta(hours=1)
    retries: int = 3
    untouched: str = "default"


class KnobSettings(ServiceSettings):
    knob_window: timedelta = timedelta(hours=2)
    window: timedelta = timedelta(hours=5)
    retries: int = 7


def test_derive_takes_each_field_from_given_then_the_prefixed_setting_then_the_plain_one() -> None:
    settings = KnobSettings()
    assert settings.derive(Knobs) == Knobs(timedelta(hours=5), 7)
    assert settings.derive(Knobs, "knob_") == Knobs(timedelta(hours=2), 7)
    assert settings.derive(Knobs, "knob_", retries=1) == Knobs(timedelta(hours=2), 1)


def test_derive_leaves_a_field_without_a_setting_at_its_default() -> None:
    assert KnobSettings().derive(Knobs).untouched == "default"


def test_settings_as_keeps_the_service_s_own_class_and_lifts_shared_settings() -> None:
    own = OrderingSettings(review_target=timedelta(minutes=5))
    assert settings_as(OrderingSettings, own) is own
    lifted = settings_as(OrderingSettings, ServiceSettings(topic_prefix="t."))
    assert isinstance(lifted, OrderingSettings)
    assert lifted.topic_prefix == "t."
    assert lifted.review_target == OrderingSettings().review_target


def test_every_policy_field_follows_its_setting() -> None:
    ordering = OrderingSettings(
        review_target=timedelta(hours=1),
        min_cancellation_reason=7,
        approval_target=timedelta(hours=7),
        business_timezone="Europe/Berlin",
    ).policy()
    assert (ordering.review_target, ordering.min_cancellation_reason) == (timedelta(hours=1), 7)
    assert ordering.approval_target == timedelta(hours=7)
    assert ordering.business_tz == ZoneInfo("Europe/Berlin")
    payments = PaymentsSettings(payout_processing_days=3, claim_reopen_window=timedelta(hours=9))
    assert payments.policy().payout_processing_days == 3
    assert payments.context().claim_reopen_window == timedelta(hours=9)
    assert payments.context().policy == payments.policy()
    invoicing = InvoicingSettings(
        invoice_draft_lead=timedelta(hours=1),
        invoice_calendar_day=timedelta(seconds=10),
        invoice_calendar_origin=datetime(2026, 1, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")),
        billing_issuer="bx",
    ).policy()
    assert (invoicing.draft_lead, invoicing.calendar_day) == (timedelta(hours=1), timedelta(0, 10))
    assert invoicing.calendar_origin == datetime(2026, 1, 1, tzinfo=UTC)
    assert invoicing.billing_issuer == "bx"
    notifier = NotifierSettings(
        email_max_attempts=9,
        email_retry_within=timedelta(seconds=70),
        email_max_in_flight=77,
        max_in_flight=5,
        smtp_pool_size=3,
        smtp_username="u",
    )
    assert (notifier.retry().max_attempts, notifier.retry().within) == (9, timedelta(seconds=70))
    assert notifier.dispatch().max_in_flight == 77, "email_max_in_flight, not max_in_flight"
    assert (notifier.smtp().pool_size, notifier.smtp().username) == (3, "u")
    assert TimersSettings(max_payload_bytes=99).limits().max_payload_bytes == 99


@pytest.mark.parametrize("service", SERVICES)
def test_each_handler_reads_its_topic_s_contract_union(service: str) -> None:
    """FastStream parses a message by its handler's parameter type: the topic's union."""
    runtime = importlib.import_module(f"{service}.app").build(ServiceSettings())
    read = {}
    for subscriber in runtime.broker._subscribers:
        [call] = subscriber.calls
        [topic] = subscriber.topic_names
        read[topic] = typing.get_type_hints(call.handler._original_call, include_extras=True)[
            "message"
        ]
    assert read == {t: BY_TOPIC[t].messages.annotation for t in runtime.consumed_topics}
