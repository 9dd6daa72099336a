"""Encoding images for people: PNG bytes for downloads, overlays and self-contained reports."""
from __future__ import annotations

import cv2
import numpy as np


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) uint8 RGB or (H, W) uint8 grey -> the bytes of a PNG file.

    Raises:
        ValueError: the array is not uint8, not 2-D grey or 3-channel colour, or cannot be encoded.
    """
    if image.dtype != np.uint8 or not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)):
        raise ValueError(f"Expected a uint8 (H, W) or (H, W, 3) image; got {image.dtype} {image.shape}.")
    image_bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, encoded = cv2.imencode(".png", image_bgr)
    if not ok:
        raise ValueError(f"Could not encode an image of shape {image.shape} as PNG.")
    return encoded.tobytes()


def thumbnail(image_rgb: np.ndarray, side: int) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> at most (side, side, 3), aspect kept, area-averaged; never enlarged."""
    height, width = image_rgb.shape[:2]
    scale = side / max(height, width)
    if scale >= 1:
        return image_rgb.copy()
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)
