"""The model card's OOD section: the stored distributions, their chart, and per-shift figures computed from them."""
from __future__ import annotations

import numpy as np
import pytest

from core.reporting import ood_card


def entry_with(shifted: list[float]) -> dict:
    calibration = [float(value) for value in np.linspace(1.0, 20.0, 20)]
    return {"ood_threshold": float(np.percentile(calibration, 95)), "ood_percentile": 95, "ood_statistics": {},
            "ood_threshold_cells": 20, "ood_distribution": {"calibration subjects": calibration, "blur_sigma=2": shifted}}


def test_a_shift_the_score_sees_gets_auroc_one_and_every_cell_flagged():
    rows = ood_card.shift_rows(entry_with([100.0 + n for n in range(10)]))
    assert [row["cells"] for row in rows] == ["calibration subjects", "calibration cells, blurred, sigma 2 px"]
    assert rows[0]["flagged"] == "5.0%" and rows[1]["flagged"] == "100.0%"
    assert (rows[1]["AUROC"], rows[1]["FPR95"]) == ("1.000", "0.00")


def test_a_shift_the_score_misses_gets_auroc_near_a_half():
    rows = ood_card.shift_rows(entry_with([float(value) for value in np.linspace(1.0, 20.0, 20)]))
    assert float(rows[1]["AUROC"]) == pytest.approx(0.5, abs=0.01)


@pytest.mark.parametrize("distribution", [None, {"blur": [1.0]}, {"calibration subjects": [1.0, "x"]},
                                          {"calibration subjects": [float("inf")]}, {"calibration subjects": [True]}])
def test_malformed_chart_data_is_no_chart_and_no_rows(distribution):
    entry = {"ood_threshold": 1.0, "ood_distribution": distribution}
    assert ood_card.distribution(entry) is None and ood_card.shift_rows(entry) == []


def test_the_figure_draws_one_box_per_group_and_the_threshold():
    entry = entry_with([50.0, 60.0])
    figure = ood_card.ood_figure(entry)
    assert [trace.name for trace in figure.data] == ["calibration subjects", "blurred, sigma 2 px"]
    assert figure.layout.shapes[0].x0 == pytest.approx(entry["ood_threshold"]) and figure.layout.xaxis.type == "log"


def test_a_far_shift_does_not_stretch_the_axis_beyond_a_few_decades_above_the_threshold():
    entry = entry_with([1e20, 3e21])
    low, high = ood_card.ood_figure(entry).layout.xaxis.range
    assert low < 0.1 and high == pytest.approx(np.log10(entry["ood_threshold"]) + ood_card.AXIS_DECADES_ABOVE + 0.2)
    assert ood_card.group_name("stain_hue=20") == "stain hue turned 40°" and ood_card.group_name("real cells") == "real cells"


def test_the_text_says_what_the_score_is_or_that_the_model_has_the_older_one():
    assert "stain and texture distance" in ood_card.ood_text(entry_with([1.0])) and "19." in ood_card.ood_text(entry_with([1.0]))
    assert "core.cli.index" in ood_card.ood_text({"ood_threshold": 0.2}) and "no index" in ood_card.ood_text(None)
