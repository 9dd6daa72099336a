"""C-NMC file names: parsing `UID_{subject}_{image}_{cell}_{class}.{ext}`, grouping by subject, natural order, short lists.

The dataset ships BMP files, but its cells travel as PNG, JPEG or TIFF too (shared/data/real_cells
holds PNG copies under their original names), so the name is recognised with any image suffix
of `core.config.ARCHIVE_IMAGE_SUFFIXES`, in any case.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TypeVar

from core.config import ARCHIVE_IMAGE_SUFFIXES

DIGIT_RUNS = re.compile(r"(\d+)")
_SUFFIXES = "|".join(re.escape(suffix.lstrip(".")) for suffix in ARCHIVE_IMAGE_SUFFIXES)
TRAINING_NAME = re.compile(rf"UID_(H?\d+)_(\d+)_(\d+)_(all|hem)\.(?:{_SUFFIXES})", re.IGNORECASE)
_PATH_SEPARATORS = re.compile(r"[\\/]")

Item = TypeVar("Item")


def natural_sort_key(text: str) -> tuple:
    """Sort key that orders digit runs by value: "2.bmp" before "10.bmp"."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in DIGIT_RUNS.split(text))


def parse_training_name(name: str) -> tuple[str, str]:
    """Read (subject, label) from a training file name such as `UID_H10_3_1_hem.bmp` or `UID_11_2_2_all.png`.

    The subject is upper-cased (`UID_h3_...` gives "H3"); the label is "all" or "hem". Any suffix of
    `config.ARCHIVE_IMAGE_SUFFIXES` is accepted, in any case.

    >>> parse_training_name("UID_h3_10_1_hem.JPG")
    ('H3', 'hem')

    Raises:
        ValueError: the name does not follow `UID_{subject}_{image}_{cell}_{all|hem}.{image suffix}`.
    """
    match = TRAINING_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} does not match UID_{{subject}}_{{image}}_{{cell}}_{{all|hem}} with an image "
                         f"suffix ({', '.join(ARCHIVE_IMAGE_SUFFIXES)})")
    return match.group(1).upper(), match.group(4).lower()


def subject_of(name: str) -> str | None:
    """The C-NMC subject a file name carries ("H3", "51"), or None; a path ("x.zip/cells/UID_...") counts by its last part."""
    try:
        return parse_training_name(_PATH_SEPARATORS.split(name)[-1])[0]
    except ValueError:
        return None


def group_by_subject(files: Iterable[Item], name_of: Callable[[Item], str] = str) -> dict[str | None, list[Item]]:
    """The files by the C-NMC subject their names carry, subjects in order of first appearance, files in given order.

    Args:
        files: anything naming a file: names, paths, or (name, bytes) pairs with `name_of` picking the name.
        name_of: the file name (or a path ending in it) of one item.

    Returns:
        {subject: its files}; files whose names carry no subject are gathered under None.

    >>> group_by_subject(["UID_11_1_1_all.png", "x/UID_h3_2_1_hem.bmp", "cell.png", "UID_11_2_1_all.jpg"])
    {'11': ['UID_11_1_1_all.png', 'UID_11_2_1_all.jpg'], 'H3': ['x/UID_h3_2_1_hem.bmp'], None: ['cell.png']}
    """
    groups: dict[str | None, list[Item]] = {}
    for item in files:
        groups.setdefault(subject_of(name_of(item)), []).append(item)
    return groups


def describe(names: list[str], limit: int = 5) -> str:
    """A short list of names for a message: "a, b, c (and 12 more)"."""
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
