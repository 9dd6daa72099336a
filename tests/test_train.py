"""train.py: the CLI's errors, a dry run, a short real run that learns, the sidecar and its three roles, resuming."""
from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import train
from core.model.store import load_classifier
from core.data.synthetic import generate_dataset
from core.training.options import TrainOptions

SIDECAR_FIELDS = (
    "class_names", "threshold", "threshold_rule", "image_size", "preprocessing", "is_demo", "version", "created",
    "weights", "arguments", "data", "split", "split_roles", "history", "evaluation", "training", "library_versions", "sha256",
)
EVALUATED_SETS = ("tuning", "calibration", "external")
EVALUATION_FIELDS = (
    "accuracy", "balanced_accuracy", "weighted_f1", "sensitivity", "specificity", "roc_auc", "roc_auc_ci95",
    "brier", "ece", "confusion_matrix", "roc_curve", "pr_curve", "calibration", "per_subject", "baseline_all",
)


@pytest.fixture(scope="module")
def small_data(tmp_path_factory) -> Path:
    """18 training subjects (12 ALL, 6 healthy): at the default fractions 2 + 1 tune, 2 + 1 calibrate, 12 train."""
    return generate_dataset(tmp_path_factory.mktemp("cnmc"), subjects=12, images_per_subject=8, seed=3, extra_training_subjects=6)


def quick_options(data: Path, output: Path, **changes) -> TrainOptions:
    """A from-scratch recipe small enough for CI: 48 px inputs, a few epochs, no explanation audit (tested on its own)."""
    options = TrainOptions(data_dir=data, weights="none", image_size=48, epochs=6, fine_tune_epochs=0, batch_size=16,
                           learning_rate=1e-3, bn_momentum=0.9, patience=6, output=output, seed=0, skip_audit=True)
    return replace(options, **changes)


class Interrupt(Exception):
    """Stands in for a killed process."""


INTERRUPTED_AT_EPOCH = 2


@pytest.fixture(scope="module")
def trained(small_data, tmp_path_factory):
    """A short real run, killed as its third epoch begins and run again, which resumes it.

    One run serves the tests of what training writes and the test of resuming (each run traces
    ResNet50's training step, about half a minute on 2 cores). `trained.datasets` records every
    labelled pipeline the resumed run built: (files, training?).
    """
    import keras

    from core.training import pipeline
    from core.training.run import train as run

    class StopAtEpoch(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == INTERRUPTED_AT_EPOCH:
                raise Interrupt()

    options = quick_options(small_data, tmp_path_factory.mktemp("model") / "model.keras")
    with pytest.raises(Interrupt):
        run(options, log=lambda line: None, extra_callbacks=[StopAtEpoch()])
    built, make_dataset = [], pipeline.make_dataset

    def recording(paths, labels, *args, **kwargs):
        if labels is not None:  # `fit`'s pipelines; predictions and features are unlabelled
            built.append(({str(path) for path in paths}, bool(args[2] if len(args) > 2 else kwargs.get("training"))))
        return make_dataset(paths, labels, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "make_dataset", recording)
        result = run(options, log=lambda line: None)
    result.datasets = built
    return result


def test_help_documents_every_flag(capsys):
    with pytest.raises(SystemExit) as stop:
        train.parse_args(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--data-dir", "--demo", "--weights", "--image-size", "--epochs", "--fine-tune-epochs", "--batch-size",
                 "--learning-rate", "--split", "--tuning-fraction", "--calibration-fraction", "--limit", "--seed", "--output",
                 "--dry-run"):
        assert flag in text


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "-1"], "0 or more"),
    (["--split", "random"], "invalid choice"),
    (["--tuning-fraction", "1.5"], "between 0 and 1"),
    (["--calibration-fraction", "0"], "between 0 and 1"),
    (["--val-fraction", "0.2"], "replaced by --tuning-fraction and --calibration-fraction"),
    (["--image-size", "8"], "at least 32"),
    (["--batch-size", "0"], "at least 1"),
    (["--no-such-flag"], "unrecognized"),
])
def test_bad_flags_give_one_clear_line(argv, message, capsys):
    with pytest.raises(SystemExit) as stop:
        train.parse_args(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error
    assert len(error.strip().splitlines()) == 1


@pytest.mark.parametrize("make_argv, message", [
    (lambda tmp: ["--data-dir", str(tmp / "missing")], "does not exist"),
    (lambda tmp: ["--data-dir", str(tmp)], "C-NMC"),
    (lambda tmp: ["--weights", "none"], "--data-dir is required"),
])
def test_bad_data_gives_a_clear_error(make_argv, message, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not a dataset")
    assert train.main(make_argv(tmp_path)) == 2
    error = capsys.readouterr().err
    assert message in error and "Traceback" not in error


def test_fractions_that_leave_no_subject_to_train_on_are_one_clear_line(small_data, tmp_path, capsys):
    argv = ["--data-dir", str(small_data), "--tuning-fraction", "0.5", "--calibration-fraction", "0.5", "--dry-run",
            "--output", str(tmp_path / "m.keras")]
    assert train.main(argv) == 2
    error = capsys.readouterr().err
    assert "below 1" in error and "Traceback" not in error


def test_missing_weights_file_names_the_alternatives(small_data, tmp_path, capsys):
    argv = ["--data-dir", str(small_data), "--weights", str(tmp_path / "nope.h5"), "--dry-run", "--output", str(tmp_path / "m.keras")]
    assert train.main(argv) == 2
    error = capsys.readouterr().err
    assert "--weights none" in error and "imagenet" in error


def test_dry_run_writes_a_model_that_predict_can_use(demo_run, capsys):
    """The session's `train.py --demo --dry-run` model answers `core.predict` on one of the cells it was given."""
    from core import config
    from core.cli import predict

    assert demo_run.returncode == 0, demo_run.output[-3000:]
    image = next((demo_run.data_root / config.DATASET_FOLDER_NAME / "training_data").rglob("*.bmp"))
    capsys.readouterr()
    assert predict.main(["--model", str(demo_run.model_path), str(image)]) == 0
    assert capsys.readouterr().out.strip().split("\t")[1] in {"all", "hem"}


def test_short_run_learns_on_held_out_subjects(trained):
    tuning, external = (trained.metadata["evaluation"][name] for name in ("tuning", "external"))
    # Chance is 0.5; a model that learned the morphology scores well above it on unseen subjects,
    # both the held-out (tuning) subjects of the training folds and the external set.
    assert tuning["roc_auc"] > 0.75 and external["roc_auc"] > 0.75, (tuning["roc_auc"], external["roc_auc"])


def test_sidecar_has_every_field_with_sane_values(trained):
    metadata = json.loads(trained.model_path.with_suffix(".json").read_text())
    for field in SIDECAR_FIELDS:
        assert field in metadata, field
    for name in EVALUATED_SETS:
        evaluation = metadata["evaluation"][name]
        for field in EVALUATION_FIELDS:
            assert field in evaluation, (name, field)
        assert 0 <= evaluation["accuracy"] <= 1 and 0 <= evaluation["ece"] <= 1
    assert 0 < metadata["threshold"] < 1
    assert metadata["data"]["synthetic"] is True
    assert len(metadata["history"]["loss"]) == len(metadata["history"]["phase"]) >= 1
    assert load_classifier(trained.model_path).sha256_matches is True
    assert "explanation_audit" not in metadata  # skip_audit: the model card offers core.cli.audit instead.


def split_rows(trained) -> list[dict[str, str]]:
    with open(trained.model_path.with_name(trained.metadata["split"]["files_csv"])) as handle:
        return list(csv.DictReader(handle))


def test_the_three_roles_share_no_subject_and_the_sidecar_names_those_of_the_split_csv(trained):
    split, roles = trained.metadata["split"], trained.metadata["split_roles"]
    assert split["kind"] == "subject" and set(roles) == {"train", "tuning", "calibration"}
    rows = split_rows(trained)
    assert {row["side"] for row in rows} == {"train", "tuning", "calibration", "external"}
    for role, subjects in roles.items():
        assert set(subjects) == {row["subject"] for row in rows if row["side"] == role}, role
        assert {row["label"] for row in rows if row["side"] == role} == {"all", "hem"}, role  # both classes in every role
        assert split[f"{role}_images"] == sum(row["side"] == role for row in rows)
    assert not set(roles["train"]) & set(roles["tuning"]) and not set(roles["train"]) & set(roles["calibration"])
    assert not set(roles["tuning"]) & set(roles["calibration"])


def test_fit_trains_on_the_train_role_and_stops_early_on_the_tuning_role_only(trained, small_data):
    """Early stopping, the checkpoint and the learning-rate schedule read `fit`'s validation data: the tuning cells."""
    root = small_data
    files = {role: {str(root / row["path"]) for row in split_rows(trained) if row["side"] == role}
             for role in ("train", "tuning", "calibration")}
    assert sorted(trained.datasets, key=lambda built: not built[1]) == [(files["train"], True), (files["tuning"], False)]
    assert not any(files["calibration"] & paths for paths, _ in trained.datasets)


def test_threshold_temperature_conformal_and_ood_threshold_come_from_the_calibration_cells(trained):
    from core.cli.calibrate import held_out_set
    from core.model.embedding import EmbeddingIndex
    from core.training.calibration_fit import fit_temperature
    from core.reporting.evaluation import choose_threshold

    metadata, folder = trained.metadata, trained.model_path.parent
    calibration = held_out_set(folder / metadata["evaluation"]["calibration"]["predictions_csv"])
    tuning = held_out_set(folder / metadata["evaluation"]["tuning"]["predictions_csv"])
    assert metadata["threshold"] == pytest.approx(choose_threshold(calibration.labels, calibration.probabilities), abs=1e-6)
    assert metadata["calibration"]["temperature"] == pytest.approx(fit_temperature(calibration.labels, calibration.probabilities), rel=1e-5)
    assert metadata["calibration"]["temperature"] != pytest.approx(fit_temperature(tuning.labels, tuning.probabilities), rel=1e-5)
    scores = metadata["conformal"]["scores"]
    assert (len(scores["all"]), len(scores["hem"])) == (int(calibration.labels.sum()), int((calibration.labels == 0).sum()))
    entry = metadata["embedding_index"]
    index = EmbeddingIndex.load(folder / entry["file"], dimensions=entry["dimensions"])
    calibration_files = {row["path"] for row in split_rows(trained) if row["side"] == "calibration"}
    rows = [row for row, file in enumerate(index.files) if file in calibration_files]
    assert entry["ood_threshold_cells"] == len(rows) == len(calibration_files) < int((index.sides == "validation").sum())
    distances = [index.ood_score(features, entry["ood_k"]) for features in index.features[rows]]
    assert entry["neighbour_ood_threshold"] == pytest.approx(float(np.percentile(distances, entry["ood_percentile"])), abs=1e-6)
    scores = entry["ood_distribution"]["calibration subjects"]  # the statistics score: the calibration cells' only
    assert len(scores) == len(calibration_files)
    assert entry["ood_threshold"] == pytest.approx(float(np.percentile(scores, entry["ood_percentile"])), abs=1e-3)


def test_an_interrupted_run_resumes_from_the_last_finished_epoch(trained):
    """`trained` was killed as epoch 2 began; run again, it ran epochs 2 to 5 only and its record covers all six."""
    from core import config
    from core.training.resume import progress_path

    with open(config.beside_model(trained.model_path, config.LOG_SUFFIX)) as handle:
        epochs = [int(row["epoch"]) for row in csv.DictReader(handle)]
    assert epochs == list(range(6))  # Epochs 0 and 1 were not run again.
    assert trained.model_path.is_file()
    # The sidecar covers the whole run, not only the last attempt; the progress record is gone.
    assert trained.metadata["training"]["epochs_run"] == 6 and len(trained.metadata["history"]["val_auc"]) == 6
    assert trained.metadata["history"]["phase"] == ["all layers"] * 6
    assert not progress_path(trained.model_path).exists()


def test_demo_dry_run_builds_a_demo_model_end_to_end(demo_run):
    """`python train.py --demo --dry-run` (run once per session by the `demo_run` fixture), all under tmp."""
    from core import config

    assert demo_run.returncode == 0, demo_run.output[-3000:]
    assert "Traceback" not in demo_run.output
    assert (demo_run.data_root / config.DATASET_FOLDER_NAME / "training_data").is_dir()  # generated where told
    loaded = load_classifier(demo_run.model_path)
    assert loaded.sha256_matches is True
    metadata = json.loads(config.sidecar_path(demo_run.model_path).read_text())
    assert metadata["is_demo"] is True and metadata["data"]["synthetic"] is True and metadata["demo_note"]
    assert metadata["image_size"] == loaded.image_size and metadata["weights"] == "none"
    assert metadata["explanation_audit"]  # The dry run audits one cell with Grad-CAM.
    for name in EVALUATED_SETS:
        assert (demo_run.model_path.parent / metadata["evaluation"][name]["predictions_csv"]).is_file()
    assert set(metadata["split_roles"]) == {"train", "tuning", "calibration"}
