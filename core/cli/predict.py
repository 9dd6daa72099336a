"""Command line: classify image files with a trained model.

    python -m core.predict --model models/leukemia_resnet50.keras IMAGE_OR_DIR... [--csv FILE] [--tta] [--by-subject]

Prints one tab-separated line per image:

    file  label  P(all)  answer  flags

label is what the threshold gives ("all"/"hem"); answer is "all", "hem" or "refer" (an image out
of scope is referred, not answered); flags names, comma-separated, the limits that apply ("-" when
none): no_model_card (the sidecar is missing or records no threshold), demo_model,
real_cell_on_demo_model, out_of_scope, orientation_unstable (only with --tta, which runs the 8
flips/rotations per image), conformal_refer, seen_in_training (a file listed as "train" in the
split CSV beside the model), out_of_distribution, conformal_empty, threshold_differs. `--csv`
writes the same with the full sentences: file,label,probability_all,answer,conformal_set,ood_score,
out_of_distribution,flags,qualifications,error,field,box,stain (`core.model.assessment`). conformal_set is the
prediction set at the error rate (`all|hem`, `all`, `hem`, or empty for the empty set; blank where
the model has no conformal scores), ood_score the cell's OOD score (`core.model.ood`: its stain and
texture distance to the training cells; for an index built before that, its distance to the known
cells' features; blank without an index), out_of_distribution "yes"/"no" (the score above the
sidecar's threshold; blank without an index), the qualifications saying both numbers. Every answer comes from the one
path of the app (`core.model.answering.answer_cells`), so it is the answer Classify gives. A file
that fails prints `ERROR` and a readable reason on its line and the others carry on. The
exit status is 0 only when every file succeeded (1 when some failed, 2 for usage errors).
`--by-subject` prints one line per subject instead of per image (`core.cli.predict_subjects`).
A photo of a smear field (a light background) is answered per whole white cell found in it, one line
each, `FIELD#k`; field and box (x0 y0 x1 y1, the photo's pixels) fill the CSV's field and box columns.
`--stain-normalise` moves every cell to the model's training stain first (the sidecar's
`stain_reference`, measured on its training cells; `core.imaging.stain`, after segmentation for a
field's cells), `--stain-reference CELLS_DIR` to those cells' stain: its lines flag stain_normalised
and its CSV rows say "reinhard".
`--engine ray [--ray-address ADDR] [--parquet DIR]` gives the same rows from Ray Data: files prepared in
parallel tasks, answered by model actors (`core.cli.ray_engine`; Ray is imported only then).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

from core import config
from core.cli import predict_subjects
# Moved to core.cli.file_results (shared with the Ray engine); still importable from here.
from core.cli.file_results import CHUNK_SIZE, CSV_COLUMNS, FileResult, chunks, classify_files, expand_inputs, write_csv  # noqa: F401
from core.errors import LeukemiaAppError, ModelError

if TYPE_CHECKING:  # TensorFlow is imported lazily so `--help` answers at once.
    from core.imaging.stain import ReinhardNormaliser
    from core.model.inference import Classifier


def error_rate(text: str) -> float:
    """An argparse type: a conformal error rate within `config.ERROR_RATE_RANGE`, both ends included."""
    value = float(text)
    low, high = config.ERROR_RATE_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"must be between {low} and {high} (e.g. 0.05 for 5%%), got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.predict", description="Classify cell images as ALL or healthy (research use only).")
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--csv", metavar="FILE", help="also write the results to this CSV file")
    parser.add_argument("--tta", action="store_true", help="also run the 8 flips/rotations of each image (flags orientation_unstable)")
    parser.add_argument("--by-subject", action="store_true",
                        help="one line per subject (C-NMC subject from the file name, else the folder) instead of per image; see core/cli/predict_subjects.py")
    parser.add_argument("--error-rate", type=error_rate, metavar="ALPHA",
                        help="conformal error rate for 'refer', e.g. 0.05 (default: the model card's, 5%%)")
    stain = parser.add_mutually_exclusive_group()
    stain.add_argument("--stain-normalise", action="store_true",
                       help="move each cell (a field's after segmentation) to the model's training stain, from its "
                            "sidecar (Reinhard normalisation; flags stain_normalised)")
    stain.add_argument("--stain-reference", metavar="CELLS_DIR",
                       help="move each cell (a field's after segmentation) to the stain of these cells on black instead "
                            "(Reinhard normalisation; flags stain_normalised)")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this process (default); ray: Ray Data, files prepared in parallel tasks and answered by "
                             "model actors, the same rows (core/cli/ray_engine.py; needs requirements-ray.txt)")
    parser.add_argument("--ray-address", metavar="ADDR",
                        help="with --engine ray: the cluster's head (host:port, or auto); default: a local Ray instance, stopped at exit")
    parser.add_argument("--parquet", metavar="DIR",
                        help="with --engine ray: write the CSV's cell rows as Parquet files into this new or empty folder, "
                             "for runs too large to gather (no per-image lines)")
    parser.add_argument("--actors", type=positive_int, metavar="N",
                        help="with --engine ray: model actors (default: one per node)")
    args = parser.parse_args(argv)
    check_engine_flags(parser, args)
    return args


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return int(text)


def check_engine_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse (exit 2, one line after the usage) the Ray flags without --engine ray, and --parquet with what it cannot do."""
    if args.engine != "ray":
        for flag, value in (("--ray-address", args.ray_address), ("--parquet", args.parquet), ("--actors", args.actors)):
            if value is not None:
                parser.error(f"{flag} needs --engine ray")
    if args.parquet:
        if args.csv or args.by_subject:
            parser.error("--parquet writes the cell rows only: leave out --csv and --by-subject, or use --csv instead")
        folder = Path(args.parquet)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            parser.error(f"--parquet needs a new or empty folder; {folder} is not one")


def print_line(result: FileResult, by_subject: bool) -> None:
    """A result's line on standard output; with --by-subject only an error's (subjects get their own lines)."""
    if result.error or not by_subject:
        print(result.line(), flush=True)


def score_locally(args: argparse.Namespace, classifier: Classifier,
                  normaliser: ReinhardNormaliser | None) -> list[FileResult]:
    """The local engine: the files in chunks of CHUNK_SIZE, each chunk's lines printed as soon as it is answered."""
    from core.data.sides import SplitSides

    results: list[FileResult] = []
    sides = SplitSides.load(args.model)
    for chunk in chunks(expand_inputs(args.inputs), CHUNK_SIZE):
        for result in classify_files(classifier, chunk, args.tta, sides, args.error_rate, normaliser):
            print_line(result, args.by_subject)
            results.append(result)
    return results


def finish(args: argparse.Namespace, classifier: Classifier | None, results: Sequence[FileResult]) -> int:
    """After every file's line: the notes, the subjects' lines and the CSV; the exit status (0: every file succeeded).

    `classifier` is read only with --by-subject (its threshold, temperature and demo flag); None otherwise will do.
    """
    if not results:
        print("error: no image files found in the given paths.", file=sys.stderr)
        return 1
    if any(result.field for result in results):
        from core.imaging.fields.lineage import LYMPHOID_ONLY_NOTE

        print(f"note: {LYMPHOID_ONLY_NOTE}", file=sys.stderr)
    answers = predict_subjects.answer_subjects(results, classifier) if args.by_subject else None
    is_demo = bool(classifier.loaded.metadata.get("is_demo")) if args.by_subject else False
    if args.by_subject:
        for note in predict_subjects.mixed_folder_notes([result.path for result in results]):
            print(note, file=sys.stderr)
    for answer in answers or []:
        print(predict_subjects.subject_line(answer, is_demo), flush=True)
    if args.csv:
        try:
            if answers is None:
                write_csv(Path(args.csv), results)
            else:
                predict_subjects.write_csv(Path(args.csv), results, answers, CSV_COLUMNS, is_demo)
        except OSError as error:
            print(f"error: could not write {args.csv}: {error.strerror}", file=sys.stderr)
            return 1
    return 0 if all(result.error is None for result in results) else 1


def model_normaliser(model_path: Path) -> ReinhardNormaliser:
    """A normaliser towards the model's training stain, read from its sidecar (no model load).

    Raises:
        ModelError: no sidecar, or one that records no training stain (the message says how to add it).
    """
    from core.imaging.stain import ReinhardNormaliser, model_reference
    from core.model.sidecar_schema import read_sidecar_file

    sidecar = config.sidecar_path(model_path)
    reference = model_reference(read_sidecar_file(sidecar)) if sidecar.is_file() else None
    if reference is None:
        raise ModelError(f"{model_path.name}'s sidecar records no training stain to normalise to. Add it with "
                         f"python -m core.cli.index --model {model_path} --data-dir DATA_DIR (the index and the stain come from "
                         "its training cells), or give --stain-reference CELLS_DIR.")
    return ReinhardNormaliser(reference)


def load_model(model: str) -> Classifier:
    """The model with its checks, evidence and lock (`core.model.store.load_classifier`); ModelError when refused."""
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    return Classifier(load_classifier(model))


def score_with_ray(args: argparse.Namespace, normaliser: ReinhardNormaliser | None) -> int:
    """--engine ray: the results through Ray (`core.cli.ray_engine`), then the local lines, notes and CSV; or Parquet.

    Each actor loads the model, with the local checks (a refusal stops the run with its message). This process
    loads it too only for --by-subject (the subjects' threshold, temperature and demo flag), in a thread while Ray
    starts, or when the sidecar records no input size; where it refuses the model, that refusal is the message.
    """
    from concurrent.futures import ThreadPoolExecutor

    from core.cli import ray_engine, ray_settings

    image_size = ray_settings.recorded_image_size(args.model)
    with ThreadPoolExecutor(1) as pool:
        loading = pool.submit(load_model, args.model) if args.by_subject or image_size is None else None
        try:
            image_size = image_size or loading.result().image_size
            scored = (ray_engine.score_to_parquet if args.parquet else ray_engine.score)(args, image_size, normaliser)
            classifier = loading.result() if loading is not None else None
        except LeukemiaAppError as error:
            print(f"error: {(loading.exception() if loading is not None else None) or error}", file=sys.stderr)
            return 2
    if args.parquet:
        rows, errors = scored
        if not rows:
            print("error: no image files found in the given paths.", file=sys.stderr)
            return 1
        print(f"wrote {rows} rows ({errors} of them errors) to {args.parquet}", file=sys.stderr)
        return 0 if errors == 0 else 1
    for result in scored:
        print_line(result, args.by_subject)
    return finish(args, classifier, scored)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from core.imaging.stain import normaliser_from_folder

    try:
        if args.engine == "ray":
            from core.cli.ray_session import check_setup

            check_setup(args.ray_address)  # Before anything loads: a missing Ray or cluster is said at once.
        normaliser = normaliser_from_folder(args.stain_reference) if args.stain_reference else None
        if args.stain_normalise:
            normaliser = model_normaliser(Path(args.model))
        if args.engine == "ray":
            return score_with_ray(args, normaliser)
        classifier = load_model(args.model)
    except LeukemiaAppError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return finish(args, classifier, score_locally(args, classifier, normaliser))


if __name__ == "__main__":
    raise SystemExit(main())
