"""The email as it goes over SMTP: headers no event text can bend, a stable Message-ID."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage, MIMEPart

import pytest

from contracts.envelope import Role
from notifier import mail
from notifier.domain import plan
from notifier.domain.formatting import one_line
from notifier.rendering import Rendered, Renderer
from tests.unit.notifier import notifier_kit as k

ORIGIN = mail.Origin(address="no-reply@orderflow.example", name="orderflow")
NOW = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
EVIL = "Eve\r\nBcc: evil@example.com"


def message_for(name: str, subject_title: str = "") -> tuple[bytes, object]:
    client = k.party("client-1", Role.CLIENT, "client@example.com", name)
    [planned] = plan(k.sent_to_client(client), None, k.POLICY)
    rendered = Renderer().render(planned)
    if subject_title:
        rendered = type(rendered)(subject=subject_title, text=rendered.text, html=rendered.html)
    message = mail.build(planned, rendered, ORIGIN, NOW)
    return bytes(message), planned


def test_X06_a_name_carrying_a_bcc_header_cannot_add_a_header_or_a_recipient() -> None:
    raw, _ = message_for(EVIL)
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Bcc"] is None
    assert [a.addr_spec for a in parsed["To"].addresses] == ["client@example.com"]
    assert parsed["To"].addresses[0].display_name == "Eve Bcc: evil@example.com"
    header_block = raw.split(b"\n\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in header_block.splitlines())


def test_X06_a_subject_with_line_breaks_is_flattened_to_one_line() -> None:
    raw, _ = message_for("Clara", subject_title="Hello\r\nBcc: evil@example.com")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == "Hello Bcc: evil@example.com"
    assert parsed["Bcc"] is None


def test_X06_the_message_id_is_derived_from_the_delivery_so_a_resend_carries_the_same() -> None:
    event = k.sent_to_client()
    [planned] = plan(event, None, k.POLICY)
    [replanned] = plan(k.wire(event), None, k.POLICY)  # the same event, delivered again
    rendered = Renderer().render(planned)
    first = mail.build(planned, rendered, ORIGIN, NOW)
    later = mail.build(replanned, rendered, ORIGIN, NOW + timedelta(minutes=5))
    assert first["Message-ID"] == f"<{planned.delivery_id}@orderflow.example>"
    assert later["Message-ID"] == first["Message-ID"]


def test_X06_an_email_has_a_plain_text_and_an_html_alternative_and_says_it_is_automatic() -> None:
    raw, _ = message_for("Clara")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Auto-Submitted"] == "auto-generated"
    assert parsed["X-Orderflow-Template"] == "client_confirmation_request"
    assert parsed["X-Orderflow-Rules"] == "M-05 M-08"


def test_X06_non_ascii_names_and_subjects_are_encoded_not_mangled() -> None:
    raw, _ = message_for("Zoë Ümlaut")
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["To"].addresses[0].display_name == "Zoë Ümlaut"
    assert raw.isascii()


def test_X06_one_line_removes_every_kind_of_line_break_and_control_character() -> None:
    assert one_line("a\r\nb\nc\rd\x00e\u2028f\tg") == "a b c d e f g"
    assert one_line("x" * 500, 10) == "x" * 10


# -- the template against the `email` package -----------------------------------------------

NAMES = ["Clara", "J. O'Neil, Jr.", 'Quote "me" \\ back', "Zoë Ümlaut", "山田 太郎", "", EVIL]
SUBJECTS = [
    "Please confirm order 42",
    "A long subject " + "word " * 60,
    "Zoë's order: 1 200,00 € — please confirm " * 3,
    "x" * 250,
    "Hello\r\nBcc: evil@example.com",
]
BODIES = [
    "Hello,\n\nplain text.\n",
    "=_ boundary-like =3D line\n.\n..dot\nFrom here\ntrailing space \n\ttab\n" + "y" * 300,
    "Grüße, 1 200,00 €\r\nwindows line\rold mac\n",
]


def both(name: str, subject: str, body: str) -> tuple[object, object, bytes]:
    client = k.party("client-1", Role.CLIENT, "client@example.com", name)
    [planned] = plan(k.sent_to_client(client), None, k.POLICY)
    rendered = Rendered(subject=subject, text=body, html=f"<p>{body}</p>\n")
    fast = mail.build(planned, rendered, ORIGIN, NOW)
    slow = mail.build_with_stdlib(planned, rendered, ORIGIN, NOW)
    parsed = email.message_from_bytes(bytes(fast), policy=email.policy.default)
    reference = email.message_from_bytes(bytes(slow), policy=email.policy.default)
    return parsed, reference, bytes(fast)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("subject", SUBJECTS)
def test_X06_the_templated_message_reads_as_the_email_package_would_write_it(
    name: str, subject: str
) -> None:
    for body in BODIES:
        parsed, reference, raw = both(name, subject, body)
        assert isinstance(parsed, EmailMessage) and isinstance(reference, EmailMessage)
        assert not parsed.defects and not any(p.defects for p in parsed.iter_parts())
        for header in HEADERS:
            assert str(parsed[header]) == str(reference[header]), header
        assert parsed["To"].addresses == reference["To"].addresses
        assert [text(p) for p in parsed.iter_parts()] == [text(p) for p in reference.iter_parts()]
        assert raw.isascii()
        lines = raw.split(b"\r\n")
        assert max(len(line) for line in lines) <= 998  # RFC 5322 2.1.1
        assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only


def text(part: MIMEPart) -> str:
    """A part's text as a reader sees it (line ends are CRLF on the wire either way)."""
    return str(part.get_content()).replace("\r\n", "\n")


HEADERS = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "Auto-Submitted",
    "X-Orderflow-Template",
    "X-Orderflow-Rules",
    "X-Orderflow-Delivery",
    "MIME-Version",
]


def test_X06_an_address_the_template_does_not_take_is_sent_as_the_email_package_writes_it() -> None:
    [planned] = plan(k.sent_to_client(), None, k.POLICY)
    odd = replace(planned, recipient=replace(planned.recipient, address='"john doe"@example.com'))
    built = mail.build(odd, Renderer().render(odd), ORIGIN, NOW)
    assert built.message is not None
    assert built["X-Orderflow-Template"] == "client_confirmation_request"
