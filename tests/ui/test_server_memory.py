"""What sessions keep is bounded for the whole server (ui.server_memory), and freed buffers go back to the system."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from core import config
from paths import PROJECT_ROOT
from ui import server_memory

MB = 1024 * 1024


@pytest.fixture
def small_store(monkeypatch):
    """The server-wide store at 64 MB, fresh for the test."""
    monkeypatch.setattr(config, "SESSION_STORE_BYTES", 64 * MB)
    server_memory._store.clear()
    yield server_memory._store()
    server_memory._store.clear()


def test_thirty_sessions_keep_at_most_the_budget_and_the_idle_longest_go_first(small_store):
    tokens = [f"session-{number}" for number in range(30)]
    for number, token in enumerate(tokens):
        server_memory.keep(token, "last image", np.full(12 * MB, number, np.uint8))  # One 2,048 px image each.
        assert small_store.total_bytes <= 64 * MB
    kept = [token for token in tokens if server_memory.fetch(token, "last image") is not None]
    assert kept == tokens[-5:]  # The five sessions that ran last.
    assert int(server_memory.fetch(tokens[-1], "last image")[0]) == 29  # Each session finds its own value.


def test_a_session_that_runs_keeps_its_entries_while_idle_ones_go(small_store):
    server_memory.keep("active", "upload", bytes(10 * MB))
    for number in range(20):
        server_memory.keep(f"idle-{number}", "upload", bytes(10 * MB))
        assert server_memory.fetch("active", "upload") is not None  # Read on each of its runs.
    assert server_memory.fetch("idle-0", "upload") is None


def test_sessions_do_not_see_each_others_entries(small_store):
    server_memory.keep("a", "upload", b"from a")
    assert server_memory.fetch("b", "upload") is None
    server_memory.forget("a", "upload")
    assert server_memory.fetch("a", "upload") is None


FREED_AFTER_DECODES = textwrap.dedent("""
    import sys, threading
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from benchmarks.common import large_png
    from core.imaging.decode import load_image
    from ui.server_memory import return_large_buffers

    def resident_mib():
        status = Path("/proc/self/status").read_text()
        return int(status.split("VmRSS:")[1].split()[0]) / 1024

    pngs = [large_png(number, 6000) for number in range(6)]
    if sys.argv[1] == "returned":
        assert return_large_buffers()
    before = resident_mib()
    threads = [threading.Thread(target=load_image, args=(png,)) for png in pngs]  # Each thread frees its image.
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(round(resident_mib() - before))
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator and /proc are Linux's")
def test_buffers_freed_by_session_threads_go_back_to_the_system():
    """Six threads decode a 36 MP image each (one at a time, by the gate) and drop it: little stays resident.

    Without `return_large_buffers` glibc kept several hundred MB of those freed buffers in its per-thread arenas.
    """
    code = FREED_AFTER_DECODES.format(root=str(PROJECT_ROOT))
    kept_mib = int(subprocess.run([sys.executable, "-c", code, "returned"], capture_output=True, text=True,
                                  check=True, timeout=300).stdout.split()[-1])
    assert kept_mib < 150, f"{kept_mib} MiB stayed resident after the decoded images were freed"
