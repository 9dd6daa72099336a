"""Server memory after many distinct large uploads, through the Classify page's own code path.

Each upload is a PNG of a few tens of kilobytes that decodes to 6000 x 6000 pixels (36 MP, the
largest accepted), each one different, so every one misses the cache. They go through
`ui.classify_widgets.process_upload` (decode, downscale, analyse with 8-view TTA, assess) and
so into the app's process-wide caches, in a child process that holds a full-size (224 px)
ResNet50 as the server does. The figure is the child's resident memory after the last upload
(VmRSS) and its peak (VmHWM), against the 2.5 GB bound in the README's security section.
"""
from __future__ import annotations

from benchmarks.common import run_child, verdict

UPLOADS = 100
SIDE = 6000
BOUND_MIB = 2.5 * 1024

CHILD = """
import gc
from streamlit.logger import set_log_level
from benchmarks.common import full_size_classifier, large_png
from ui.classify_widgets import process_upload
from ui import cache, image_cache

set_log_level("error")

def rss_mib():
    status = Path("/proc/self/status").read_text()
    return round(int(status.split("VmRSS:")[1].split()[0]) / 1024, 1)

uploads, side = int(sys.argv[1]), int(sys.argv[2])
classifier = full_size_classifier()
baseline = rss_mib()
sizes, errors, start = [], [], time.perf_counter()
for number in range(uploads):
    data = large_png(number, side)
    sizes.append(len(data))
    outcome = process_upload(f"large-{number}.png", data, classifier)
    if outcome.error:
        errors.append(outcome.error)
seconds = time.perf_counter() - start
gc.collect()
caches = image_cache.upload_caches()
print(json.dumps({"baseline_mib": baseline, "rss_mib": rss_mib(), "peak_mib": peak_mib(), "seconds": round(seconds, 1),
                  "file_kib_max": round(max(sizes) / 1024, 1), "errors": errors[:3],
                  "cache_entries": {name: len(kept) for name, kept in caches.items()},
                  "cache_mib": {name: round(kept.total_bytes / 2**20, 1) for name, kept in caches.items()}}))
"""


def bench_uploads(results: dict, uploads: int = UPLOADS, side: int = SIDE) -> None:
    """`uploads` distinct side x side PNGs through `process_upload`; resident memory after them against 2.5 GB."""
    child = run_child(CHILD, str(uploads), str(side), timeout=3600)
    assert not child["errors"], child["errors"]
    results["uploads"] = {
        "uploads": f"{uploads} distinct PNGs of at most {child['file_kib_max']} KiB, each {side} x {side} px decoded",
        "after_loading_the_model_mib": child["baseline_mib"],
        "resident_after_uploads_mib": child["rss_mib"],
        "peak_mib": child["peak_mib"],
        "bound": f"<= {BOUND_MIB:.0f} MiB ({verdict(max(child['rss_mib'], child['peak_mib']), BOUND_MIB)})",
        "cache_entries": child["cache_entries"],
        "cache_mib": child["cache_mib"],
        "seconds": child["seconds"],
    }
