"""TensorFlow's start-up chatter kept out of the command lines' output; its errors kept in.

Importing TensorFlow prints, from C++ and before its logging is set up (so
TF_CPP_MIN_LOG_LEVEL cannot hide them), lines a user has no use for: "All log messages
before absl::InitializeLog()", oneDNN's notice, "Could not find cuda drivers", the CPU
features it was not built for, and on a machine without a GPU "failed call to cuInit".
`install()` (run by `core.cli`'s `__init__`, so by every command line) makes the first
`import tensorflow`, wherever it happens, run with file descriptor 2 pointed at a temporary
file, find its devices there too, then write back every line that is not one of those.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

# One pattern per kind of start-up line; anything else TensorFlow prints (its real errors) is kept.
START_UP_NOISE = re.compile("|".join((
    r"All log messages before absl::InitializeLog\(\) is called",
    r"oneDNN custom operations are on", r"TF_ENABLE_ONEDNN_OPTS",
    r"cpu_feature_guard\.cc", r"To enable the following instructions",
    r"cudart_stub\.cc", r"Could not find cuda drivers", r"cuda_platform\.cc", r"failed call to cuInit",
    r"Unable to register cu(DNN|FFT|BLAS) factory", r"computation_placer\.cc", r"TF-TRT Warning",
    r"cuda_executor\.cc", r"gpu_device\.cc:\d+\] Cannot dlopen", r"Skipping registering GPU devices",
)))


@contextmanager
def filtered_stderr(noise: re.Pattern[str] = START_UP_NOISE) -> Iterator[None]:
    """Capture file descriptor 2 (C++ and Python alike) and write back the lines `noise` does not match."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode("utf-8", errors="replace").splitlines(keepends=True)
            sys.stderr.write("".join(line for line in lines if not noise.search(line)))
            sys.stderr.flush()


class _QuietLoader(importlib.abc.Loader):
    """TensorFlow's own loader, run with its start-up lines filtered; everything else passes through."""

    def __init__(self, loader) -> None:
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:
        with filtered_stderr():
            self._loader.exec_module(module)
            module.config.list_physical_devices()  # Device discovery prints "failed call to cuInit".

    def __getattr__(self, name: str):
        return getattr(self._loader, name)


class _QuietTensorFlowFinder(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` as usual, once, and hands back its spec with the loader wrapped."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # One import only; and no recursion into this finder below.
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Hide TensorFlow's start-up lines in this process, wherever it is imported later (idempotent).

    TF_CPP_MIN_LOG_LEVEL=2 (unless the user set it) also hides TensorFlow's later info and
    warning lines; its errors still show.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules or any(isinstance(finder, _QuietTensorFlowFinder) for finder in sys.meta_path):
        return
    sys.meta_path.insert(0, _QuietTensorFlowFinder())
