"""The OOD fields training writes beside a model: what happens when the statistics cannot be fitted."""
from __future__ import annotations

import numpy as np

from core.data.index import ImageRecord
from core.model.ood import ENTRY_KEY
from core.training import neighbours


def test_too_few_training_cells_keep_the_k_nn_score_with_the_reason(tmp_path, monkeypatch):
    """A dry run's handful of cells cannot fit the statistics: the index is written with the older score, not a crash."""
    def too_few(*_):
        raise ValueError("Each class needs two training cells or more to fit the OOD score; got ['all'].")

    monkeypatch.setattr(neighbours, "fit_ood", too_few)
    monkeypatch.setattr(neighbours, "record_features", lambda model, records, size, batch: np.eye(4, dtype=np.float32)[: len(records)])
    monkeypatch.setattr(neighbours, "write_sidecar", lambda path, metadata: None)
    records = {"train": [ImageRecord(tmp_path / "a.bmp", "fold_0", "all", "1"), ImageRecord(tmp_path / "b.bmp", "fold_0", "hem", "2")],
               "validation": [ImageRecord(tmp_path / "c.bmp", "fold_0", "all", "3")]}
    entry = neighbours.attach_index(None, tmp_path / "m.keras", {"image_size": 32}, records, tmp_path)["embedding_index"]
    assert entry["ood_threshold"] == entry["neighbour_ood_threshold"] and ENTRY_KEY not in entry
    assert "two training cells" in entry["ood_statistics_missing"]
