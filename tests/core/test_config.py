"""core.config: the one helper for the files beside a model, and no second way of building them."""
from __future__ import annotations

import re
from pathlib import Path

from core import config
from core.data.sides import split_csv_path
from core.training.neighbours import index_path

ROOT = Path(__file__).resolve().parents[2]


def test_every_file_beside_a_model_shares_its_stem_and_folder():
    model = Path("models") / "run.v2.keras"
    paths = [config.sidecar_path(model), split_csv_path(model), index_path(model),
             config.beside_model(model, config.BEST_CHECKPOINT_SUFFIX), config.beside_model(str(model), config.LOG_SUFFIX)]
    assert [path.name for path in paths] == ["run.v2.json", "run.v2.split.csv", "run.v2.index.npz", "run.v2.best.keras",
                                             "run.v2.log.csv"]
    assert {path.parent for path in paths} == {model.parent}


def test_no_module_builds_a_path_beside_a_model_by_hand():
    """A second `stem + suffix` would let one writer and its reader disagree on a file's name."""
    by_hand = re.compile(r"\.stem \+ |\.with_suffix\(\"\.json\"\)")
    sources = [*ROOT.glob("core/**/*.py"), *ROOT.glob("ui/*.py"), *ROOT.glob("app_pages/*.py"), ROOT / "train.py"]
    found = [f"{path.relative_to(ROOT)}:{number}" for path in sources if path.name != "config.py"
             for number, line in enumerate(path.read_text().splitlines(), 1) if by_hand.search(line)]
    assert not found, f"Use core.config.beside_model for files beside a model: {found}"
