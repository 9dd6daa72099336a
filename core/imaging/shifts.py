"""Shifts a cell meets between labs and cameras, at graded strengths: stain, blur, JPEG and scale.

Each takes a decoded (H, W, 3) uint8 RGB image and a strength and returns the image a user would
upload: the OOD study perturbs in-distribution cells with them (`benchmarks/ood_scores.py`), and
the index of known cells records how the OOD score scores the calibration cells so shifted, for the
model card's chart (`core.training.neighbours`).
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np


def stain(image_rgb: np.ndarray, hue_steps: float) -> np.ndarray:
    """Another lab's stain: hue turned by `hue_steps` (OpenCV units of 2 degrees) and saturation up 20%."""
    hsv = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue_steps, 180)
    hsv[..., 1] = np.clip(hsv[..., 1] * 1.2, 0, 255)
    return cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB)


def blur(image_rgb: np.ndarray, sigma: float) -> np.ndarray:
    """An out-of-focus capture: a Gaussian blur of `sigma` pixels of the image."""
    return cv2.GaussianBlur(image_rgb, (0, 0), sigma)


def jpeg_bytes(image_rgb: np.ndarray, quality: float) -> bytes:
    """The image as a JPEG file at `quality` (100: best)."""
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    return cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])[1].tobytes()


def jpeg(image_rgb: np.ndarray, quality: float) -> np.ndarray:
    """The image after a JPEG export at `quality` and decoding again."""
    decoded = cv2.imdecode(np.frombuffer(jpeg_bytes(image_rgb, quality), np.uint8), cv2.IMREAD_COLOR)
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2RGB)


def scale(image_rgb: np.ndarray, factor: float) -> np.ndarray:
    """A lower magnification or a camera of fewer pixels: the image resized by `factor` (< 1 shrinks)."""
    height, width = image_rgb.shape[:2]
    size = (max(8, round(width * factor)), max(8, round(height * factor)))
    return cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA)


# name -> (shift, strengths from mild to strong)
SHIFTS: dict[str, tuple[Callable[[np.ndarray, float], np.ndarray], tuple[float, ...]]] = {
    "stain_hue": (stain, (4, 10, 20)),
    "blur_sigma": (blur, (1.0, 2.0, 4.0)),
    "jpeg_quality": (jpeg, (60, 25, 8)),
    "scale_factor": (scale, (0.6, 0.4, 0.25)),
}
# The strength of each shift whose scores the model card draws beside the calibration cells' (the middle one).
CARD_STRENGTHS = {name: strengths[1] for name, (_, strengths) in SHIFTS.items()}


def shift_name(name: str, strength: float) -> str:
    """"blur_sigma", 2.0 -> "blur_sigma=2": the name tables and charts give a shift at a strength."""
    return f"{name}={strength:g}"
