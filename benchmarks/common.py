"""What every benchmark section shares: timing, the sample image, a full-size classifier, child processes.

Memory figures come from child processes (`run_child`): a process's peak resident memory
(VmHWM in /proc/self/status) only ever grows, so a figure taken in the process that ran
the other sections would measure them too.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT.parent / "shared" / "data" / "cnmc_sample_cell.bmp"
FILE_LIST = ROOT.parent / "shared" / "data" / "cnmc_file_list.txt"

# Pasted at the top of every child script: `peak_mib()` is the child's own peak resident memory.
CHILD_PRELUDE = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
def peak_mib():
    status = Path("/proc/self/status").read_text()
    return round(int(status.split("VmHWM:")[1].split()[0]) / 1024, 1)
"""


def best_of(function: Callable[[], object], repeats: int = 7, warmup: int = 2) -> float:
    """Median seconds of `repeats` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def run_child(body: str, *args: str, timeout: float = 900) -> dict:
    """Run `body` (after CHILD_PRELUDE) in a fresh interpreter; it prints one JSON object last.

    Raises:
        RuntimeError: the child failed; its stderr's last lines say why.
    """
    code = CHILD_PRELUDE.format(root=str(ROOT)) + body
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    completed = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                               cwd=ROOT, env=env, timeout=timeout)
    if completed.returncode != 0:
        raise RuntimeError(f"benchmark child failed ({completed.returncode}):\n{completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def sample_bytes() -> bytes:
    """The real sample cell, or a synthetic one where shared/ is absent."""
    if SAMPLE.is_file():
        return SAMPLE.read_bytes()
    import cv2

    from core.data.synthetic import make_subject_style, render_cell

    rng = np.random.default_rng(0)
    image_rgb = render_cell(rng, "all", make_subject_style(rng, "all"))
    return cv2.imencode(".bmp", image_rgb[:, :, ::-1])[1].tobytes()


def large_png(number: int, side: int) -> bytes:
    """A bright disk on black, placed by `number`: a distinct side x side grayscale picture in a small PNG.

    At 6000 px (36 MP, the largest accepted) the file is about 172 KB and decodes to about 100 MB of RGB.
    """
    import io

    from PIL import Image, ImageDraw

    image = Image.new("L", (side, side))
    offset = 200 + 23 * number
    ImageDraw.Draw(image).ellipse((offset, offset, offset + side // 3, offset + side // 3), fill=180)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def full_size_classifier(image_size: int = 224):
    """A randomly initialised ResNet50 classifier, saved and loaded as the app does: speed does not depend on the weights."""
    from core.model.inference import Classifier
    from core.model.network import build_classifier
    from core.model.store import base_metadata, load_classifier, save_model

    path = Path(tempfile.mkdtemp()) / "bench.keras"
    save_model(build_classifier(image_size, weights=None), path, base_metadata(image_size))
    classifier = Classifier(load_classifier(path))
    classifier.warm_up()
    return classifier


def milliseconds(seconds: float) -> float:
    return round(seconds * 1000, 1)


def verdict(value: float, goal: float) -> str:
    """'met' or 'MISSED' for a figure whose goal is an upper bound."""
    return "met" if value <= goal else "MISSED"
