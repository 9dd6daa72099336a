"""Reinhard stain normalisation of segmented cells towards a reference stain (another lab's colours -> C-NMC's).

Reinhard, Ashikhmin, Gooch and Shirley, "Color transfer between images", IEEE Computer Graphics and
Applications 21(5), 2001: in a perceptual colour space each channel's mean and standard deviation are
moved to the reference's. Here the space is OpenCV's 8-bit CIE L*a*b* and the statistics are taken
over the cell only (the non-black pixels of a cut-out), never over the black background, so it runs
after segmentation. The reference is fitted on many cells (the model's training cells, or a folder of
C-NMC cells), not on one.

>>> normaliser = ReinhardNormaliser().fit(reference_cells_rgb)  # doctest: +SKIP
>>> cell_rgb = normaliser.transform(cut_out_rgb)  # doctest: +SKIP
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from core.errors import PreprocessingError

# A pixel belongs to the cell when its grey level is above this (C-NMC backgrounds are exactly 0).
CELL_LEVEL = 16
REFERENCE_SUFFIXES = frozenset({".bmp", ".png", ".jpg", ".jpeg", ".tif", ".tiff"})
SPACE = "CIE L*a*b*, OpenCV 8-bit"
SIDECAR_KEY = "stain_reference"  # the sidecar entry holding the model's training cells' `StainStats.as_dict`
MIN_STD = 1.0  # A channel flatter than this (8-bit L*a*b* units) is only shifted, never stretched.


@dataclass(frozen=True)
class StainStats:
    """Mean and standard deviation of the cell pixels' L*, a*, b* (OpenCV 8-bit scale, 0-255 each)."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def as_dict(self) -> dict:
        """A JSON-ready form, for a sidecar or a report."""
        return {"space": SPACE, "mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_dict(cls, entry: dict) -> StainStats:
        """The inverse of `as_dict` (a sidecar's `stain_reference` entry).

        Raises:
            ValueError: the entry is not three means and three standard deviations in this space.
        """
        if not isinstance(entry, dict) or entry.get("space") != SPACE:
            raise ValueError(f"a stain reference must be a dict in the space {SPACE!r}")
        mean, std = entry.get("mean"), entry.get("std")
        if not (isinstance(mean, list) and isinstance(std, list) and len(mean) == len(std) == 3):
            raise ValueError("a stain reference needs three means and three standard deviations")
        return cls(tuple(float(v) for v in mean), tuple(float(v) for v in std))


def cell_pixels_lab(cell_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB cell on black -> (N, 3) float32 L*a*b* of its non-black pixels."""
    grey = cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2LAB)
    return lab[grey > CELL_LEVEL].astype(np.float32)


def stain_stats(cells_rgb: Iterable[np.ndarray]) -> StainStats:
    """The pooled L*a*b* statistics of the cell pixels of one or more cells on black.

    Raises:
        PreprocessingError: no cell pixel at all (only black images).
    """
    pixels = [cell_pixels_lab(cell) for cell in cells_rgb]
    pooled = np.concatenate(pixels) if pixels else np.empty((0, 3), np.float32)
    if pooled.shape[0] == 0:
        raise PreprocessingError("No cell pixels to measure the stain on: every image given is black.")
    mean, std = pooled.mean(axis=0), pooled.std(axis=0)
    return StainStats(tuple(float(v) for v in mean), tuple(float(v) for v in std))


class ReinhardNormaliser:
    """Move a cell's colour statistics to a reference's (fit on reference cells, then transform each cell)."""

    def __init__(self, reference: StainStats | None = None) -> None:
        self.reference = reference

    def fit(self, reference_cells_rgb: Iterable[np.ndarray]) -> ReinhardNormaliser:
        """Take the reference statistics from cells on black ((H, W, 3) uint8 RGB each); returns self."""
        self.reference = stain_stats(reference_cells_rgb)
        return self

    def transform(self, cell_rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 RGB cell on black -> the same cell in the reference stain; the background stays black.

        Raises:
            ValueError: `fit` was not called and no reference was given.
            PreprocessingError: the image holds no cell pixel.
        """
        if self.reference is None:
            raise ValueError("ReinhardNormaliser has no reference stain: call fit(reference_cells) or pass one.")
        source = stain_stats([cell_rgb])
        grey = cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2GRAY)
        lab = cv2.cvtColor(cell_rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
        for channel in range(3):
            gain = self.reference.std[channel] / max(MIN_STD, source.std[channel])
            lab[..., channel] = (lab[..., channel] - source.mean[channel]) * gain + self.reference.mean[channel]
        moved = cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2RGB)
        cell = grey > CELL_LEVEL
        moved[cell] = np.maximum(moved[cell], 1)  # A cell pixel never turns into background.
        moved[~cell] = 0
        return moved


def model_reference(metadata: dict) -> StainStats | None:
    """The stain of the model's training cells, from its sidecar (`SIDECAR_KEY`), or None when it records none.

    A malformed entry counts as none (the sidecar's validation reports it); train.py writes it.
    """
    entry = metadata.get(SIDECAR_KEY)
    if entry is None:
        return None
    try:
        return StainStats.from_dict(entry)
    except ValueError:
        return None


def normaliser_from_folder(cells_dir: str | os.PathLike) -> ReinhardNormaliser:
    """A `ReinhardNormaliser` fitted on the image files in `cells_dir` (segmented cells on black).

    Raises:
        PreprocessingError: the folder holds no image file, or only black ones.
        ImageLoadError: one of its files cannot be read.
    """
    from core.imaging.decode import load_image

    folder = Path(cells_dir)
    paths = sorted(path for path in folder.glob("*") if path.suffix.lower() in REFERENCE_SUFFIXES) if folder.is_dir() else []
    if not paths:
        raise PreprocessingError(f"{folder} holds no image files to take the reference stain from; "
                                 "give a folder of segmented cells on black (C-NMC cells, for example).")
    return ReinhardNormaliser().fit(load_image(path).image_rgb for path in paths)
