"""The owners' in-memory aggregates are bounded by a setting, so that memory is flat once
the cache is full (issue 20's soak): the least recently handled go first."""

from __future__ import annotations

from typing import Any, cast

from servicekit.aggregates import CACHED_AGGREGATES, MemoryAggregates, StateCache, cached
from servicekit.config import ServiceSettings


def test_a_cache_keeps_the_most_recently_handled_up_to_its_size() -> None:
    cache = StateCache(size=2)
    stored = cast(Any, object())
    for aggregate_id in ("a", "b", "c"):
        cache.put(aggregate_id, stored)
    assert len(cache) == 2 and cache.get("a") is None and cache.get("c") is stored
    none = StateCache(size=0)
    none.put("a", stored)
    assert len(none) == 0


def test_the_size_is_the_stores_own_as_ORDERFLOW_STATE_CACHE_SIZE_sets_it() -> None:
    assert ServiceSettings().state_cache_size == CACHED_AGGREGATES == 512
    size = ServiceSettings(state_cache_size=3).state_cache_size
    store, other = MemoryAggregates(cache_size=size), MemoryAggregates()
    assert cached(store).size == 3 and cached(store.twin()).size == 3
    assert cached(other).size == CACHED_AGGREGATES
