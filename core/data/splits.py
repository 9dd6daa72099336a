"""Splits of indexed C-NMC training-fold records into three roles: by subject (honest) or by image (the original).

Every record of the training folds gets one role (`core.data.sides.ROLES`):
- train: the weights are fitted on it;
- tuning: early stopping, the checkpoint kept and the learning-rate schedule read it;
- calibration: the decision threshold, the temperature, the conformal scores and the OOD threshold are set on it.
Model selection and calibration on the same cells would break the exchangeability the conformal guarantee rests
on, so the two held-out roles never share a subject.

C-NMC has many images per subject (9 to 757). A random image split puts images of the same patient in every
role, so held-out accuracy measures recognising patients as much as cells. `subject_split` keeps every subject
in one role; `image_split` reproduces the original method's stratified random image split, cut three ways.

>>> split = subject_split(records, tuning_fraction=0.15, calibration_fraction=0.15, seed=0)  # doctest: +SKIP
>>> split.subjects()["calibration"]  # doctest: +SKIP
['H5', 'H13', ...]
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from core.data.index import DatasetIndex, ImageRecord
from core.data.labels import LABELS
from core.data.names import natural_sort_key
from core.data.sides import CALIBRATION, ROLES, TRAIN, TUNING

CANDIDATE_SHUFFLES = 64  # Seeded shuffles of a label's subjects among which `subject_split` keeps the most even.


@dataclass(frozen=True)
class Split:
    """Three disjoint lists of records, one per role; `kind` is "subject" or "image", `seed` made it."""

    train: list[ImageRecord]
    tuning: list[ImageRecord]
    calibration: list[ImageRecord]
    kind: str
    seed: int

    @property
    def held_out(self) -> list[ImageRecord]:
        """The tuning then the calibration records: the held-out subjects (to a reader) of the training folds."""
        return [*self.tuning, *self.calibration]

    def roles(self) -> dict[str, list[ImageRecord]]:
        """{"train": [...], "tuning": [...], "calibration": [...]}: the records of each role."""
        return {TRAIN: self.train, TUNING: self.tuning, CALIBRATION: self.calibration}

    def subjects(self) -> dict[str, list[str]]:
        """{"train": [...], "tuning": [...], "calibration": [...]}: each role's subject ids, naturally sorted."""
        return {role: sorted({record.subject for record in records if record.subject}, key=natural_sort_key)
                for role, records in self.roles().items()}


def _check_fractions(tuning_fraction: float, calibration_fraction: float) -> None:
    """Raise a ValueError unless both fractions lie in (0, 1) and leave some records for training."""
    for name, value in (("tuning_fraction", tuning_fraction), ("calibration_fraction", calibration_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name} must lie strictly between 0 and 1 (e.g. 0.15); got {value!r}.")
    if tuning_fraction + calibration_fraction >= 1:
        raise ValueError(f"tuning_fraction + calibration_fraction must stay below 1 so that some subjects are trained on; "
                         f"got {tuning_fraction!r} + {calibration_fraction!r}.")


def _check_labelled(records: Sequence[ImageRecord], need_subjects: bool) -> None:
    """Raise a ValueError naming the records that lack a label (or a subject, when needed)."""
    if not records:
        raise ValueError("No records to split: pass labelled records, e.g. index.by_split('fold_0', ...).")
    for field_name in ("label", "subject") if need_subjects else ("label",):
        lacking = [record.path.name for record in records if getattr(record, field_name) is None]
        if lacking:
            raise ValueError(
                f"{len(lacking)} record(s) have no {field_name} (first: {', '.join(lacking[:3])}); "
                f"filter them out first, e.g. [r for r in records if r.{field_name} is not None]."
            )


def _subjects_by_label(records: Sequence[ImageRecord]) -> dict[str, list[str]]:
    """For each label, its subjects, naturally sorted.

    Raises:
        ValueError: a subject has images of both labels, or a label has fewer than 3 subjects (one per role).
    """
    labels_of_subject: dict[str, set[str]] = {}
    for record in records:
        labels_of_subject.setdefault(record.subject, set()).add(record.label)
    mixed = sorted(subject for subject, labels in labels_of_subject.items() if len(labels) > 1)
    if mixed:
        raise ValueError(
            f"Subject(s) {mixed} have images of both labels, but a subject has one diagnosis: "
            "look for files of theirs in the wrong all/ or hem/ folder."
        )
    subjects = {label: sorted({r.subject for r in records if r.label == label}, key=natural_sort_key) for label in LABELS}
    too_few = {label: found for label, found in subjects.items() if len(found) < len(ROLES)}
    if too_few:
        raise ValueError(
            f"A subject split needs at least {len(ROLES)} subjects of each label, so that train, tuning and calibration "
            f"each see both classes; these labels have fewer: {too_few}. Add subjects, or use image_split."
        )
    return subjects


def role_counts(subjects: int, tuning_fraction: float, calibration_fraction: float) -> tuple[int, int]:
    """(tuning, calibration) subject counts for one label: each fraction of `subjects`, rounded half up, at least 1.

    When rounding would leave no subject for training, the larger held-out role gives one back.

    >>> role_counts(26, 0.15, 0.15)  # C-NMC's healthy donors
    (4, 4)
    """
    tuning = max(1, math.floor(tuning_fraction * subjects + 0.5))
    calibration = max(1, math.floor(calibration_fraction * subjects + 0.5))
    while tuning + calibration >= subjects and max(tuning, calibration) > 1:
        if tuning >= calibration:
            tuning -= 1
        else:
            calibration -= 1
    return tuning, calibration


def subject_split(records: Sequence[ImageRecord], tuning_fraction: float, calibration_fraction: float,
                  seed: int = 0) -> Split:
    """Split records into train, tuning and calibration so that no subject is in two roles, stratified by label.

    Each label's subjects are dealt separately: about `tuning_fraction` of them to tuning and
    `calibration_fraction` to calibration (`role_counts`), the rest to train, so every role holds both
    classes. Fractions are of subjects first: the subject is the unit new patients resemble. Which subjects
    go where is a seeded shuffle, the one of CANDIDATE_SHUFFLES that brings each held-out role's share of
    the label's images closest to its fraction too (C-NMC's subjects range from 9 to 757 images). The result depends only on the records' subjects, labels and `seed`,
    not on their order; each role keeps the input order.

    Raises:
        ValueError: bad fractions, a record without label or subject, a subject with both labels, or fewer
            than 3 subjects of a label.
    """
    _check_fractions(tuning_fraction, calibration_fraction)
    _check_labelled(records, need_subjects=True)
    rng = np.random.default_rng(seed)
    images = Counter(record.subject for record in records)
    role_of: dict[str, str] = {}
    for subjects in _subjects_by_label(records).values():
        counts = role_counts(len(subjects), tuning_fraction, calibration_fraction)
        role_of.update(_deal_subjects(subjects, images, counts, (tuning_fraction, calibration_fraction), rng))
    roles = {role: [record for record in records if role_of.get(record.subject, TRAIN) == role] for role in ROLES}
    return Split(roles[TRAIN], roles[TUNING], roles[CALIBRATION], kind="subject", seed=seed)


def _deal_subjects(subjects: list[str], images: Counter, counts: tuple[int, int], fractions: tuple[float, float],
                   rng: np.random.Generator) -> dict[str, str]:
    """{subject: "tuning" or "calibration"} for one label's subjects; the others train.

    Of CANDIDATE_SHUFFLES seeded shuffles, the one whose two held-out roles' image shares come closest to
    `fractions` is kept, so a role holding the fixed number of subjects is not, by chance, one subject of
    757 images or four of 9: every role keeps its subject count and about its share of the cells.
    """
    sizes = np.array([images[subject] for subject in subjects], dtype=float) / sum(images[s] for s in subjects)
    orders = [rng.permutation(len(subjects)) for _ in range(CANDIDATE_SHUFFLES)]
    tuning, calibration = counts

    def distance(order: np.ndarray) -> float:
        shares = sizes[order[:tuning]].sum(), sizes[order[tuning:tuning + calibration]].sum()
        return abs(shares[0] - fractions[0]) + abs(shares[1] - fractions[1])

    best = min(orders, key=distance)  # min keeps the first of equals: the result depends on the seed only.
    return {**{subjects[p]: TUNING for p in best[:tuning]}, **{subjects[p]: CALIBRATION for p in best[tuning:tuning + calibration]}}


def image_split(records: Sequence[ImageRecord], tuning_fraction: float, calibration_fraction: float,
                seed: int = 0) -> Split:
    """The original method's split cut three ways: random images, stratified by label (subjects leak across roles).

    `tuning_fraction` and `calibration_fraction` are shares of the images here; a subject's images lie in
    every role, so neither held-out role measures new patients.

    Raises:
        ValueError: bad fractions, a record without label, or a label with fewer than 3 images.
    """
    _check_fractions(tuning_fraction, calibration_fraction)
    _check_labelled(records, need_subjects=False)
    labels = [record.label for record in records]
    rare = {label: count for label, count in Counter(labels).items() if count < len(ROLES)}
    if rare:
        raise ValueError(f"A stratified three-way image split needs at least {len(ROLES)} images per label; got {rare}.")
    positions = np.arange(len(records))
    rest, calibration = train_test_split(positions, test_size=calibration_fraction, random_state=seed, stratify=labels)
    train, tuning = train_test_split(rest, test_size=tuning_fraction / (1 - calibration_fraction), random_state=seed,
                                     stratify=[labels[position] for position in rest])
    in_order = [[records[position] for position in sorted(chosen)] for chosen in (train, tuning, calibration)]
    return Split(*in_order, kind="image", seed=seed)


def external_test_set(index: DatasetIndex) -> list[ImageRecord]:
    """The labelled records of the validation folder (C-NMC's preliminary test set); [] if none."""
    return [record for record in index.by_split("validation") if record.label is not None]
