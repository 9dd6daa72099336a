"""Tests for core.data.synthetic_cells: one cell's image, and morphology that separates the classes without deciding them."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.data.synthetic_cells import SubjectStyle, make_subject_style, render_cell


def cell_features(image_rgb: np.ndarray) -> list[float]:
    """Handcrafted features of one (H, W, 3) uint8 RGB cell: log area, solidity, gray mean, gray std."""
    mask = (image_rgb.max(axis=2) > 0).astype(np.uint8)
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    contour = max(contours, key=cv2.contourArea)
    solidity = cv2.contourArea(contour) / cv2.contourArea(cv2.convexHull(contour))
    gray = cv2.cvtColor(image_rgb, cv2.COLOR_RGB2GRAY)[mask > 0].astype(np.float32)
    return [float(np.log(mask.sum())), solidity, float(gray.mean()), float(gray.std())]


def cell_sample(subjects: int, cells: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features (N, 4), labels (N,) with 1 = all, and subject ids (N,) of in-memory cells."""
    rng = np.random.default_rng(seed)
    features, labels, groups = [], [], []
    for subject in range(subjects):
        label = "all" if subject % 3 else "hem"
        style = make_subject_style(rng, label)
        for _ in range(cells):
            features.append(cell_features(render_cell(rng, label, style)))
            labels.append(int(label == "all"))
            groups.append(subject)
    return np.array(features), np.array(labels), np.array(groups)


@pytest.mark.parametrize("label", ["all", "hem"])
def test_render_cell_shape_and_determinism(label):
    style = make_subject_style(np.random.default_rng(0), label)
    image_rgb = render_cell(np.random.default_rng(1), label, style, image_size=200)
    assert image_rgb.shape == (200, 200, 3) and image_rgb.dtype == np.uint8
    assert image_rgb[0, 0].max() == 0 and image_rgb[100, 100].max() > 20
    assert np.array_equal(image_rgb, render_cell(np.random.default_rng(1), label, style, image_size=200))
    assert isinstance(style, SubjectStyle)


@pytest.mark.parametrize("label, image_size", [("ALL", 450), ("blast", 450), ("all", 32)])
def test_render_cell_rejects_bad_input(label, image_size):
    style = make_subject_style(np.random.default_rng(0), "all")
    with pytest.raises(ValueError):
        render_cell(np.random.default_rng(0), label, style, image_size)


@pytest.fixture(scope="module")
def feature_samples() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Two independent samples of (features, labels, subjects): 24 subjects x 6 cells each."""
    return cell_sample(subjects=24, cells=6, seed=21), cell_sample(subjects=24, cells=6, seed=22)


def test_classes_differ_in_morphology_but_overlap(feature_samples):
    features, labels, _ = feature_samples[0]
    is_all = labels == 1
    assert features[is_all, 0].mean() > features[~is_all, 0].mean() + 0.1, "blasts are larger"
    assert features[is_all, 1].mean() < features[~is_all, 1].mean(), "blast outlines are less convex"
    by_area = features[:, 0] > np.quantile(features[:, 0], 1 - is_all.mean())
    assert 0.6 < (by_area == is_all).mean() < 0.95, "area alone helps but does not decide"


def test_simple_classifier_beats_chance_on_new_subjects_but_is_not_perfect(feature_samples):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    (train_x, train_y, _), (test_x, test_y, _) = feature_samples
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(train_x, train_y)
    assert 0.75 < model.score(test_x, test_y) < 0.99


def test_random_image_split_overstates_accuracy_against_subject_split(feature_samples):
    """Subject style leaks through a random split: a nearest-neighbour model finds the same subject."""
    from sklearn.model_selection import GroupKFold, KFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    features, labels, subjects = feature_samples[0]
    model = make_pipeline(StandardScaler(), KNeighborsClassifier(n_neighbors=1))
    by_subject = cross_val_score(model, features, labels, cv=GroupKFold(4), groups=subjects).mean()
    by_image = cross_val_score(model, features, labels, cv=KFold(4, shuffle=True, random_state=0)).mean()
    assert by_image > by_subject + 0.02
