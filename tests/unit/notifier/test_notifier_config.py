"""The notifier's settings come from the environment; durations take seconds (X-06)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from pydantic import ValidationError

from notifier.app import build
from notifier.config import NotifierSettings
from notifier.smtp import SmtpPool


def test_X06_the_defaults_reach_the_local_smtp_catcher_in_plain_text() -> None:
    settings = NotifierSettings()
    smtp = settings.smtp()
    assert (smtp.host, smtp.port, smtp.tls) == ("127.0.0.1", 1025, "auto")
    assert settings.http_port == 8104


def test_X06_smtp_url_tls_and_credentials_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMTP_URL", "smtps://mail.example.com")
    monkeypatch.setenv("ORDERFLOW_SMTP_USERNAME", "orderflow")
    monkeypatch.setenv("ORDERFLOW_SMTP_PASSWORD", "s3cret")
    smtp = NotifierSettings().smtp()
    assert (smtp.host, smtp.port, smtp.tls) == ("mail.example.com", 465, "smtps")
    assert (smtp.username, smtp.password) == ("orderflow", "s3cret")
    assert "s3cret" not in repr(NotifierSettings())


def test_X06_starttls_can_be_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_URL", "smtp://mail.example.com:587")
    monkeypatch.setenv("ORDERFLOW_SMTP_STARTTLS", "required")
    assert NotifierSettings().smtp().tls == "required"


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://user:pw@mail.example.com"])
def test_X06_an_smtp_url_that_is_not_one_or_that_carries_a_password_is_refused(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("SMTP_URL", url)
    with pytest.raises(ValidationError):
        NotifierSettings()


def test_X06_retry_durations_take_seconds_so_tests_run_them_fast(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERFLOW_EMAIL_RETRY_FIRST_DELAY", "0.2")
    monkeypatch.setenv("ORDERFLOW_EMAIL_RETRY_WITHIN", "PT10S")
    monkeypatch.setenv("ORDERFLOW_EMAIL_MAX_ATTEMPTS", "3")
    retry = NotifierSettings().retry()
    assert (retry.first_delay, retry.within, retry.max_attempts) == (
        timedelta(seconds=0.2),
        timedelta(seconds=10),
        3,
    )


def test_M08_a_confirmation_url_without_the_token_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERFLOW_CONFIRMATION_URL", "https://app.test/confirm/{order_id}")
    with pytest.raises(ValidationError):
        NotifierSettings()
    monkeypatch.setenv("ORDERFLOW_CONFIRMATION_URL", "https://app.test/{order_id}/{nope}?{token}")
    with pytest.raises(ValidationError):
        NotifierSettings()


def test_X06_the_lease_always_outlasts_an_attempt() -> None:
    dispatch = NotifierSettings(email_lease=timedelta(seconds=1)).dispatch()
    assert dispatch.lease >= 2 * dispatch.attempt_budget


def test_X06_X12_the_composition_root_consumes_four_topics_and_publishes_two() -> None:
    runtime = build(NotifierSettings(topic_prefix="unit."))
    assert sorted(runtime._consumed_topics) == [
        "invoicing.events",
        "orders.events",
        "payments.events",
        "timers.events",
    ]
    assert list(runtime._outputs) == ["notifications.events", "timers.commands"]


@pytest.mark.parametrize(
    ("url", "starttls", "use_tls", "start_tls"),
    [
        ("smtps://mail.example.com", "auto", True, False),
        ("smtp://mail.example.com:587", "required", False, True),
        ("smtp://mail.example.com:587", "auto", False, None),
        ("smtp://127.0.0.1:1025", "off", False, False),
    ],
)
def test_X06_tls_and_login_settings_reach_the_smtp_client(
    monkeypatch: pytest.MonkeyPatch, url: str, starttls: str, use_tls: bool, start_tls: bool | None
) -> None:
    monkeypatch.setenv("SMTP_URL", url)
    monkeypatch.setenv("ORDERFLOW_SMTP_STARTTLS", starttls)
    monkeypatch.setenv("ORDERFLOW_SMTP_USERNAME", "orderflow")
    monkeypatch.setenv("ORDERFLOW_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("ORDERFLOW_SMTP_VALIDATE_CERTS", "false")
    client = SmtpPool(NotifierSettings().smtp())._client()
    assert (client.use_tls, client._start_tls_on_connect) == (use_tls, start_tls)
    assert (client._login_username, client._login_password) == ("orderflow", "s3cret")
    assert client.validate_certs is False
