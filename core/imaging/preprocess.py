"""The original method's preprocessing, one path for training, the app and the CLIs.

Steps: RGB -> grayscale -> CLAHE -> Otsu threshold to a mask -> largest blob -> square
crop around the cell -> resize to the model's input size. Every intermediate stage is
returned so the app can show it.

Two choices go beyond the original description, both documented here:
- the crop is made square around the cell (padding with black, the dataset's
  background) so resizing never distorts the cell's shape;
- when the mask covers almost nothing or almost everything (no separable cell), the
  whole image is used and `PreprocessResult.fallback` says why. A blank or uniform
  image is refused with `PreprocessingError`.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core import config
from core.errors import PreprocessingError

# Below this grey-level spread (max - min) an image holds no structure to threshold.
MIN_CONTRAST = 8


@dataclass(frozen=True)
class PreprocessResult:
    """All stages of preprocessing one image.

    Attributes:
        model_input: (image_size, image_size, 3) uint8 RGB, the crop the model sees.
        grayscale: (H, W) uint8, the input converted to grey.
        clahe: (H, W) uint8, grayscale after contrast-limited adaptive histogram equalisation.
        mask: (H, W) uint8 in {0, 255}, the cell (largest Otsu blob).
        crop_box: (x0, y0, x1, y1) in input pixels, may extend past the image (padded black).
        mask_fraction: share of the image the whole Otsu mask covers, in [0, 1].
        fallback: None, or a sentence saying why the whole image was used instead of a crop.
    """

    model_input: np.ndarray
    grayscale: np.ndarray
    clahe: np.ndarray
    mask: np.ndarray
    crop_box: tuple[int, int, int, int]
    mask_fraction: float
    fallback: str | None = None


def to_grayscale(image_rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 RGB -> (H, W) uint8 luminance."""
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise PreprocessingError(
            f"Expected an RGB uint8 image of shape (height, width, 3); got {image_rgb.dtype} "
            f"{image_rgb.shape}. Load images with core.imaging.decode.load_image first."
        )
    return cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)


def apply_clahe(grayscale: np.ndarray) -> np.ndarray:
    """(H, W) uint8 -> (H, W) uint8 with local contrast equalised (clip and grid from config)."""
    clahe = cv2.createCLAHE(clipLimit=config.CLAHE_CLIP_LIMIT, tileGridSize=config.CLAHE_TILE_GRID)
    return clahe.apply(grayscale)


def otsu_mask(clahe: np.ndarray) -> tuple[np.ndarray, float]:
    """Threshold with Otsu's method and keep the largest blob.

    Returns:
        mask: (H, W) uint8 in {0, 255}, the largest connected bright region.
        mask_fraction: the share of pixels above the Otsu threshold, before blob selection.
    """
    _, binary = cv2.threshold(clahe, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask_fraction = float(np.count_nonzero(binary)) / binary.size
    binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return np.zeros_like(binary), mask_fraction
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return np.where(labels == largest, 255, 0).astype(np.uint8), mask_fraction


def square_box(mask: np.ndarray) -> tuple[int, int, int, int]:
    """The square (x0, y0, x1, y1) around the mask's bounding box, with a small margin."""
    ys, xs = np.nonzero(mask)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()) + 1, int(ys.min()), int(ys.max()) + 1
    side = max(x1 - x0, y1 - y0)
    side = int(round(side * (1 + 2 * config.CROP_MARGIN_FRACTION)))
    center_x, center_y = (x0 + x1) // 2, (y0 + y1) // 2
    left, top = center_x - side // 2, center_y - side // 2
    return left, top, left + side, top + side


def crop_padded(image_rgb: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """Crop (H, W, 3) uint8 RGB to box; parts outside the image are black."""
    x0, y0, x1, y1 = box
    height, width = image_rgb.shape[:2]
    pad = max(0, -x0, -y0, x1 - width, y1 - height)
    if pad:
        image_rgb = cv2.copyMakeBorder(image_rgb, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    return image_rgb[y0 + pad : y1 + pad, x0 + pad : x1 + pad]


def resize_square(image_rgb: np.ndarray, image_size: int) -> np.ndarray:
    """Resize (h, w, 3) uint8 to (image_size, image_size, 3); area filter when shrinking."""
    shrinking = image_rgb.shape[0] > image_size
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image_rgb, (image_size, image_size), interpolation=interpolation)


def preprocess_cell(image_rgb: np.ndarray, image_size: int = config.IMAGE_SIZE) -> PreprocessResult:
    """Run the whole method on one image.

    Args:
        image_rgb: (H, W, 3) uint8 RGB, as returned by `core.imaging.decode.load_image`.
        image_size: side of the square model input in pixels.

    Returns:
        A PreprocessResult whose `model_input` is (image_size, image_size, 3) uint8 RGB.

    Raises:
        PreprocessingError: the input is not an RGB uint8 array, or it is blank/uniform.
    """
    grayscale = to_grayscale(image_rgb)
    if int(grayscale.max()) - int(grayscale.min()) < MIN_CONTRAST:
        raise PreprocessingError(
            "This image is blank or uniform: there is no cell to find. "
            "Upload a microscope image of one stained cell on a dark background."
        )
    clahe = apply_clahe(grayscale)
    mask, mask_fraction = otsu_mask(clahe)
    height, width = grayscale.shape
    fallback = None
    low, high = config.CROP_MASK_FRACTION  # The wide range; the scope check's narrow one sits inside it.
    if not low <= mask_fraction <= high or not mask.any():
        fallback = (
            f"No separate cell was found (the threshold marked {mask_fraction:.0%} of the image), "
            "so the whole image was used instead of a crop around the cell."
        )
        side = max(height, width)
        box = ((width - side) // 2, (height - side) // 2, (width - side) // 2 + side, (height - side) // 2 + side)
    else:
        box = square_box(mask)
    model_input = resize_square(crop_padded(image_rgb, box), image_size)
    return PreprocessResult(model_input, grayscale, clahe, mask, box, mask_fraction, fallback)


def model_input_for(image_rgb: np.ndarray, image_size: int = config.IMAGE_SIZE) -> np.ndarray:
    """Only the final stage: (image_size, image_size, 3) uint8 RGB, for training and batches."""
    return preprocess_cell(image_rgb, image_size).model_input


def model_input_mask(result: PreprocessResult, image_size: int) -> np.ndarray | None:
    """The cell mask in the model input's frame: (image_size, image_size) bool, or None.

    The mask is cropped with the same box as the image (black, i.e. off the cell, past its
    edges) and resized with nearest neighbours. None when no separate cell was found (the
    whole image was used) or the mask is empty.
    """
    if result.fallback is not None or not result.mask.any():
        return None
    cropped = crop_padded(result.mask[..., None].repeat(3, axis=2), result.crop_box)[..., 0]
    return cv2.resize(cropped, (image_size, image_size), interpolation=cv2.INTER_NEAREST) > 0
