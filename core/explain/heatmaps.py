"""Drawing heatmaps: colour overlays and mapping a model-input heatmap back to the original image."""
from __future__ import annotations

import cv2
import numpy as np


def _check_heatmap(heatmap: np.ndarray) -> np.ndarray:
    heatmap = np.asarray(heatmap, dtype=np.float32)
    if heatmap.ndim != 2 or min(heatmap.shape) == 0:
        raise ValueError(f"Expected a 2-D heatmap of shape (height, width); got shape {heatmap.shape}.")
    return np.clip(np.nan_to_num(heatmap), 0.0, 1.0)


def overlay(image_rgb: np.ndarray, heatmap: np.ndarray, opacity: float = 0.45) -> np.ndarray:
    """Blend a jet-coloured heatmap over an image.

    Args:
        image_rgb: (H, W, 3) uint8 RGB.
        heatmap: (h, w) float in [0, 1]; resized (bilinear) to H x W when the sizes differ.
        opacity: weight of the colours, in [0, 1]: 0 shows only the image, 1 only the heatmap.

    Returns:
        (H, W, 3) uint8 RGB.

    Raises:
        ValueError: an image that is not (H, W, 3) uint8, a heatmap that is not 2-D, or an
            opacity outside [0, 1].
    """
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError(f"Expected a (height, width, 3) uint8 RGB image; got {image_rgb.dtype} {image_rgb.shape}.")
    if not 0.0 <= opacity <= 1.0:
        raise ValueError(f"opacity must lie in [0, 1]; got {opacity}.")
    heatmap = _check_heatmap(heatmap)
    height, width = image_rgb.shape[:2]
    if heatmap.shape != (height, width):
        heatmap = cv2.resize(heatmap, (width, height), interpolation=cv2.INTER_LINEAR)
    colours_bgr = cv2.applyColorMap(np.round(heatmap * 255).astype(np.uint8), cv2.COLORMAP_JET)
    colours_rgb = cv2.cvtColor(colours_bgr, cv2.COLOR_BGR2RGB)
    return cv2.addWeighted(colours_rgb, float(opacity), image_rgb, 1.0 - float(opacity), 0.0)


def heatmap_on_original(
    heatmap: np.ndarray, crop_box: tuple[int, int, int, int], original_shape: tuple[int, ...]
) -> np.ndarray:
    """Place a model-input heatmap back into the original image's frame.

    Preprocessing crops `crop_box` (x0, y0, x1, y1) from the original, padding with black
    where the box extends past the image (see `core.imaging.preprocess.crop_padded`), and
    resizes the crop to the model input. This undoes that: the heatmap is resized to the
    box and the part of the box inside the image is kept.

    Args:
        heatmap: (S, S) float in [0, 1], the model input's heatmap.
        crop_box: (x0, y0, x1, y1) in original pixels, as in `PreprocessResult.crop_box`.
        original_shape: the original image's shape; only (H, W) is used.

    Returns:
        (H, W) float32 in [0, 1]; zero outside the crop.
    """
    heatmap = _check_heatmap(heatmap)
    x0, y0, x1, y1 = (int(value) for value in crop_box)
    height, width = int(original_shape[0]), int(original_shape[1])
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"crop_box must be (x0, y0, x1, y1) with x1 > x0 and y1 > y0; got {crop_box}.")
    placed = np.zeros((height, width), np.float32)
    resized = cv2.resize(heatmap, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    # The visible part of the box, in original coordinates and in the box's own coordinates.
    left, top, right, bottom = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if right > left and bottom > top:
        placed[top:bottom, left:right] = resized[top - y0 : bottom - y0, left - x0 : right - x0]
    return np.clip(placed, 0.0, 1.0)
