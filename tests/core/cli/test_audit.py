"""`python -m core.cli.audit` on the demo run's model, and training writing the audit itself."""
from __future__ import annotations

import json
import shutil

from core import config
from core.cli.audit import main
from core.data.sides import split_csv_path
from core.explain.audit import SIDECAR_KEY


def test_training_audits_its_explanations_into_the_sidecar(trained_sidecar_text):
    """The dry run audits one cell with Grad-CAM on the last block; a full run every pair of `audit_pairs()`."""
    audit = json.loads(trained_sidecar_text)[SIDECAR_KEY]
    assert audit["cells"] == 1 and [(row["method"], row["layer"]) for row in audit["rows"]] == [("gradcam", config.LAST_CONV_LAYER)]


def test_audit_command_writes_the_audit_for_an_older_model(demo_run, trained_model_path, trained_sidecar_text, tmp_path, capsys):
    model = tmp_path / trained_model_path.name
    shutil.copyfile(trained_model_path, model)
    shutil.copyfile(split_csv_path(trained_model_path), split_csv_path(model))
    older = {key: value for key, value in json.loads(trained_sidecar_text).items() if key != SIDECAR_KEY}
    config.sidecar_path(model).write_text(json.dumps(older))
    data = demo_run.data_root / config.DATASET_FOLDER_NAME
    assert main(["--model", str(model), "--data", str(data), "--cells", "1", "--method", "gradcam++",
                 "--layer", config.LAST_CONV_LAYER]) == 0  # one pair keeps the test short; all 11 by default
    out = capsys.readouterr().out
    assert out.startswith("Audited 1 held-out cells") and out.splitlines()[1].startswith("Grad-CAM++\tconv5_block3_out")
    written = json.loads(config.sidecar_path(model).read_text())
    assert written[SIDECAR_KEY]["cells"] == 1 and written["sha256"] == older["sha256"]


def test_without_a_split_csv_the_audit_says_where_it_comes_from(demo_run, trained_model_path, tmp_path, capsys):
    model = tmp_path / trained_model_path.name
    shutil.copyfile(trained_model_path, model)
    shutil.copyfile(config.sidecar_path(trained_model_path), config.sidecar_path(model))
    assert main(["--model", str(model), "--data", str(demo_run.data_root / config.DATASET_FOLDER_NAME)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: Cannot read the split CSV") and "written by train.py" in err
