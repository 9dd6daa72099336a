"""The model's reference stain, measured on its training cells and stored in the sidecar."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.data.index import ImageRecord
from core.imaging import stain
from core.training import neighbours
from core.training.stain_fit import fit_stain_reference, spread


def cell_file(path, bgr: tuple[int, int, int]):
    """A 64x64 BMP: a disc of one BGR colour on black."""
    image = np.zeros((64, 64, 3), np.uint8)
    cv2.circle(image, (32, 32), 20, bgr, -1)
    cv2.imwrite(str(path), image)
    return ImageRecord(path, "fold_0", "all", "1")


def test_spread_keeps_both_ends_and_at_most_the_limit():
    records = list(range(1000))
    chosen = spread(records, 10)
    assert len(chosen) == 10 and chosen[0] == 0 and chosen[-1] == 999
    assert spread(records[:5], 10) == records[:5]


def test_the_reference_is_the_training_cells_stain_and_skips_unreadable_files(tmp_path):
    records = [cell_file(tmp_path / "a.bmp", (200, 60, 150)), cell_file(tmp_path / "b.bmp", (180, 90, 120))]
    (tmp_path / "broken.bmp").write_bytes(b"not an image")
    entry = fit_stain_reference([*records, ImageRecord(tmp_path / "broken.bmp", "fold_0", "all", "1")])
    expected = stain.stain_stats([cv2.cvtColor(cv2.imread(str(r.path)), cv2.COLOR_BGR2RGB) for r in records])
    read = stain.StainStats.from_dict(entry)
    assert read.mean == pytest.approx(expected.mean) and read.std == pytest.approx(expected.std)
    assert entry["cells"] == 2 and entry["cells_unreadable"] == 1
    assert stain.model_reference({stain.SIDECAR_KEY: entry}) == read


def test_no_readable_training_cell_is_a_value_error(tmp_path):
    (tmp_path / "broken.bmp").write_bytes(b"not an image")
    with pytest.raises(ValueError, match="no training cell"):
        fit_stain_reference([ImageRecord(tmp_path / "broken.bmp", "fold_0", "all", "1")])


def test_attach_index_writes_the_training_stain_into_the_sidecar(tmp_path, monkeypatch):
    records = {"train": [cell_file(tmp_path / "a.bmp", (200, 60, 150)), cell_file(tmp_path / "b.bmp", (10, 200, 30))],
               "validation": [cell_file(tmp_path / "c.bmp", (90, 90, 90))]}
    monkeypatch.setattr(neighbours, "record_features", lambda model, rows, size, batch: np.eye(4, dtype=np.float32)[: len(rows)])
    monkeypatch.setattr(neighbours, "fit_ood", lambda *_: {"ood_threshold": 1.0})
    written = {}
    monkeypatch.setattr(neighbours, "write_sidecar", lambda path, metadata: written.update(metadata))
    metadata = neighbours.attach_index(None, tmp_path / "m.keras", {"image_size": 32}, records, tmp_path)
    reference = stain.model_reference(written)
    assert reference is not None and metadata[stain.SIDECAR_KEY] == written[stain.SIDECAR_KEY]
    only_train = stain.stain_stats([cv2.cvtColor(cv2.imread(str(r.path)), cv2.COLOR_BGR2RGB) for r in records["train"]])
    assert reference.mean == pytest.approx(only_train.mean)  # the calibration cell's grey is not in it


def test_a_malformed_sidecar_entry_reads_as_no_reference():
    assert stain.model_reference({stain.SIDECAR_KEY: {"space": "RGB", "mean": [1, 2, 3], "std": [1, 2, 3]}}) is None
    assert stain.model_reference({stain.SIDECAR_KEY: {"space": stain.SPACE, "mean": [1, 2], "std": [1, 2]}}) is None
    assert stain.model_reference({}) is None
