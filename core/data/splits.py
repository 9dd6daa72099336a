"""Train/validation splits of indexed C-NMC records: by subject (honest) or by image (the original).

C-NMC has many images per subject (9 to 757). A random image split puts images of the same
patient on both sides, so validation accuracy measures recognising patients as much as cells.
`subject_split` keeps every subject on one side; `image_split` reproduces the original method's
stratified random 80/20 image split, for comparison.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import train_test_split

from core.data.index import DatasetIndex, ImageRecord
from core.data.labels import LABELS
from core.data.names import natural_sort_key


@dataclass(frozen=True)
class Split:
    """Two disjoint lists of records; `kind` is "subject" or "image", `seed` made it."""

    train: list[ImageRecord]
    validation: list[ImageRecord]
    kind: str
    seed: int

    def subjects(self) -> dict[str, list[str]]:
        """{"train": [...], "validation": [...]}: the subject ids on each side, naturally sorted."""
        sides = {"train": self.train, "validation": self.validation}
        return {
            side: sorted({record.subject for record in records if record.subject}, key=natural_sort_key)
            for side, records in sides.items()
        }


def _check_fraction(validation_fraction: float) -> None:
    """Raise a ValueError unless 0 < validation_fraction < 1."""
    if not 0 < validation_fraction < 1:
        raise ValueError(
            f"validation_fraction must lie strictly between 0 and 1 (e.g. 0.2); got {validation_fraction!r}."
        )


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


def _subjects_by_label(records: Sequence[ImageRecord]) -> dict[str, Counter]:
    """For each label, the image count of each of its subjects.

    Raises:
        ValueError: a subject has images of both labels, or a label has fewer than 2 subjects.
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
    counts = {label: Counter() for label in LABELS}
    for record in records:
        counts[record.label][record.subject] += 1
    too_few = {label: sorted(subjects) for label, subjects in counts.items() if len(subjects) < 2}
    if too_few:
        raise ValueError(
            f"A subject split needs at least 2 subjects of each label, so both sides see both classes; "
            f"these labels have fewer: {too_few}. Add subjects, or use image_split."
        )
    return counts


def _pick_validation_subjects(
    image_counts: Counter, validation_fraction: float, rng: np.random.Generator
) -> set[str]:
    """Subjects of one label whose images add up to about `validation_fraction` of that label.

    The subjects are visited in a seeded random order; each one joins the validation side when
    that brings the image total closer to the target. At least one subject ends on each side.
    """
    subjects = sorted(image_counts, key=natural_sort_key)
    order = [subjects[position] for position in rng.permutation(len(subjects))]
    target = validation_fraction * sum(image_counts.values())
    chosen: list[str] = []
    total = 0
    for subject in order:
        if abs(total + image_counts[subject] - target) < abs(total - target):
            chosen.append(subject)
            total += image_counts[subject]
    if not chosen:
        chosen.append(min(order, key=lambda subject: image_counts[subject]))
    if len(chosen) == len(subjects):
        chosen.pop()
    return set(chosen)


def subject_split(records: Sequence[ImageRecord], validation_fraction: float = 0.2, seed: int = 0) -> Split:
    """Split records so that no subject appears on both sides, stratified by label.

    Each label's subjects are split separately, aiming at `validation_fraction` of that label's
    images, so both sides hold both classes. The result depends only on the records' subjects,
    labels and `seed`, not on their order; each side keeps the input order.

    Raises:
        ValueError: a bad fraction, a record without label or subject, a subject with both
            labels, or fewer than 2 subjects of a label.
    """
    _check_fraction(validation_fraction)
    _check_labelled(records, need_subjects=True)
    rng = np.random.default_rng(seed)
    validation_subjects: set[str] = set()
    image_counts = _subjects_by_label(records)
    for label in LABELS:
        validation_subjects |= _pick_validation_subjects(image_counts[label], validation_fraction, rng)
    return Split(
        train=[record for record in records if record.subject not in validation_subjects],
        validation=[record for record in records if record.subject in validation_subjects],
        kind="subject",
        seed=seed,
    )


def image_split(records: Sequence[ImageRecord], validation_fraction: float = 0.2, seed: int = 0) -> Split:
    """The original method's split: random images, stratified by label (subjects leak across).

    Raises:
        ValueError: a bad fraction, a record without label, or a label with fewer than 2 images.
    """
    _check_fraction(validation_fraction)
    _check_labelled(records, need_subjects=False)
    labels = [record.label for record in records]
    rare = {label: count for label, count in Counter(labels).items() if count < 2}
    if rare:
        raise ValueError(f"A stratified image split needs at least 2 images per label; got {rare}.")
    train_positions, validation_positions = train_test_split(
        np.arange(len(records)), test_size=validation_fraction, random_state=seed, stratify=labels
    )
    return Split(
        train=[records[position] for position in sorted(train_positions)],
        validation=[records[position] for position in sorted(validation_positions)],
        kind="image",
        seed=seed,
    )


def external_test_set(index: DatasetIndex) -> list[ImageRecord]:
    """The labelled records of the validation folder (C-NMC's preliminary test set); [] if none."""
    return [record for record in index.by_split("validation") if record.label is not None]
