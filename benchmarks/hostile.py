"""`python -m core.predict` on each hostile model file: refused with one line, exit 2, and a small peak memory.

Each case is a copy of a tiny (64 px) saved classifier, spoiled the way an attacker would
(issue: untrusted input everywhere). Each runs in its own process, started by a lean launcher;
its peak resident memory is the child's `ru_maxrss` from `os.wait4`. Goals: exit status 2, exactly one line on stderr, no
"Traceback", peak under 1.8 GB. TensorFlow's own C++ start-up lines (absl's format), printed on
stderr by any run that imports Keras, are counted apart.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from benchmarks.common import ROOT, verdict

PEAK_GOAL_MIB = 1.8 * 1024
# TensorFlow's own C++ start-up lines (absl's log format), printed whenever Keras is imported: not ours.
TENSORFLOW_LINE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWEF]\d{4} \d\d:\d\d:\d\d)")
MARKUP = "[Click here](http://127.0.0.2/phish) ![x](http://127.0.0.2/beacon.png)"


def _edit_sidecar(path: Path, **fields) -> None:
    sidecar = path.with_suffix(".json")
    sidecar.write_text(json.dumps({**json.loads(sidecar.read_text()), **fields}))


def _rewrite_config(path: Path, change) -> None:
    """Replace the archive's config.json by `change(config text)`, keeping the other members."""
    with zipfile.ZipFile(path) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    members["config.json"] = change(members["config.json"].decode()).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
        for name, data in members.items():
            target.writestr(name, data)


def _markup_class(text: str) -> str:
    config = json.loads(text)
    config["config"]["layers"][-1]["class_name"] = MARKUP
    return json.dumps(config)


def _huge_sidecar(path: Path) -> None:
    with open(path.with_suffix(".json"), "r+b") as handle:
        handle.truncate(300 * 1024 * 1024)  # Sparse: 300 MB on paper.


CASES = {
    "sidecar threshold \"abc\"": lambda path: _edit_sidecar(path, threshold="abc"),
    "sidecar threshold NaN": lambda path: _edit_sidecar(path, threshold=float("nan")),
    "sidecar image_size a list": lambda path: _edit_sidecar(path, image_size=[64, 64]),
    "model and sidecar say 12,000 px": lambda path: (_rewrite_config(path, lambda text: text.replace("[null, 64, 64, 3]", "[null, 12000, 12000, 3]")),
                                                      _edit_sidecar(path, image_size=12000, sha256=None)),
    "sidecar of 300 MB": _huge_sidecar,
    "config.json padded to 300 MB": lambda path: (_rewrite_config(path, lambda text: text + " " * (300 * 1024 * 1024)),
                                                   _edit_sidecar(path, sha256=None)),
    "weights changed (SHA-256 mismatch)": lambda path: _edit_sidecar(path, sha256="0" * 64),
    "layer class named with Markdown": lambda path: _rewrite_config(path, _markup_class),
}


def _tiny_model(folder: Path) -> Path:
    from core.model.network import build_classifier
    from core.model.store import base_metadata, save_model

    path = folder / "tiny.keras"
    save_model(build_classifier(image_size=64, weights=None), path, base_metadata(64))
    return path


def _cell(folder: Path) -> Path:
    from benchmarks.common import sample_bytes

    path = folder / "cell.bmp"
    path.write_bytes(sample_bytes())
    return path


# A lean launcher: a child's peak memory on Linux counts what it held before exec, so the CLI is started
# by this small interpreter, not by the benchmark process that holds TensorFlow and a 300 MB config.
LAUNCHER = """
import json, os, subprocess, sys
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
stdout, stderr = child.stdout.read(), child.stderr.read()
_, status, usage = os.wait4(child.pid, 0)
print(json.dumps({"exit": os.waitstatus_to_exitcode(status), "stdout": stdout, "stderr": stderr, "maxrss_kib": usage.ru_maxrss}))
"""


def run_case(model: Path, cell: Path) -> dict:
    """Run `python -m core.predict --model MODEL CELL` in its own process; exit status, stderr lines, peak MiB."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("LEUKEMIA_ALLOW_MODIFIED_MODEL", None)
    command = [sys.executable, "-c", LAUNCHER, sys.executable, "-m", "core.predict", "--model", str(model), str(cell)]
    child = json.loads(subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True).stdout)
    lines = [line for line in child["stderr"].splitlines() if line.strip()]
    ours = [line for line in lines if not TENSORFLOW_LINE.match(line)]
    return {"exit": child["exit"], "stderr_lines": len(ours), "tensorflow_startup_lines": len(lines) - len(ours),
            "traceback": "Traceback" in child["stderr"] + child["stdout"],
            "peak_mib": round(child["maxrss_kib"] / 1024, 1), "message": ours[-1][:160] if ours else ""}


def bench_hostile(results: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="hostile-"))
    try:
        tiny, cell = _tiny_model(folder), _cell(folder)
        cases = {}
        for number, (name, spoil) in enumerate(CASES.items()):
            case = folder / f"case{number}"
            case.mkdir()
            model = case / "model.keras"
            shutil.copy(tiny, model)
            shutil.copy(tiny.with_suffix(".json"), model.with_suffix(".json"))
            spoil(model)
            cases[name] = run_case(model, cell)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    worst = max(case["peak_mib"] for case in cases.values())
    refused = all(case["exit"] == 2 and case["stderr_lines"] == 1 and not case["traceback"] for case in cases.values())
    results["hostile"] = {
        "cases": cases,
        "all_refused_with_one_line_and_exit_2": refused,
        "worst_peak_mib": worst,
        "peak_goal": f"< {PEAK_GOAL_MIB:.0f} MiB ({verdict(worst, PEAK_GOAL_MIB)})",
    }
