"""One tiny random ResNet50 (96 px), its explainer and a synthetic cell, shared by the explanation tests."""
from __future__ import annotations

import keras
import pytest
from explain_inputs import SIZE, synthetic_cell

from core.explain.explainer import Explainer
from core.model.network import build_classifier, to_model_array


@pytest.fixture(scope="package")
def model():
    keras.utils.set_random_seed(0)
    return build_classifier(SIZE, weights=None)


@pytest.fixture(scope="package")
def explainer(model):
    return Explainer(model)


@pytest.fixture(scope="package")
def cell():
    return synthetic_cell(SIZE)


@pytest.fixture(scope="package")
def scaled(cell):
    return to_model_array(cell[None])  # (1, S, S, 3) float32, what tf-keras-vis is given
