"""Suppliers' settings (P-11 cancellation policy, P-14 payment stage), kept as a history of
versions, each in force from its `effective_from`; an order takes, once, the version in
force when it was booked, so a later change never alters the terms a customer agreed to.

    SupplierSettings     one version, as recorded
    settings_set(...)    SetSupplierSettings -> SupplierSettingsSet, or a rejection
    in_force(...)        the version that applies at a moment
    stamped(...)         booked terms with the version's payment stage and policy

Pure: the time and the recorded history come in as arguments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contracts.envelope import SYSTEM, Role, derived_id
from contracts.orders import CancellationPolicy, PostpaidTerms
from contracts.suppliers import (
    SetSupplierSettings,
    SupplierCommandRejected,
    SupplierRejectionReason,
    SupplierSettingsSet,
)
from servicekit.decisions import carry


@dataclass(frozen=True)
class SupplierSettings:
    """One version of a supplier's settings; `recorded_at` orders versions of one
    `effective_from` (the later recorded wins)."""

    supplier_id: str
    settings_id: str
    effective_from: datetime
    payment_stage: bool
    cancellation_policy: CancellationPolicy | None
    recorded_at: datetime

    @classmethod
    def of(cls, event: SupplierSettingsSet) -> SupplierSettings:
        fields = "supplier_id settings_id effective_from payment_stage cancellation_policy"
        return cls(**carry(event, fields), recorded_at=event.occurred_at)


def settings_set(
    cmd: SetSupplierSettings, now: datetime
) -> SupplierSettingsSet | SupplierCommandRejected:
    """Record a new version (Rules P-11, P-14): by the platform (role system) or by the
    supplier itself. The answer's id derives from the command's, so a redelivery makes
    the same answer (X-09)."""
    actor = cmd.actor
    allowed = actor.role is Role.SYSTEM or (
        actor.role is Role.SUPPLIER and actor.id == cmd.supplier_id
    )
    answer_id = derived_id(cmd.message_id, 0, "supplier-settings")
    envelope: dict[str, Any] = {
        "message_id": answer_id,
        "occurred_at": now,
        "correlation_id": cmd.correlation_id,
        "causation_id": cmd.message_id,
        "supplier_id": cmd.supplier_id,
    }
    if not allowed:
        return SupplierCommandRejected(
            **envelope,
            actor=SYSTEM,
            command_type=cmd.type,
            command_id=cmd.message_id,
            reason=SupplierRejectionReason.NOT_AUTHORIZED.value,
            message="only the platform or the supplier itself sets its settings",
        )
    return SupplierSettingsSet(
        **envelope,
        actor=actor,
        settings_id=str(cmd.message_id),
        **carry(cmd, "effective_from payment_stage cancellation_policy"),
    )


def in_force(
    history: Iterable[SupplierSettings], supplier_id: str, at: datetime
) -> SupplierSettings | None:
    """The version of `supplier_id`'s settings in force at `at`, or None."""
    versions = [s for s in history if s.supplier_id == supplier_id and s.effective_from <= at]
    return max(versions, key=lambda s: (s.effective_from, s.recorded_at), default=None)


def stamped(terms: PostpaidTerms, settings: SupplierSettings | None) -> PostpaidTerms:
    """The booked terms (Rules P-11, P-14): a payment stage the order states itself is
    kept, else the supplier's, else there is one (seed 001); the cancellation policy is
    the supplier's, or none."""
    stage = terms.payment_stage
    if stage is None:
        stage = settings.payment_stage if settings is not None else True
    policy = settings.cancellation_policy if settings is not None else None
    return terms.model_copy(update={"payment_stage": stage, "cancellation_policy": policy})
