"""`python -m core.cli.index` rebuilds the index of known cells, and training writes one."""
import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from core import config
from core.cli.index import main
from core.data.index import index_dataset
from core.model.embedding import EmbeddingIndex

SIDECAR_KEYS = {"file", "cells", "dimensions", "ood_k", "ood_percentile", "ood_threshold", "neighbours",
                "neighbour_ood_threshold", "ood_statistics", "ood_distribution"}


def statistics_scores(entry: dict, paths: list[Path], image_size: int) -> np.ndarray:
    """The OOD scores of these files as the app computes them: decoded, preprocessed, their statistics scored."""
    from core.imaging.decode import load_image
    from core.imaging.preprocess import preprocess_cell
    from core.imaging.statistics import statistics_of
    from core.model.ood import StatisticsGaussian

    gaussian = StatisticsGaussian.from_entry(entry["ood_statistics"])
    rows = [statistics_of(preprocess_cell(load_image(path).image_rgb, image_size)) for path in paths]
    return gaussian.scores(np.stack(rows))


def model_without_index(tmp_path, tiny_model_path, synthetic_data_root, side_of) -> Path:
    """A copy of the tiny model with a split CSV whose sides `side_of(subject, first, last)` gives, and no index."""
    model = tmp_path / "old.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(config.sidecar_path(tiny_model_path), config.sidecar_path(model))
    index = index_dataset(synthetic_data_root)
    training = [record for record in index.records if record.label and record.subject and record.split.startswith("fold")]
    with open(tmp_path / "old.split.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "subject", "label", "side"])
        for record in training:
            side = side_of(record.subject, training[0].subject, training[-1].subject)
            writer.writerow([record.path.relative_to(index.root), record.subject, record.label, side])
    return model


@pytest.fixture
def old_model(tmp_path, tiny_model_path, synthetic_data_root):
    """A model from before the three roles and the index: its split CSV has one held-out side, "validation"."""
    return model_without_index(tmp_path, tiny_model_path, synthetic_data_root,
                               lambda subject, first, last: "validation" if subject in {first, last} else "train")


@pytest.mark.slow
def test_rebuilds_the_index_and_the_sidecar_entry(old_model, synthetic_data_root, capsys):
    sha256_before = json.loads(config.sidecar_path(old_model).read_text())["sha256"]
    assert main(["--model", str(old_model), "--data-dir", str(synthetic_data_root), "--batch-size", "8"]) == 0
    sidecar = json.loads(config.sidecar_path(old_model).read_text())
    entry = sidecar["embedding_index"]
    assert SIDECAR_KEYS <= set(entry) and entry["file"] == "old.index.npz" and entry["dimensions"] == 2048
    assert sidecar["sha256"] == sha256_before
    index = EmbeddingIndex.load(old_model.with_name(entry["file"]), dimensions=2048)
    with open(old_model.with_name("old.split.csv")) as handle:
        rows = list(csv.DictReader(handle))
    assert len(index) == entry["cells"] == len(rows)
    assert sorted(index.files) == sorted(row["path"] for row in rows)
    validation = index.features[index.sides == "validation"]
    scores = [index.ood_score(features, k=entry["ood_k"]) for features in validation]
    assert entry["neighbour_ood_threshold"] == pytest.approx(np.percentile(scores, 95))
    held_out = [synthetic_data_root / file for file, side in zip(index.files, index.sides) if side == "validation"]
    image_size = json.loads(config.sidecar_path(old_model).read_text())["image_size"]
    assert entry["ood_threshold"] == pytest.approx(np.percentile(statistics_scores(entry, held_out, image_size), 95))
    assert json.loads(capsys.readouterr().out) == entry


@pytest.mark.slow
def test_with_three_roles_only_the_calibration_cells_set_the_ood_threshold(tmp_path, tiny_model_path, synthetic_data_root):
    roles = {"first": "tuning", "last": "calibration"}
    model = model_without_index(tmp_path, tiny_model_path, synthetic_data_root, lambda subject, first, last:
                                roles["first"] if subject == first else roles["last"] if subject == last else "train")
    assert main(["--model", str(model), "--data-dir", str(synthetic_data_root), "--batch-size", "8"]) == 0
    entry = json.loads(config.sidecar_path(model).read_text())["embedding_index"]
    index = EmbeddingIndex.load(model.with_name(entry["file"]), dimensions=2048)
    with open(model.with_name("old.split.csv")) as handle:
        sides = {row["path"]: row["side"] for row in csv.DictReader(handle)}
    assert {sides[file] for file, side in zip(index.files, index.sides) if side == "validation"} == {"tuning", "calibration"}
    calibration = index.features[[sides[file] == "calibration" for file in index.files]]
    scores = [index.ood_score(features, k=entry["ood_k"]) for features in calibration]
    assert entry["neighbour_ood_threshold"] == pytest.approx(np.percentile(scores, 95))
    assert entry["ood_threshold_cells"] == len(calibration) and entry["ood_threshold_from"] == "calibration subjects"
    image_size = json.loads(config.sidecar_path(model).read_text())["image_size"]
    calibration_paths = [synthetic_data_root / file for file in index.files if sides[file] == "calibration"]
    calibration_scores = statistics_scores(entry, calibration_paths, image_size)
    assert entry["ood_threshold"] == pytest.approx(np.percentile(calibration_scores, 95))
    assert entry["ood_distribution"]["calibration subjects"] == pytest.approx(calibration_scores, abs=1e-4)


@pytest.mark.parametrize("problem", ["no split file", "wrong data folder", "no model"])
def test_errors_are_one_line_and_exit_2(old_model, tmp_path, synthetic_data_root, capsys, problem):
    data_dir, model = synthetic_data_root, old_model
    if problem == "no split file":
        old_model.with_name("old.split.csv").unlink()
    elif problem == "wrong data folder":
        data_dir = tmp_path / "elsewhere"
        shutil.copytree(synthetic_data_root, data_dir)
        next(data_dir.rglob("*.bmp")).unlink()
    else:
        model = tmp_path / "missing.keras"
    assert main(["--model", str(model), "--data-dir", str(data_dir)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "Traceback" not in error


def test_training_writes_the_index_and_the_sidecar_entry(trained_model_path, trained_sidecar):
    entry = trained_sidecar["embedding_index"]
    assert SIDECAR_KEYS <= set(entry)
    assert (entry["ood_k"], entry["ood_percentile"], entry["neighbours"]) == (10, 95, 6)
    index = EmbeddingIndex.load(trained_model_path.with_name(entry["file"]), dimensions=entry["dimensions"])
    split = trained_sidecar["split"]
    assert len(index) == entry["cells"] == split["train_images"] + split["tuning_images"] + split["calibration_images"]
    assert entry["ood_threshold_cells"] == split["calibration_images"] and entry["ood_threshold_from"] == "calibration subjects"
    assert 0.0 < entry["neighbour_ood_threshold"] <= 2.0 and entry["ood_threshold"] > 0.0
    assert entry["ood_score"] == "stain and texture distance" and len(entry["ood_distribution"]) == 5
