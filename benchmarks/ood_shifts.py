"""The shifted cells of the OOD study as the files a user would upload: `core.imaging.shifts` at every strength.

Each shifted image becomes PNG bytes (JPEG bytes for the JPEG shift: the file itself), so the study
decodes it with the app's `core.imaging.decode.load_image` like any upload.
"""
from __future__ import annotations

import cv2
import numpy as np

from core.imaging import shifts


def png_bytes(image_rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", np.ascontiguousarray(image_rgb[:, :, ::-1]))[1].tobytes()


def upload_bytes(name: str, image_rgb: np.ndarray, strength: float) -> bytes:
    """The file of one cell under one shift: the JPEG itself for "jpeg_quality", else a PNG of the shifted image."""
    if name == "jpeg_quality":
        return shifts.jpeg_bytes(image_rgb, strength)
    return png_bytes(shifts.SHIFTS[name][0](image_rgb, strength))


def shifted_sources(cells_rgb: list[np.ndarray]) -> dict[str, list[bytes]]:
    """{"blur_sigma=2": [file bytes per cell], ...} for every shift and strength."""
    return {shifts.shift_name(name, strength): [upload_bytes(name, cell, strength) for cell in cells_rgb]
            for name, (_, strengths) in shifts.SHIFTS.items() for strength in strengths}
