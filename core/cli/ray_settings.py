"""What every preparing and model actor of one `core.predict --engine ray` run needs, read on the driver.

`settings_for` builds a run's `RunSettings` from the command's arguments; the model's sidecar is read
without TensorFlow (`recorded_sidecar`), for the input size (`recorded_image_size`) and for whether the
model's OOD score reads each cell's stain and texture statistics (`reads_statistics`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelError

if TYPE_CHECKING:
    from core.imaging.stain import ReinhardNormaliser


@dataclass(frozen=True)
class RunSettings:
    """What every task and actor of one run needs: the model file and the local engine's options."""

    model_path: str
    image_size: int
    with_tta: bool = False
    error_rate: float | None = None
    normaliser: ReinhardNormaliser | None = None
    folder: str = ""  # the driver's working folder, which relative input paths are read from
    statistics: bool = True  # the model's OOD score reads each cell's statistics (`reads_statistics`)


def recorded_sidecar(model_path: str) -> dict[str, Any] | None:
    """The model's sidecar, read and checked without TensorFlow: {} without one, None for one that is refused
    (loading the model then says why, in the local engine's words)."""
    from core import config
    from core.model.sidecar_schema import read_sidecar_file

    sidecar = config.sidecar_path(Path(model_path).expanduser())
    try:
        return read_sidecar_file(sidecar) if sidecar.is_file() else {}
    except ModelError:
        return None


def recorded_image_size(model_path: str) -> int | None:
    """The input size the model's sidecar records; None without a sidecar that records one."""
    size = (recorded_sidecar(model_path) or {}).get("image_size")
    return int(size) if size else None


def reads_statistics(model_path: str) -> bool:
    """Whether the model's OOD score reads a cell's stain and texture statistics: its sidecar's index records their
    Gaussian (`core.model.evidence`). A model without an index, or with the older k-NN score, reads none, so its
    preparing actors work none out; a sidecar that is refused gives True (the actors' load then refuses the model)."""
    from core.model.ood import ENTRY_KEY

    sidecar = recorded_sidecar(model_path)
    if sidecar is None:
        return True
    entry = sidecar.get("embedding_index")
    return isinstance(entry, dict) and ENTRY_KEY in entry


def settings_for(args: Any, image_size: int, normaliser: ReinhardNormaliser | None) -> RunSettings:
    """The run's settings from `core.predict`'s arguments."""
    model_path = str(Path(args.model).expanduser().resolve())
    return RunSettings(model_path, image_size, args.tta, args.error_rate, normaliser, os.getcwd(),
                       reads_statistics(model_path))
