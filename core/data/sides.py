"""Which side of a model's training an image was on, in the words people read, and the samples that teach.

A trained model has a split CSV beside it (`<model stem>.split.csv`, columns path,subject,label,side,
paths relative to the dataset root). Its side column gives each image's role: "train" (fitted on),
"tuning" (chose the epoch, the checkpoint and the learning-rate schedule), "calibration" (set the
decision threshold, the temperature, the conformal scores and the OOD threshold) or "external"; models
trained before the roles existed wrote "validation" for one held-out side that did both jobs. A sample
whose subject was seen in training tells little about the model; held-out subjects and the external set
do. To a reader tuning and calibration subjects are both "held-out subjects": `ROLE_NAMES` adds the role
where it matters (the model card, the training log). Without a split CSV the C-NMC folder is all we know:
the labelled validation folder is the external set (as in `core.data.splits.external_test_set`), and a
training fold is named as such.
"""
from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from core import config
from core.data.index import ImageRecord
from core.data.labels import LABELS
from core.data.names import natural_sort_key

TRAIN, TUNING, CALIBRATION, EXTERNAL = "train", "tuning", "calibration", "external"
VALIDATION = "validation"  # The one held-out side of models trained before the roles (and C-NMC's folder name).
ROLES = (TRAIN, TUNING, CALIBRATION)  # The roles of the training folds' subjects, in the split CSV's order.
HELD_OUT_ROLES = (TUNING, CALIBRATION, VALIDATION)  # Split CSV sides whose subjects the model never trained on.
# The words people read for the data splits, everywhere: "validation" is C-NMC's folder name and Keras' val_ prefix only.
HELD_OUT_SUBJECTS, EXTERNAL_SET = "held-out subjects", "external set"
SIDE_NAMES = {TRAIN: "seen in training", TUNING: HELD_OUT_SUBJECTS, CALIBRATION: HELD_OUT_SUBJECTS,
              VALIDATION: HELD_OUT_SUBJECTS, EXTERNAL: EXTERNAL_SET}
# What each held-out role was used for, said where it matters (which figures are in-sample for what).
ROLE_NAMES = {TUNING: "tuning subjects", CALIBRATION: "calibration subjects", VALIDATION: HELD_OUT_SUBJECTS,
              EXTERNAL: EXTERNAL_SET}
ROLE_JOBS = {
    TRAIN: "the weights were fitted on them",
    TUNING: "early stopping, the checkpoint kept and the learning-rate schedule",
    CALIBRATION: "the decision threshold, the temperature, the conformal scores and the OOD threshold",
    VALIDATION: "early stopping, the checkpoint, the learning-rate schedule, the threshold, the temperature, "
                "the conformal scores and the OOD threshold (a model trained before the roles)",
}
def set_words(name: str) -> str:
    """An evaluated set in a sentence: "held-out tuning subjects", "held-out subjects" (older models), "external set"."""
    return f"held-out {ROLE_NAMES[name]}" if name in (TUNING, CALIBRATION) else ROLE_NAMES.get(name, name)


SET_TITLES = {  # The evaluated sets of a model card, and the explorer's held-out sets.
    TUNING: "Held-out subjects: tuning (chose the epoch kept)",
    CALIBRATION: "Held-out subjects: calibration (set the threshold, temperature and conformal scores)",
    VALIDATION: "Held-out subjects (training-fold subjects kept out of training)",
    EXTERNAL: "External set (C-NMC's labelled validation_data folder: other patients)",
}
SPLIT_NAMES = {"validation": "external set (validation_data)", "test": "unlabeled test set"}  # C-NMC folders beyond the folds.
SEEN_IN_TRAINING = SIDE_NAMES[TRAIN]
REAL_CELLS = "real cells (C-NMC 2019)"
SPLIT_CSV_SUFFIX = config.SPLIT_CSV_SUFFIX
REAL_CELLS_DIR = config.PROJECT_ROOT / "data" / "real_cells"
REAL_CELLS_CSV = "labels.csv"
# The order samples are offered in: what the model never saw first, what it trained on last.
OFFER_ORDER = (SIDE_NAMES[VALIDATION], SIDE_NAMES[EXTERNAL], REAL_CELLS, SEEN_IN_TRAINING)


@dataclass(frozen=True)
class Sample:
    """One image a visitor can pick: its file, its label in the dataset, its side and where it comes from.

    `source` is REAL_CELLS for the shipped real cells (None for the dataset's), kept when the model's
    split CSV names the cell's side (a model trained on real C-NMC has likely seen these cells).
    """

    path: Path
    label: str | None
    side: str
    source: str | None = None


def split_csv_path(model_path: str | Path) -> Path:
    """`models/leukemia_resnet50.keras` -> `models/leukemia_resnet50.split.csv`."""
    return config.beside_model(model_path, SPLIT_CSV_SUFFIX)


@dataclass(frozen=True)
class SplitSides:
    """The split CSV beside a model: the side of every image its run used, keyed by relative path parts."""

    sides: dict[tuple[str, ...], str]
    stems: dict[str, str] = field(default_factory=dict)  # file name without suffix -> side, for the real cells

    @classmethod
    def load(cls, model_path: str | Path, synthetic: bool = False) -> SplitSides | None:
        """The split CSV beside `model_path`, or None when there is none (or it cannot be read).

        Args:
            synthetic: the run learned synthetic cells (the demo model). Synthetic names copy C-NMC's, so a
                synthetic UID_3_1_1_all.bmp shares its stem with the real cell UID_3_1_1_all.png: such a
                split never names the side of a shipped real cell (`side_of_stem` gives None).
        """
        try:
            with open(split_csv_path(model_path), newline="") as handle:
                rows = list(csv.DictReader(handle))
        except (OSError, csv.Error, UnicodeDecodeError):
            return None
        usable = [(Path(row["path"]), row["side"]) for row in rows if row.get("path") and row.get("side") in SIDE_NAMES]
        stems = {} if synthetic else {path.stem: side for path, side in usable}
        return cls({path.parts: side for path, side in usable}, stems)

    @cached_property
    def _key_lengths(self) -> list[int]:
        """The lengths of the stored path keys, shortest first (computed once: `side_of` runs per record)."""
        return sorted({len(key) for key in self.sides})

    def role_of(self, path: str | Path) -> str | None:
        """The split CSV's side code for an image path ("train", "tuning", "calibration", ...), or None."""
        parts = Path(path).parts
        for length in self._key_lengths:
            side = self.sides.get(tuple(parts[-length:]))
            if side is not None:
                return side
        return None

    def side_of(self, path: str | Path) -> str | None:
        """The side words for an image path (absolute or relative; matched on its trailing parts), or None."""
        role = self.role_of(path)
        return None if role is None else SIDE_NAMES[role]

    def side_of_stem(self, stem: str) -> str | None:
        """The side words for a file of that name whatever its folder and suffix (a shipped real cell), or None."""
        side = self.stems.get(stem)
        return None if side is None else SIDE_NAMES[side]


def fallback_side(record: ImageRecord) -> str:
    """The side as far as the C-NMC folder tells it, when the model has no split CSV."""
    return SIDE_NAMES[EXTERNAL] if record.split == VALIDATION else f"{record.split} folder"


def side_of_record(record: ImageRecord, sides: SplitSides | None) -> str:
    """The split CSV's side for a dataset record, or the folder's when the CSV does not list it."""
    return (sides.side_of(record.path) if sides is not None else None) or fallback_side(record)


def real_cell_samples(folder: Path = REAL_CELLS_DIR) -> list[Sample]:
    """The real C-NMC cells shipped in `data/real_cells/` (labels from its labels.csv); [] when missing."""
    try:
        with open(folder / REAL_CELLS_CSV, newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return []
    return [Sample(folder / row["file"], row["label"], REAL_CELLS, REAL_CELLS) for row in rows if (folder / row["file"]).is_file()]


def _evenly(items: Sequence, count: int) -> list:
    return list(items[::max(1, len(items) // count)][:count])


def offered_samples(records: Iterable[ImageRecord], sides: SplitSides | None, per_group: int = 3,
                    extra: Sequence[Sample] = ()) -> list[Sample]:
    """Labelled samples, `per_group` of each class and side, held-out sides first (`OFFER_ORDER`).

    Args:
        records: the dataset's records; unlabelled ones are skipped.
        sides: the model's split CSV, or None.
        per_group: how many of each (side, class) to offer, spread evenly through the index.
        extra: further samples to place by their side (the real cells).
    """
    groups: dict[tuple[str, str], list[Sample]] = {}
    for record in records:
        if record.label is not None:
            sample = Sample(Path(record.path), record.label, side_of_record(record, sides))
            groups.setdefault((sample.side, sample.label), []).append(sample)
    for sample in extra:
        known = sides.side_of_stem(sample.path.stem) if sides is not None else None
        sample = Sample(sample.path, sample.label, known or sample.side, sample.source)
        groups.setdefault((sample.side, sample.label or ""), []).append(sample)
    rank = {side: position for position, side in enumerate(OFFER_ORDER)}
    ordered = sorted(groups, key=lambda key: (rank.get(key[0], len(OFFER_ORDER) - 0.5), key[0],
                                              LABELS.index(key[1]) if key[1] in LABELS else len(LABELS)))
    return [sample for key in ordered
            for sample in (groups[key] if groups[key][0].source else _evenly(groups[key], per_group))]


HELD_OUT_SIDES = (SIDE_NAMES[VALIDATION], SIDE_NAMES[EXTERNAL])


@dataclass(frozen=True)
class SubjectCells:
    """The labelled cells of one held-out subject: the unit the patient view answers about.

    Attributes:
        subject: the C-NMC subject code (e.g. "H12", "31").
        label: "all" or "hem": a subject is an ALL patient or a healthy donor.
        side: `SIDE_NAMES` words, "held-out subjects" or "external set".
        paths: its image files, in index order.
        role: the split CSV's side code ("tuning", "calibration", "validation" for an older model,
            "external"), for where the role matters (`ROLE_NAMES`); None when the CSV does not list it.
    """

    subject: str
    label: str
    side: str
    paths: tuple[Path, ...]
    role: str | None = None


def held_out_subjects(records: Iterable[ImageRecord], sides: SplitSides | None) -> list[SubjectCells]:
    """The subjects the model never trained on (tuning and calibration sides of its split CSV, or the external set).

    Records without a subject or label are left out; a subject with cells of both labels is left out
    too (a subject has one diagnosis). Ordered held-out subjects first, then by subject name.
    """
    grouped: dict[tuple[str, str], list[ImageRecord]] = {}
    for record in records:
        side = side_of_record(record, sides) if record.subject and record.label else None
        if side in HELD_OUT_SIDES:
            grouped.setdefault((side, record.subject), []).append(record)
    subjects = []
    for (side, subject), cells in grouped.items():
        found = {cell.label for cell in cells}
        if len(found) == 1:
            role = sides.role_of(cells[0].path) if sides is not None else None
            subjects.append(SubjectCells(subject, found.pop(), side, tuple(Path(cell.path) for cell in cells),
                                         role or (EXTERNAL if side == SIDE_NAMES[EXTERNAL] else None)))
    return sorted(subjects, key=lambda cells: (HELD_OUT_SIDES.index(cells.side), natural_sort_key(cells.subject)))
