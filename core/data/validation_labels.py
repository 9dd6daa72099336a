"""The validation folder's labels CSV (`Patient_ID,new_names,labels`; 1 = all, 0 = hem).

Bad rows are reported, one warning per kind of problem, and never silently dropped.
"""
from __future__ import annotations

import csv
from pathlib import Path

from core.data.labels import LABEL_CODES
from core.data.names import describe as _describe
from core.data.names import parse_training_name

CSV_LABELS = {str(code): label for label, code in LABEL_CODES.items()}  # {"0": "hem", "1": "all"}


def read_validation_labels(csv_path: Path, warnings: list[str]) -> dict[str, tuple]:
    """Map each lower-cased image name (`new_names`) to its (label, subject) from the labels CSV."""
    if not csv_path.is_file():
        warnings.append(f"No labels CSV at {csv_path}: validation images are unlabeled.")
        return {}
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
            missing = [name for name in ("new_names", "labels") if name not in reader.fieldnames]
            if missing:
                warnings.append(f"Labels CSV {csv_path} lacks column(s) {missing} (found "
                                f"{reader.fieldnames}); validation images are unlabeled.")
                return {}
            if "Patient_ID" not in reader.fieldnames:
                warnings.append(f"Labels CSV {csv_path} has no Patient_ID column: subjects unknown.")
            return _label_rows(reader, csv_path, warnings)
    except (UnicodeDecodeError, csv.Error) as error:
        warnings.append(f"Labels CSV {csv_path} is unreadable ({error}); images unlabeled.")
        return {}


def _label_rows(rows: csv.DictReader, csv_path: Path, warnings: list[str]) -> dict[str, tuple]:
    """Keep rows with an image name and a 0/1 label; report bad rows in one warning per kind."""
    labels: dict[str, tuple] = {}
    invalid, duplicates, no_subject = [], [], []
    for row in rows:
        name, value = (row["new_names"] or "").strip(), (row["labels"] or "").strip()
        where = f"line {rows.line_num} ({name or 'no name'}, label {value!r})"
        if not name or value not in CSV_LABELS:
            invalid.append(where)
        elif name.lower() in labels:
            duplicates.append(where)
        else:
            subject = _csv_subject(row)
            if subject is None and "Patient_ID" in row:
                no_subject.append(f"line {rows.line_num} ({row['Patient_ID']!r})")
            labels[name.lower()] = (CSV_LABELS[value], subject)
    for problems, meaning in (
        (invalid, "lack an image name or a 0/1 label; those images stay unlabeled"),
        (duplicates, "repeat an earlier image; the first row is kept"),
        (no_subject, "have a Patient_ID that is not UID_{subject}_..._{class}.bmp; subject unknown"),
    ):
        if problems:
            warnings.append(f"{len(problems)} row(s) of {csv_path} {meaning}: {_describe(problems)}.")
    return labels


def _csv_subject(row: dict[str, str | None]) -> str | None:
    """The subject named by a CSV row's `Patient_ID` (the original file name), or None."""
    try:
        return parse_training_name((row.get("Patient_ID") or "").strip())[0]
    except ValueError:
        return None
