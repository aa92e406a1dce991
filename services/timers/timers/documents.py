"""How deadlines, schedule entries and firings are written as documents.

    directory  timers_deadlines_<p>  {_id: <deadline id>, ...the deadline, status, placement}
               timers_fired          {_id: near_<n>, chunks, day}  a swept slot's firings:
                                     {_id: near_<n>#<i>, fired: [{k: <id>|<gen>, at, ms}], day}
               timers_refusals       {_id: <command message id>, answer, day}   X-09
    wheel      slots, far_slots      {_id: near_<n>}, {_id: far_<m>}   slots in use (`timers.ring`)
               near_ring_<i>,        every document below also carries {s: <slot name>}
               far_ring_<j>          {_id: e|<id>|<gen>, ...the entry}   the schedule entry
                                     {_id: c|<id>|<gen>|<attempt>, lease_until}   a claim
                                     {_id: c|<id>|<gen>|0, t: "tomb", due}   withdrawn
                                     {_id: d|<id>|<gen>, fired_at, lateness_ms, replica}

Claims and firings (`c|…` without `t`, `d|…`) are only ever in near slots; a far slot
holds entries and tombstones until it is cascaded. Ids never contain `|` (the contract
forbids it), so the prefixes cannot collide.
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

from servicekit.inserts import insert_new as insert_new
from timers.domain import Deadline, DeadlineStatus, Entry, Firing, Generation
from timers.wheel import claim_id, done_id, entry_id

Document = dict[str, Any]


def aware(value: datetime) -> datetime:
    """A stored date as an aware UTC datetime (clients without tz_aware give naive ones)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def entry_doc(entry: Entry) -> Document:
    return {
        "_id": entry_id(entry.key),
        "deadline_id": entry.deadline_id,
        "generation": entry.generation,
        "order_id": entry.order_id,
        "owner": entry.owner,
        "kind": entry.kind,
        "due": entry.due_at,
        "payload": dict(entry.payload),
        "correlation_id": str(entry.correlation_id),
        "causation_id": str(entry.causation_id),
    }


def entry_from(doc: Mapping[str, Any]) -> Entry:
    return Entry(
        deadline_id=str(doc["deadline_id"]),
        generation=int(doc["generation"]),
        order_id=str(doc["order_id"]),
        owner=str(doc["owner"]),
        kind=str(doc["kind"]),
        due_at=aware(doc["due"]),
        payload=dict(doc.get("payload") or {}),
        correlation_id=uuid.UUID(str(doc["correlation_id"])),
        causation_id=uuid.UUID(str(doc["causation_id"])),
    )


def claim_doc(entry: Entry, attempt: int, lease_until: datetime) -> Document:
    """A claim: its lease and nothing else. Every field costs FerretDB time on the firing
    path (docs/timers.md), so a claim has no `t` (only a tombstone does; readers ask
    `t == "tomb"`), no claim time (the lease's start), and no replica (a firing says it)."""
    return {"_id": claim_id(entry.key, attempt), "lease_until": lease_until}


def done_doc(firing: Firing) -> Document:
    return {
        "_id": done_id(firing.claim.entry.key),
        "fired_at": firing.fired_at,
        "lateness_ms": firing.lateness_ms,
        "replica": firing.claim.replica,
    }


def deadline_doc(deadline: Deadline) -> Document:
    replaced = deadline.replaced
    return {
        "_id": deadline.deadline_id,
        "order_id": deadline.order_id,
        "owner": deadline.owner,
        "kind": deadline.kind,
        "due_at": deadline.due_at,
        "payload": dict(deadline.payload),
        "generation": deadline.generation,
        "status": deadline.status.value,
        "scheduled_at": deadline.scheduled_at,
        "updated_at": deadline.updated_at,
        "correlation_id": str(deadline.correlation_id),
        "causation_id": str(deadline.causation_id),
        "last_command_id": str(deadline.last_command_id),
        "cancelled_at": deadline.cancelled_at,
        "placement": deadline.placement,
        "replaced": None
        if replaced is None
        else {
            "generation": replaced.number,
            "due_at": replaced.due_at,
            "placement": replaced.placement,
        },
    }


def deadline_from(doc: Mapping[str, Any]) -> Deadline:
    replaced = doc.get("replaced")
    cancelled_at = doc.get("cancelled_at")
    return Deadline(
        deadline_id=str(doc["_id"]),
        order_id=str(doc["order_id"]),
        owner=str(doc["owner"]),
        kind=str(doc["kind"]),
        due_at=aware(doc["due_at"]),
        payload=dict(doc.get("payload") or {}),
        generation=int(doc["generation"]),
        status=DeadlineStatus(doc["status"]),
        scheduled_at=aware(doc["scheduled_at"]),
        updated_at=aware(doc["updated_at"]),
        correlation_id=uuid.UUID(str(doc["correlation_id"])),
        causation_id=uuid.UUID(str(doc["causation_id"])),
        last_command_id=uuid.UUID(str(doc["last_command_id"])),
        cancelled_at=None if cancelled_at is None else aware(cancelled_at),
        placement=doc.get("placement"),
        replaced=None
        if not replaced
        else Generation(
            int(replaced["generation"]), aware(replaced["due_at"]), replaced.get("placement")
        ),
    )


#: What a sweep reads of a slot it has read before: no payloads.
SWEEP_FIELDS: Final = {"_id": 1, "t": 1, "lease_until": 1, "fired_at": 1, "lateness_ms": 1}

#: Firings per summary document: well under the 16 MB document limit.
SUMMARY_CHUNK: Final = 20_000
DAY_MS: Final = 86_400_000


def summary_chunk(key: str, chunks: int) -> int:
    return zlib.crc32(key.encode()) % chunks


def fired_summary(
    slot: str, done: Mapping[str, Mapping[str, Any]], slot_start_ms: int, now_ms: int
) -> list[Document]:
    """The lasting record of a swept slot's firings: a header and its chunks.

    One insert per slot instead of one per deadline: a lookup reads the header, then the
    chunk its key hashes to.
    """
    chunks = max(1, -(-len(done) // SUMMARY_CHUNK))
    # Sub-documents, not pairs: FerretDB 1.x refuses nested arrays.
    parts: list[list[Document]] = [[] for _ in range(chunks)]
    for key, d in done.items():
        parts[summary_chunk(key, chunks)].append(
            {"k": key, "at": d["fired_at"], "ms": d["lateness_ms"]}
        )
    header: Document = {
        "_id": slot,
        "chunks": chunks,
        "fired": len(done),
        "slot_start_ms": slot_start_ms,
        "archived_ms": now_ms,
        "day": slot_start_ms // DAY_MS,
    }
    chunk_docs = (
        {"_id": f"{slot}#{i}", "fired": part, "day": header["day"]} for i, part in enumerate(parts)
    )
    return [header, *chunk_docs]
