"""The aggregation rules compared on a trained model's subjects, from few cells to many.

    python benchmarks/subject_rules.py --model models/leukemia_resnet50.keras [--sizes 1 2 5 10] [--repeats 200]

With all their cells, the rules often answer every subject alike (the sidecar's "rules" says so);
they differ when a subject has few cells. For each rule of `core.subjects.rules.RULES` and each
size, every held-out and external subject is answered from `--repeats` random subsets of that many
of its cells (`core.subjects.cohort.cells_needed_curve`, the model's threshold and temperature),
from the P(all) stored in `<model>.tuning_predictions.csv`, `.calibration_predictions.csv` and `.external_predictions.csv`
(no model run). Prints one JSON object: {set: {rule: [{cells, subjects, accuracy, roc_auc}, ...]}}.
The figures are counts over random subsets, not timings: machine load does not change them.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

if not __package__:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from core.cli.subjects import predictions  # noqa: E402
from core.subjects import rules  # noqa: E402
from core.model.store import read_sidecar  # noqa: E402
from core.subjects import cohort  # noqa: E402
from core.config import beside_model  # noqa: E402

# The tuning and calibration subjects are both held-out subjects (in-sample for model selection and for the threshold
# and calibration respectively); a model trained before the roles has one validation set instead.
SETS = {"tuning subjects": ".tuning_predictions.csv", "calibration subjects": ".calibration_predictions.csv",
        "held-out subjects (a model trained before the roles)": ".validation_predictions.csv",
        "external set": ".external_predictions.csv"}


def compare(model_path: Path, sizes: list[int], repeats: int) -> dict:
    """{set: {rule: curve}} for the sets whose predictions CSV is beside the model."""
    metadata, _ = read_sidecar(model_path)
    temperature = (metadata.get("calibration") or {}).get("temperature")
    result = {}
    for name, suffix in SETS.items():
        if not beside_model(model_path, suffix).is_file():
            continue
        probabilities, codes, names = predictions(beside_model(model_path, suffix))
        known = [i for i, subject in enumerate(names) if subject]
        grouped = cohort.group_cells([probabilities[i] for i in known], [codes[i] for i in known], [names[i] for i in known])
        result[name] = {rule: [{key: point[key] for key in ("cells", "subjects", "accuracy", "roc_auc")} for point in
                               cohort.cells_needed_curve(grouped, float(metadata["threshold"]), rule, temperature, sizes, repeats)]
                        for rule in rules.RULES}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, required=True)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 5, 10])
    parser.add_argument("--repeats", type=int, default=200)
    arguments = parser.parse_args()
    print(json.dumps(compare(arguments.model, arguments.sizes, arguments.repeats), indent=1))


if __name__ == "__main__":
    main()
