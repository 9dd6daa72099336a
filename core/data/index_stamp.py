"""When a dataset index is stale: a stamp of every folder the index lists and of the labels CSV it reads.

A folder's modification time changes when an entry is added to, removed from or renamed in it, not
when something changes in one of its sub-folders: a cache keyed on the top folder's time alone kept
an index that missed a cell added to `training_data/fold_0/all/`. This stamp holds the time of each
folder of the C-NMC layout (`core.data.layout`) and the time and size of the validation labels CSV,
about 15 `stat` calls and no listing, cheap enough for every Streamlit rerun. On a file system whose
times have a coarse resolution (FAT: 2 s) two changes within that time read as one.

>>> stamp = index_stamp("data/demo/C-NMC_Leukemia")  # doctest: +SKIP
>>> stamp == index_stamp("data/demo/C-NMC_Leukemia")  # doctest: +SKIP
True
"""
from __future__ import annotations

import os
from pathlib import Path

from core.data.index import find_dataset_root
from core.data.labels import LABELS
from core.data.layout import EXPECTED_ENTRIES, SPLIT_FOLDERS, TRAINING_FOLDS, VALIDATION_CSV
from core.errors import DatasetError

# Relative to the dataset root: every folder whose entries the index lists or checks, then the labels CSV.
LAYOUT_PATHS: tuple[str, ...] = tuple(dict.fromkeys([
    *EXPECTED_ENTRIES, *SPLIT_FOLDERS.values(),
    *(f"{SPLIT_FOLDERS[fold]}/{label}" for fold in TRAINING_FOLDS for label in LABELS),
    VALIDATION_CSV,
]))


def _path_stamp(path: Path) -> tuple[int, int]:
    """(modification time in ns, size in bytes) of a path, links followed; (0, 0) when it is missing or unreadable."""
    try:
        status = os.stat(path)
    except OSError:
        return 0, 0
    return status.st_mtime_ns, status.st_size


def index_stamp(path: str | Path) -> tuple:
    """A value that changes whenever `core.data.index.index_dataset(path)` could answer differently.

    Args:
        path: what `index_dataset` takes: the C-NMC_Leukemia folder, its parent or its training_data.

    Returns:
        (the root, then (mtime ns, size) of each of `LAYOUT_PATHS` under it); for a path that is not a
        C-NMC folder, (the path, its own stamp), so that the folder is looked at again once it changes.
    """
    try:
        root = find_dataset_root(path)
    except DatasetError:
        return str(path), _path_stamp(Path(path).expanduser())
    return (str(root), *(_path_stamp(root / relative) for relative in LAYOUT_PATHS))
