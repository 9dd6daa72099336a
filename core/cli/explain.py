"""Command line: write heatmaps of where the classifier looked.

    python -m core.explain --model models/leukemia_resnet50.keras --method gradcam --out DIR IMAGE_OR_DIR...
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from core import config
from core.cli.file_results import FileResult, expand_inputs
from core.errors import LeukemiaAppError
from core.explain.explainer import GRADIENT_CAMS, LAYERS, METHODS, Explainer
from core.explain.heatmaps import overlay
from core.imaging.encode import png_bytes
from core.imaging.decode import load_image
from core.imaging.prepare import prepare_cell
from core.model.analysis import BATCHED, CellAnalysis, analyze_cell
from core.model.answering import answer_analysis, explained_class
from core.model.assessment import Assessment
from core.model.inference import Classifier
from core.model.network import to_model_array
from core.model.store import load_classifier


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m core.explain",
        description="Write heatmaps of where the classifier looked (research use only; a heatmap does not validate the answer).",
        epilog="For each image NAME it writes NAME.overlay.png (the heatmap over the model's input crop), "
        "NAME.heatmap.npy ((S, S) float32 in [0, 1], the model input's height and width) and NAME.input.npy: "
        "the (S, S, 3) float32 array exactly as fed to the model, i.e. the preprocessed crop after "
        "keras.applications.resnet50.preprocess_input (BGR channel order, ImageNet means subtracted, no scaling), "
        "ready to check against your own implementation. Prints one line per image: file, label, P(all), answer, limits, "
        "output prefix, or file, ERROR, reason. Exit status 0 when every image succeeded, 1 when some failed, "
        "2 for usage errors.",
    )
    parser.add_argument("inputs", nargs="+", metavar="IMAGE_OR_DIR", help="image files or folders of images")
    parser.add_argument("--model", default=str(config.default_model_path()), help="the .keras model (default: %(default)s)")
    parser.add_argument("--method", choices=METHODS, default="gradcam", help="explanation method (default: %(default)s)")
    parser.add_argument("--layer", default=config.LAST_CONV_LAYER,
                        help=f"conv layer to explain, e.g. {', '.join(LAYERS)} (default: %(default)s)")
    parser.add_argument("--target", choices=("all", "hem"), default=None,
                        help="class whose evidence is shown (default: the predicted class)")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the output files (created if missing)")
    return parser.parse_args(argv)


def explain_file(
    classifier: Classifier, explainer: Explainer, path: Path, out_prefix: Path, args: argparse.Namespace
) -> FileResult:
    """Decode, analyse, assess and explain one file and write its three outputs; the line says the answer's limits."""
    try:
        image_rgb = load_image(path).image_rgb
        analysis, assessment, heatmap = analyze_and_explain(classifier, explainer, image_rgb, args)
        model_input = analysis.stages.model_input
        out_prefix.with_name(out_prefix.name + ".overlay.png").write_bytes(png_bytes(overlay(model_input, heatmap)))
        np.save(out_prefix.with_name(out_prefix.name + ".heatmap.npy"), heatmap)
        np.save(out_prefix.with_name(out_prefix.name + ".input.npy"), to_model_array(model_input))
    except LeukemiaAppError as error:
        return FileResult(str(path), error=str(error))
    except OSError as error:
        return FileResult(str(path), error=f"could not write to {out_prefix.parent}: {error.strerror}")
    return FileResult(str(path), assessment)


def analyze_and_explain(classifier: Classifier, explainer: Explainer, image_rgb: np.ndarray,
                        args: argparse.Namespace) -> tuple[CellAnalysis, Assessment, np.ndarray]:
    """The analysis, its one answer (`core.model.answering`) and the (S, S) heatmap of the answered class (or --target).

    For gradient methods the answer's values and the heatmap come from one gradient pass (float32
    alone, but another compiled graph: BATCHED, so a cell near a boundary is run again as on Classify).
    Score-CAM and SmoothGrad need the answer before they start, so they classify first.
    """
    if args.method not in GRADIENT_CAMS:
        analysis, assessment = answer_analysis(classifier, analyze_cell(classifier, image_rgb, with_tta=False))
        target = args.target or explained_class(assessment)
        return analysis, assessment, explainer.explain(analysis.stages.model_input, args.method, target, args.layer)
    cell = prepare_cell(image_rgb, classifier.image_size)
    gradient_pass = explainer.gradient_pass(cell.stages.model_input, args.layer)
    features = gradient_pass.features if classifier.evidence.index is not None else None
    measured = CellAnalysis(classifier.decide(gradient_pass.probability_all), cell.stages, cell.scope_reasons, features, BATCHED)
    analysis, assessment = answer_analysis(classifier, measured)
    return analysis, assessment, explainer.cam(gradient_pass, args.method, args.target or explained_class(assessment))


def unique_prefix(out_dir: Path, path: Path, used: set[str]) -> Path:
    """out_dir/NAME from the file's stem, with -2, -3... when two inputs share a stem."""
    name, count = path.stem, 1
    while name in used:
        count += 1
        name = f"{path.stem}-{count}"
    used.add(name)
    return out_dir / name


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        classifier = Classifier(load_classifier(args.model))
        explainer = Explainer(classifier.loaded.model, classifier.lock, threshold=classifier.threshold)
        explainer.check_layer(args.layer)
        out_dir = Path(args.out)
        out_dir.mkdir(parents=True, exist_ok=True)
    except (LeukemiaAppError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"error: could not create the output folder {args.out}: {error.strerror}", file=sys.stderr)
        return 2
    results, used = [], set()
    for path in expand_inputs(args.inputs):
        prefix = unique_prefix(out_dir, path, used)
        result = explain_file(classifier, explainer, path, prefix, args)
        print(result.line() if result.error else f"{result.line()}\t{prefix}", flush=True)
        results.append(result)
    if not results:
        print("error: no image files found in the given paths.", file=sys.stderr)
        return 1
    return 0 if all(result.error is None for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
