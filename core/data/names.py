"""C-NMC file names: parsing `UID_{subject}_{image}_{cell}_{class}.bmp`, natural order, short lists."""
from __future__ import annotations

import re

DIGIT_RUNS = re.compile(r"(\d+)")
TRAINING_NAME = re.compile(r"UID_(H?\d+)_(\d+)_(\d+)_(all|hem)\.bmp", re.IGNORECASE)


def natural_sort_key(text: str) -> tuple:
    """Sort key that orders digit runs by value: "2.bmp" before "10.bmp"."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in DIGIT_RUNS.split(text))


def parse_training_name(name: str) -> tuple[str, str]:
    """Read (subject, label) from a training file name such as `UID_H10_3_1_hem.bmp`.

    The subject is upper-cased (`UID_h3_...` gives "H3"); the label is "all" or "hem".

    Raises:
        ValueError: the name does not follow `UID_{subject}_{image}_{cell}_{all|hem}.bmp`.
    """
    match = TRAINING_NAME.fullmatch(name)
    if match is None:
        raise ValueError(f"{name!r} does not match UID_{{subject}}_{{image}}_{{cell}}_{{all|hem}}.bmp")
    return match.group(1).upper(), match.group(4).lower()


def describe(names: list[str], limit: int = 5) -> str:
    """A short list of names for a message: "a, b, c (and 12 more)"."""
    shown = ", ".join(names[:limit])
    return shown + (f" (and {len(names) - limit} more)" if len(names) > limit else "")
