"""python -m core.cli.find_cells, and core.predict on a field: one line per field or per found cell, boxes in JSON, no traceback."""
from __future__ import annotations

import csv
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from core.cli import find_cells, predict
from core.data.synthetic_fields import FieldLayout, draw_field
from core.reporting.detection import greedy_match

WHITE_CELLS = ((160, 150, 1.6, 3), (450, 300, 1.4, 1), (20, 400, 1.5, 2))  # The third is cut by the border.


def write_field(path, scale: float = 1.0):
    """A synthetic field saved as PNG at `scale` x its drawn size (the boxes scaled alike); returns the true boxes."""
    field = draw_field(FieldLayout(white_cells=WHITE_CELLS), np.random.default_rng(0))
    image_rgb = cv2.resize(field.image_rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_LINEAR) if scale != 1 else field.image_rgb
    cv2.imwrite(str(path), cv2.cvtColor(image_rgb, cv2.COLOR_RGB2BGR))
    return [tuple(int(round(edge * scale)) for edge in box) for box in field.boxes]


def test_boxes_are_written_in_the_photos_pixels_and_cut_outs_saved(tmp_path, capsys):
    truth = write_field(tmp_path / "field.png", scale=4.0)  # 2560 x 1920: decoded at 2048 px, boxes scaled back.
    out_json, out_dir = tmp_path / "cells.json", tmp_path / "cells"
    assert find_cells.main([str(tmp_path / "field.png"), "--json", str(out_json), "--out", str(out_dir)]) == 0
    (record,) = json.loads(out_json.read_text())
    boxes = [tuple(cell["box"]) for cell in record["cells"]]
    assert greedy_match(boxes, truth, 0.7).matched == 3
    assert [cell["cut_by_border"] for cell in record["cells"]].count(True) == 1
    saved = sorted(out_dir.glob("*.png"))
    assert [path.name for path in saved] == ["field#1.png", "field#2.png"]
    cut = cv2.imread(str(saved[0]))
    assert cut.shape[0] == cut.shape[1] and not cut[0].any()
    assert capsys.readouterr().out.strip().split("\t")[1:3] == ["2", "1"]


def test_bad_inputs_are_one_line_each_and_exit_one(tmp_path, capsys):
    write_field(tmp_path / "field.png")
    black = tmp_path / "cell_on_black.png"
    cv2.imwrite(str(black), np.zeros((100, 100, 3), np.uint8))
    code = find_cells.main([str(tmp_path / "missing.jpg"), str(black), str(tmp_path / "field.png"), "--json", str(tmp_path / "o.json")])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 1 and len(lines) == 3
    assert "\tERROR\t" in lines[0] and "not found" in lines[0]
    assert "\tERROR\t" in lines[1] and "dark border" in lines[1]
    assert "\tERROR\t" not in lines[2]
    assert [("error" in record) for record in json.loads((tmp_path / "o.json").read_text())] == [True, True, False]


def test_runs_as_a_module_without_traceback(tmp_path):
    result = subprocess.run([sys.executable, "-m", "core.cli.find_cells", str(tmp_path / "none.jpg"), "--json", str(tmp_path / "o.json")],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "Traceback" not in result.stderr + result.stdout
    usage = subprocess.run([sys.executable, "-m", "core.cli.find_cells", "x.jpg"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and usage.stderr.count("\n") == 1 and "--json" in usage.stderr


def test_predict_answers_each_whole_cell_of_a_field_with_its_field_and_box(tiny_model_path, synthetic_data_root, tmp_path, capsys):
    field_path = tmp_path / "field.png"
    truth = write_field(field_path)
    plain = sorted((synthetic_data_root / "training_data").rglob("*.bmp"))[0]  # One C-NMC-like cell on black.
    out_csv = tmp_path / "out.csv"
    assert predict.main(["--model", str(tiny_model_path), str(field_path), str(plain), "--csv", str(out_csv)]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.strip().splitlines()]
    assert names == [f"{field_path}#1", f"{field_path}#2", str(plain)]
    rows = list(csv.DictReader(out_csv.open()))
    assert [row["field"] for row in rows] == [str(field_path), str(field_path), ""]
    boxes = [tuple(int(edge) for edge in row["box"].split()) for row in rows[:2]]
    assert greedy_match(boxes, truth, 0.7).matched == 2 and rows[2]["box"] == ""
    assert all(row["answer"] in ("all", "hem", "refer") for row in rows)


def test_stain_normalisation_is_switchable_and_recorded_on_every_answer(tiny_model_path, synthetic_data_root, tmp_path, capsys):
    field_path = tmp_path / "field.png"
    write_field(field_path)
    reference = synthetic_data_root / "training_data" / "fold_0" / "all"  # C-NMC-like cells on black.
    out_csv = tmp_path / "out.csv"
    assert predict.main(["--model", str(tiny_model_path), str(field_path), "--stain-reference", str(reference), "--csv", str(out_csv)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("stain_normalised" in line.split("\t")[-1] for line in lines)
    assert [row["stain"] for row in csv.DictReader(out_csv.open())] == ["reinhard", "reinhard"]
    assert predict.main(["--model", str(tiny_model_path), str(field_path), "--stain-reference", str(tmp_path / "none")]) == 2
    assert "no image files" in capsys.readouterr().err


def test_find_cells_saves_cut_outs_in_the_reference_stain(synthetic_data_root, tmp_path):
    from core.imaging.stain import normaliser_from_folder, stain_stats

    write_field(tmp_path / "field.png")
    reference = synthetic_data_root / "training_data" / "fold_0" / "all"
    out_json, out_dir = tmp_path / "cells.json", tmp_path / "cells"
    assert find_cells.main([str(tmp_path / "field.png"), "--json", str(out_json), "--out", str(out_dir), "--stain-reference", str(reference)]) == 0
    (record,) = json.loads(out_json.read_text())
    target = normaliser_from_folder(reference).reference
    assert record["stain_normalised_to"]["mean"] == pytest.approx(list(target.mean))
    saved = cv2.cvtColor(cv2.imread(str(sorted(out_dir.glob("*.png"))[0])), cv2.COLOR_BGR2RGB)
    assert np.allclose(stain_stats([saved]).mean, target.mean, atol=3.0)


def test_stain_normalise_moves_cells_to_the_models_own_training_stain(tiny_model_path, tmp_path, capsys):
    """--stain-normalise takes the reference from the sidecar (training's stain_reference), and says how to add a missing one."""
    import json
    import shutil

    from core import config
    from core.imaging.stain import SIDECAR_KEY, StainStats

    model = tmp_path / "model.keras"
    shutil.copy(tiny_model_path, model)
    sidecar = json.loads(config.sidecar_path(tiny_model_path).read_text())
    config.sidecar_path(model).write_text(json.dumps({k: v for k, v in sidecar.items() if k != SIDECAR_KEY}))
    field_path = tmp_path / "field.png"
    write_field(field_path)
    assert predict.main(["--model", str(model), str(field_path), "--stain-normalise"]) == 2
    refusal = capsys.readouterr().err
    assert "records no training stain" in refusal and "python -m core.cli.index" in refusal
    reference = StainStats((150.0, 150.0, 110.0), (40.0, 8.0, 10.0))
    config.sidecar_path(model).write_text(json.dumps({**sidecar, SIDECAR_KEY: reference.as_dict()}))
    out_csv = tmp_path / "out.csv"
    assert predict.main(["--model", str(model), str(field_path), "--stain-normalise", "--csv", str(out_csv)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("stain_normalised" in line.split("\t")[-1] for line in lines)
    assert [row["stain"] for row in csv.DictReader(out_csv.open())] == ["reinhard", "reinhard"]
    with pytest.raises(SystemExit):  # one reference at a time
        predict.main(["--model", str(model), str(field_path), "--stain-normalise", "--stain-reference", str(tmp_path)])
