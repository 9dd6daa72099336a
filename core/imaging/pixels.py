"""Any decoded Pillow image as (height, width, 3) uint8 RGB: 16-bit and float grey scaled, transparency on black."""
from __future__ import annotations

import numpy as np
from PIL import Image

from core.errors import ImageLoadError

_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})


def refusal(message: str) -> ImageLoadError:
    """An `ImageLoadError` with the message's first letter capitalised."""
    return ImageLoadError(message[:1].upper() + message[1:])


def to_rgb_array(pil_image: Image.Image, label: str) -> np.ndarray:
    """Convert a decoded image of any Pillow mode to a (height, width, 3) uint8 RGB array.

    Transparency is composited onto black, the background of the dataset's images. Pillow
    itself reduces 16-bit RGB files to 8 bits (keeping the high byte) when it opens them.
    """
    if pil_image.mode in _SIXTEEN_BIT_MODES or pil_image.mode in ("I", "F"):
        full_scale = 1.0 if pil_image.mode == "F" else 65535.0
        gray = _gray_to_uint8(np.asarray(pil_image), full_scale, label)
        return np.repeat(gray[..., np.newaxis], 3, axis=2)  # (h, w, 3), C-contiguous.
    try:
        if pil_image.has_transparency_data:
            return _composite_on_black(np.asarray(pil_image.convert("RGBA")))
        return np.array(pil_image.convert("RGB"), dtype=np.uint8, order="C")
    except ValueError as error:
        raise refusal(
            f"{label} uses the '{pil_image.mode}' colour mode, which cannot be converted to RGB. "
            "Save it as an 8-bit or 16-bit RGB or grayscale image and try again."
        ) from error


def _gray_to_uint8(gray: np.ndarray, full_scale: float, label: str) -> np.ndarray:
    """Scale (height, width) gray in [0, full_scale] to uint8 as round(value * 255 / full_scale).

    16-bit gray uses 65535, that is value / 257. Pillow widens some 16-bit files to 'I'
    (int32), so 'I' is read as 16-bit too. Float ('F') images have no fixed range; [0, 1] is
    the usual convention. Values outside the range, or NaN, are refused rather than guessed
    at or stretched, either of which would silently change the contrast the model sees.
    """
    if not (np.isfinite(gray).all() and gray.min() >= 0 and gray.max() <= full_scale):
        raise refusal(
            f"{label} stores values outside 0-{full_scale:g}, which this tool cannot scale. "
            "Export it as an 8-bit or 16-bit image and try again."
        )
    return np.rint(gray.astype(np.float32) * np.float32(255.0 / full_scale)).astype(np.uint8)


def _composite_on_black(image_rgba: np.ndarray) -> np.ndarray:
    """Composite (height, width, 4) uint8 RGBA onto black: RGB * alpha / 255, (h, w, 3) uint8."""
    rgb = image_rgba[..., :3].astype(np.uint16)
    alpha = image_rgba[..., 3:].astype(np.uint16)
    return ((rgb * alpha + 127) // 255).astype(np.uint8)

