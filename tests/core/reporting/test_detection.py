"""Detection metrics: IoU, greedy one-to-one matching, Pascal VOC boxes."""
from __future__ import annotations

import pytest

from core.reporting.detection import MatchCounts, greedy_match, iou, voc_boxes


def test_iou_of_known_boxes():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # Edges exclusive: touching boxes share no pixel.
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 0, 10), (0, 0, 10, 10)) == 0.0


def test_matching_is_one_to_one_and_best_first():
    reference = [(0, 0, 10, 10)]
    counts = greedy_match([(0, 0, 10, 10), (1, 0, 11, 10)], reference)  # Two finds on one cell: one is false.
    assert counts == MatchCounts(matched=1, missed=0, false_found=1)
    # The better overlap takes the reference even when it comes second.
    two = greedy_match([(0, 0, 10, 9), (0, 0, 10, 10)], [(0, 0, 10, 10), (40, 40, 50, 50)])
    assert two == MatchCounts(1, 1, 1) and two.recall == 0.5 and two.precision == 0.5


def test_below_the_iou_threshold_nothing_matches():
    assert greedy_match([(0, 0, 10, 10)], [(6, 0, 16, 10)]) == MatchCounts(0, 1, 1)
    assert MatchCounts(0, 0, 0).recall == MatchCounts(0, 0, 0).precision == 1.0


def test_voc_boxes_reads_only_the_named_objects(tmp_path):
    path = tmp_path / "a.xml"
    path.write_text("<annotation><object><name>WBC</name><bndbox><xmin>1</xmin><ymin>2</ymin><xmax>30</xmax>"
                    "<ymax>40</ymax></bndbox></object><object><name>RBC</name><bndbox><xmin>5</xmin><ymin>5</ymin>"
                    "<xmax>9</xmax><ymax>9</ymax></bndbox></object><object><name> wbc </name><bndbox><xmin>50.0</xmin>"
                    "<ymin>60</ymin><xmax>70</xmax><ymax>80</ymax></bndbox></object></annotation>")
    assert voc_boxes(path) == [(1, 2, 30, 40), (50, 60, 70, 80)]
