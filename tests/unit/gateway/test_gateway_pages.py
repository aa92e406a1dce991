"""The pages' pure helpers: terms as a person reads them (M-08's confirmation page)."""

from __future__ import annotations

from gateway.api.pages import terms_rows


def test_M08_the_terms_read_as_text_not_as_data() -> None:
    terms = {
        "description": "Quarterly maintenance",
        "planned_invoices": [
            {"invoice_date": "2026-12-16", "amount": {"amount": "100.00", "currency": "EUR"}}
        ],
        "skip_client_confirmation": False,
        "offer_valid_until": "2026-12-13T04:38:27Z",
        "notes": "",
    }
    assert terms_rows(terms) == [
        ("Description", "Quarterly maintenance"),
        ("Planned invoices", "invoice date 2026-12-16, amount 100.00 EUR"),
    ]
