"""A field with its found white cells outlined and numbered, for a page or a report to show.

The outlines come in the original photo's pixels (`core.imaging.image_cells.ImageCell.outline`);
the field shown is the decoded one, maybe shrunk to `config.MAX_DECODED_SIDE`, so each outline is
scaled to it first. Cells left out by the user are drawn thin and grey with their number struck
through, so the numbers on the picture stay those of the table.

>>> picture = outlined_field(field_rgb, [(1, outline)], original_size=(640, 480))  # doctest: +SKIP
"""
from __future__ import annotations

from collections.abc import Collection, Sequence

import cv2
import numpy as np

KEPT_RGB = (255, 214, 0)  # yellow: stands out on pink red cells and a grey-blue background
LEFT_OUT_RGB = (150, 150, 150)
SHADOW_RGB = (0, 0, 0)
LINE_PER_SIDE = 1 / 240  # outline thickness as a share of the field's longer side (3 px at 640 px)


def outlined_field(field_rgb: np.ndarray, outlines: Sequence[tuple[int, np.ndarray]], original_size: tuple[int, int],
                   left_out: Collection[int] = ()) -> np.ndarray:
    """The field with each cell's outline and number drawn on a copy.

    Args:
        field_rgb: (H, W, 3) uint8 RGB, the field as decoded (maybe downscaled).
        outlines: (number, (N, 2) int32 (x, y) polygon in the original photo's pixels) per found cell.
        original_size: (width, height) of the photo the outlines are in.
        left_out: numbers of the cells the user left out (drawn grey and struck through).

    Returns:
        (H, W, 3) uint8 RGB; `field_rgb` is not modified.
    """
    picture = np.ascontiguousarray(field_rgb.copy())
    height, width = picture.shape[:2]
    scale = np.array([width / original_size[0], height / original_size[1]])
    thickness = max(1, round(max(height, width) * LINE_PER_SIDE))
    for number, outline in outlines:
        colour = LEFT_OUT_RGB if number in left_out else KEPT_RGB
        points = np.round(outline * scale).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(picture, [points], True, colour, thickness if number not in left_out else 1, cv2.LINE_AA)
        draw_number(picture, number, points.reshape(-1, 2), colour, struck=number in left_out)
    return picture


def draw_number(picture: np.ndarray, number: int, points: np.ndarray, colour: tuple[int, int, int], struck: bool) -> None:
    """Write `number` (with a dark shadow, to read on any background) above the outline's top, inside the picture."""
    height, width = picture.shape[:2]
    scale = max(0.9, max(height, width) / 560)  # about 20 px high at 640 px
    thickness = max(2, round(2 * scale))
    text = str(number)
    (text_width, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
    x = int(np.clip(points[:, 0].mean() - text_width / 2, 0, width - text_width))
    y = int(np.clip(points[:, 1].min() - 4 * thickness, text_height + 2, height - 2))
    for offset, ink in ((thickness, SHADOW_RGB), (0, colour)):
        cv2.putText(picture, text, (x + offset, y + offset), cv2.FONT_HERSHEY_SIMPLEX, scale, ink,
                    thickness + (offset > 0), cv2.LINE_AA)
    if struck:
        middle = y - text_height // 2
        cv2.line(picture, (x - 2, middle), (x + text_width + 2, middle), colour, thickness, cv2.LINE_AA)
