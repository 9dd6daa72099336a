"""What the server keeps for its sessions between runs, bounded for the whole process, not per session.

Every session's kept uploads (their bytes) and the image it last classified (its decoded array) sit in one
process-wide `ByteBudgetCache` of `config.SESSION_STORE_BYTES`, keyed on the session's token, instead of in
`st.session_state`, where 30 sessions' arrays would add up without limit. Each run of a session reads its
entries and so makes them the most recently used: past the budget, the entries of the sessions idle longest go
first. Session state keeps only what names them (file name and SHA-256), so a page can say what was let go
and ask for it again (`ui.kept_uploads`, `ui.state.last_image`).

The allocator is the other half of a server-wide bound: glibc keeps freed memory in per-thread arenas, and
Streamlit runs each session's script in a thread of its own, so the buffers that one session's image freed stayed
resident. `return_large_buffers` maps buffers of 4 MB and more on their own (unmapped when freed) and
`hand_back_free_memory` returns the arenas' free pages after each image's turn (`ui.image_cache.image_turn`).
Measured by benchmarks/sessions.py (30 sessions at once, each a distinct 36 MP PNG, 224 px ResNet50), the server
peaked at 4,804 MiB with the decode gate alone, 2,794 MiB with the store and the mmap threshold too, 2,666 MiB
with the image turns too, and 2,333 MiB with the trim after each turn too (2,573 MiB with the trim but not the
threshold).
"""
from __future__ import annotations

import ctypes
import logging
from collections.abc import Hashable
from typing import Any

import streamlit as st

from core import config
from ui.byte_cache import ByteBudgetCache

LOGGER = logging.getLogger(__name__)
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter (malloc.h).


@st.cache_resource
def _store() -> ByteBudgetCache:
    """The one store of what sessions keep (one per server, shared by every session, each under its own token)."""
    return ByteBudgetCache(config.SESSION_STORE_BYTES)


def keep(token: str, key: Hashable, value: Any) -> bool:
    """Keep `value` for the session `token` under `key`; False when it is larger than the whole store."""
    return _store().put((token, key), value)


def fetch(token: str, key: Hashable) -> Any | None:
    """The session's value under `key` (now the most recently used), or None when it was let go or never kept."""
    return _store().get((token, key))


def forget(token: str, key: Hashable) -> None:
    _store().discard((token, key))


def hand_back_free_memory() -> None:
    """Return the free memory inside glibc's arenas to the system (`malloc_trim`): about 25 ms; nothing without glibc.

    Buffers under the mmap threshold (model inputs, tensors, PNG buffers) freed by a session's thread stay in its
    arena, scattered among live ones: after 30 sessions, one call handed back 440 MiB (2,379 to 1,938 MiB resident).
    `ui.image_cache.image_turn` calls it as each turn ends, when an image's work has freed its buffers.
    """
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def return_large_buffers(threshold_bytes: int = config.MMAP_THRESHOLD_BYTES) -> bool:
    """Have glibc map every allocation of `threshold_bytes` or more on its own, and unmap it when freed.

    By default glibc raises that threshold to the size of each large buffer freed (up to 32 MB), after which
    buffers of that size come from, and go back to, arenas that rarely shrink. A fixed threshold turns that off.
    Measured: 8 threads decoding 36 MP PNGs one at a time peaked at 888 MB and kept 581 MB after them; 459 MB
    and 84 MB with it. A forward pass of 8 views at 224 px then takes about 20 ms more of system time (page
    faults), 3% of its 0.6 s. Returns False where there is no glibc (nothing changes then).
    """
    try:
        changed = bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, threshold_bytes))
    except (OSError, AttributeError):
        changed = False
    LOGGER.info("Allocations of %d bytes or more are mapped on their own: %s", threshold_bytes, changed)
    return changed
