"""How well found boxes match reference boxes: IoU, greedy one-to-one matching, recall and precision.

Boxes are (x0, y0, x1, y1) in pixels, x right, y down, x1 and y1 exclusive. Reference boxes come
from Pascal VOC XML files (BCCD's format), whose xmax/ymax are read as exclusive edges.
"""
from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

Box = tuple[int, int, int, int]
MIN_IOU = 0.5  # The usual detection criterion (Pascal VOC).


@dataclass(frozen=True)
class MatchCounts:
    """Matched pairs, unmatched references (misses) and unmatched found boxes (false finds)."""

    matched: int
    missed: int
    false_found: int

    def __add__(self, other: MatchCounts) -> MatchCounts:
        return MatchCounts(self.matched + other.matched, self.missed + other.missed, self.false_found + other.false_found)

    @property
    def recall(self) -> float:
        """Matched references over all references; 1.0 when there were none."""
        total = self.matched + self.missed
        return self.matched / total if total else 1.0

    @property
    def precision(self) -> float:
        """Matched found boxes over all found boxes; 1.0 when nothing was found."""
        total = self.matched + self.false_found
        return self.matched / total if total else 1.0


def iou(first: Box, second: Box) -> float:
    """Intersection over union of two boxes, in [0, 1]; 0.0 when either is empty."""
    width = min(first[2], second[2]) - max(first[0], second[0])
    height = min(first[3], second[3]) - max(first[1], second[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = _area(first) + _area(second) - inter
    return inter / union if union > 0 else 0.0


def _area(box: Box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def greedy_match(found: Sequence[Box], reference: Sequence[Box], min_iou: float = MIN_IOU) -> MatchCounts:
    """Match found boxes to reference boxes one to one, best IoU first, keeping pairs with IoU >= min_iou."""
    pairs = sorted(((iou(f, r), i, j) for i, f in enumerate(found) for j, r in enumerate(reference)), reverse=True)
    used_found: set[int] = set()
    used_reference: set[int] = set()
    for overlap, i, j in pairs:
        if overlap < min_iou:
            break
        if i not in used_found and j not in used_reference:
            used_found.add(i)
            used_reference.add(j)
    matched = len(used_found)
    return MatchCounts(matched, len(reference) - matched, len(found) - matched)


def voc_boxes(xml_path: str | Path, name: str = "WBC") -> list[Box]:
    """The boxes of objects called `name` (case and spaces ignored) in a Pascal VOC annotation file."""
    root = ElementTree.parse(xml_path).getroot()
    boxes: list[Box] = []
    for item in root.iter("object"):
        if (item.findtext("name") or "").strip().upper() != name.upper():
            continue
        edges = [int(round(float(item.findtext(f"bndbox/{key}") or 0))) for key in ("xmin", "ymin", "xmax", "ymax")]
        boxes.append((edges[0], edges[1], edges[2], edges[3]))
    return boxes
