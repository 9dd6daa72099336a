"""Untrusted and large inputs: refusing huge images quickly, indexing the full C-NMC tree.

These were timed asserts in the test suite; a timing on a shared CI machine is a benchmark,
not a test, so they live here with their goals printed beside them.
"""
from __future__ import annotations

import shutil
import struct
import tempfile
import zlib
from pathlib import Path

from benchmarks.common import FILE_LIST, best_of, run_child, verdict

REFUSAL_GOAL_SECONDS = 1.0
REFUSAL_PEAK_GOAL_MIB = 300  # Decoding the 30000 x 30000 bomb would take at least 900 MB.
INDEX_GOAL_SECONDS = 1.0
BOMB_SIDE = 30_000

BOMB_CHILD = """
from PIL import Image
from core.errors import ImageLoadError
from core.imaging.decode import load_image
if sys.argv[3] == "off":
    Image.MAX_IMAGE_PIXELS = None  # Pillow's own bomb guard off: only core.imaging's checks remain.
figures = {}
for name, path in (("bomb", sys.argv[1]), ("sparse_2gib", sys.argv[2])):
    start = time.perf_counter()
    try:
        load_image(path)
        refused = False
    except ImageLoadError:
        refused = True
    figures[name] = {"refused": refused, "seconds": round(time.perf_counter() - start, 4)}
figures["peak_mib"] = peak_mib()
print(json.dumps(figures))
"""


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def blank_bilevel_png(side: int) -> bytes:
    """A black 1-bit side x side PNG, written by hand: 30000 x 30000 pixels is about 100 KB."""
    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes((side + 7) // 8)  # Filter byte, then the packed pixels.
    pixel_data = b"".join(compressor.compress(row) for _ in range(side)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixel_data) + png_chunk(b"IEND", b"")


def bench_decode(results: dict) -> None:
    """`load_image` refusing a decompression bomb and a 2 GiB file, each in a fresh process.

    The fresh process makes its peak memory that of the refusal alone; it runs once with
    Pillow's own bomb guard on (the app's setting) and once with it off.
    """
    work = Path(tempfile.mkdtemp())
    bomb = work / "bomb.png"
    bomb.write_bytes(blank_bilevel_png(BOMB_SIDE))
    sparse = work / "huge.png"
    with sparse.open("wb") as file:
        file.truncate(2 * 1024**3)  # Sparse: takes no disk space; reading it whole would be slow.
    decode = {"bomb": f"{BOMB_SIDE} x {BOMB_SIDE} PNG of {bomb.stat().st_size // 1024} KiB", "goal": f"refused in < {REFUSAL_GOAL_SECONDS} s, peak < {REFUSAL_PEAK_GOAL_MIB} MiB"}
    for guard in ("on", "off"):
        figures = run_child(BOMB_CHILD, str(bomb), str(sparse), guard)
        slowest = max(figures["bomb"]["seconds"], figures["sparse_2gib"]["seconds"])
        met = figures["bomb"]["refused"] and figures["sparse_2gib"]["refused"] and slowest < REFUSAL_GOAL_SECONDS
        met = met and figures["peak_mib"] < REFUSAL_PEAK_GOAL_MIB
        decode[f"pillow_guard_{guard}"] = {**figures, "goal": "met" if met else "MISSED"}
    shutil.rmtree(work)
    results["decode"] = decode


def synthetic_labels_csv(count: int) -> str:
    """A labels CSV for validation images 1..count (the real one is not in the file list)."""
    rows = [f"UID_{80 + number % 10}_{number}_1_all.bmp,{number}.bmp,1\n" for number in range(1, count + 1)]
    return "Patient_ID,new_names,labels\n" + "".join(rows)


def build_tree(lines: list[str]) -> Path:
    """The real file list as empty files, in RAM (/dev/shm) where there is one; returns the parent."""
    shm = Path("/dev/shm")
    parent = Path(tempfile.mkdtemp(prefix="cnmc-bench-", dir=shm if shm.is_dir() else None))
    for line in lines:
        path = parent / line
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    validation = sum("C-NMC_test_prelim_phase_data/" in line for line in lines)
    csv = parent / "C-NMC_Leukemia" / "validation_data" / "C-NMC_test_prelim_phase_data_labels.csv"
    csv.write_text(synthetic_labels_csv(validation))
    return parent


def bench_index(results: dict) -> None:
    """Index the real 15,114-path C-NMC layout (empty files), then the Explore page's summaries over it."""
    from core.data.index import index_dataset
    from core.reporting import explorer

    if not FILE_LIST.is_file():
        results["index"] = {"skipped": f"{FILE_LIST} not found"}
        return
    lines = FILE_LIST.read_text().split()
    parent = build_tree(lines)
    try:
        index_seconds = best_of(lambda: index_dataset(parent / "C-NMC_Leukemia"), repeats=5, warmup=1)
        records = index_dataset(parent / "C-NMC_Leukemia").records
    finally:
        shutil.rmtree(parent)

    def summaries() -> None:
        explorer.images_per_subject(records)
        explorer.page_count(len(explorer.filter_records(records, label="hem")), 12)
        explorer.page_items(explorer.filter_records(records, split="fold_2"), 10_000, 12)

    summary_seconds = best_of(summaries, repeats=5, warmup=1)
    results["index"] = {
        "files": len(lines), "records": len(records),
        "index_seconds": round(index_seconds, 3),
        "index_goal": f"< {INDEX_GOAL_SECONDS} s ({verdict(index_seconds, INDEX_GOAL_SECONDS)})",
        "explorer_summaries_seconds": round(summary_seconds, 4),
        "explorer_summaries_goal": f"< {INDEX_GOAL_SECONDS} s ({verdict(summary_seconds, INDEX_GOAL_SECONDS)})",
    }
