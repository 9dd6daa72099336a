"""Train the leukemia cell classifier and write models/leukemia_resnet50.keras plus its sidecar.

    python train.py --data-dir PATH/C-NMC_Leukemia          # the real dataset, ImageNet start
    python train.py --demo                                  # the built-in synthetic demo (minutes on a CPU)
    python train.py --demo --split image                    # the original random image split, to see leakage
    python train.py --dry-run --demo                        # one batch of everything (CI)

Research and education only; not a medical device.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Callable, Sequence

from core.errors import LeukemiaAppError
from core.training.options import TrainOptions

DEFAULTS = TrainOptions()  # The one source of defaults: every flag's default is read from here.


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad flag in one line (exit 2) instead of a usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"train.py: error: {message} (see `python train.py --help`)\n")


def int_at_least(minimum: int, meaning: str) -> Callable[[str], int]:
    """An argparse type: an integer of at least `minimum`, refused with `meaning` in the message."""

    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be {meaning}, got {value}")
        return value

    parse.__name__ = "integer"  # argparse says "invalid integer value: 'abc'".
    return parse


positive_int = int_at_least(1, "at least 1")
non_negative_int = int_at_least(0, "0 or more")
image_size = int_at_least(32, "at least 32 pixels (ResNet50 downsamples 32x)")


class Replaced(argparse.Action):
    """A flag that was replaced: refused in one line that names its replacement."""

    def __call__(self, parser, namespace, values, option_string=None) -> None:  # type: ignore[override]
        parser.error(f"{option_string} was replaced by --tuning-fraction and --calibration-fraction (default "
                     f"{DEFAULTS.tuning_fraction} each): the held-out subjects now have two roles, one that chooses "
                     "the epoch and one that sets the threshold and the calibration")


def fraction(text: str) -> float:
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1 (exclusive), got {value}")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line; every flag has a default and a help text."""
    parser = _Parser(prog="python train.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
                     allow_abbrev=False)  # Exact flag names, so `explicit_flags` can tell which ones the user gave.
    add = parser.add_argument
    add("--data-dir", type=Path, help="C-NMC_Leukemia folder (or its parent, or training_data). Default: the synthetic demo with --demo.")
    add("--demo", action="store_true", help="the demo recipe: --weights none, 96 px, 14 epochs, BatchNorm momentum 0.9, --calibration-fraction 0.2; generates data/demo if --data-dir is not given. Flags given explicitly override the recipe")
    add("--weights", default=DEFAULTS.weights, help="imagenet (download), none (random start) or PATH to resnet50_..._notop.h5 (default: %(default)s)")
    add("--image-size", type=image_size, default=DEFAULTS.image_size, help="model input side in pixels (default: %(default)s)")
    add("--epochs", type=non_negative_int, default=DEFAULTS.epochs, help="phase 1 epochs: the head on a frozen base (default: %(default)s)")
    add("--fine-tune-epochs", type=non_negative_int, default=DEFAULTS.fine_tune_epochs, help="phase 2 epochs: whole network at a small learning rate (default: %(default)s)")
    add("--batch-size", type=positive_int, default=DEFAULTS.batch_size, help="images per step, over all replicas (default: %(default)s)")
    add("--learning-rate", type=float, default=DEFAULTS.learning_rate, help="Adam learning rate for phase 1 (default: %(default)s)")
    add("--fine-tune-learning-rate", type=float, default=DEFAULTS.fine_tune_learning_rate, help="Adam learning rate for phase 2 (default: %(default)s)")
    add("--split", choices=("subject", "image"), default=DEFAULTS.split, help="subject: no subject in two roles (honest); image: the original random image split, cut into the same three roles (default: %(default)s)")
    add("--tuning-fraction", type=fraction, default=DEFAULTS.tuning_fraction, help="share of each class's training-fold subjects held out as tuning subjects: early stopping, checkpoint, learning-rate schedule (images with --split image; default: %(default)s)")
    add("--calibration-fraction", type=fraction, default=DEFAULTS.calibration_fraction, help="share of each class's training-fold subjects held out as calibration subjects: decision threshold, temperature, conformal scores, OOD threshold (images with --split image; default: %(default)s)")
    add("--val-fraction", action=Replaced, nargs="?", help=argparse.SUPPRESS)
    add("--limit", type=positive_int, help="train on a random subset of this many training images (quick runs)")
    add("--seed", type=int, default=DEFAULTS.seed, help="random seed for split, shuffling, augmentation and weights (default: %(default)s)")
    add("--output", type=Path, default=DEFAULTS.output, help="model file to write (default: %(default)s)")
    add("--patience", type=positive_int, default=DEFAULTS.patience, help="early-stopping patience in epochs, on the tuning subjects' AUC (default: %(default)s)")
    add("--cache-dir", type=Path, help="where preprocessed crops are cached (default: next to the output)")
    add("--mixed-precision", choices=("auto", "on", "off"), default=DEFAULTS.mixed_precision, help="mixed_float16 on GPUs (auto: when a GPU is present)")
    add("--dry-run", action="store_true", help="one batch of everything, for CI: checks the whole script in seconds")
    add("--skip-audit", action="store_true", help="leave out the explanation audit (about 40 s on 2 cores); run python -m core.cli.audit --model OUTPUT later")
    args = parser.parse_args(argv)
    args.explicit = explicit_flags(parser, sys.argv[1:] if argv is None else argv)
    return args


def explicit_flags(parser: argparse.ArgumentParser, argv: Sequence[str]) -> set[str]:
    """The destinations of the flags written on the command line (`--epochs 3` and `--epochs=3` alike)."""
    given = {word.split("=", 1)[0] for word in argv if word.startswith("--")}
    return {action.dest for action in parser._actions if given & set(action.option_strings)}


def options_from(args: argparse.Namespace) -> TrainOptions:
    """Namespace -> TrainOptions. With --demo the demo recipe applies, and every flag given explicitly overrides it."""
    from core.training.demo import demo_options

    values = {key: value for key, value in vars(args).items() if key not in ("explicit", "val_fraction")}
    options = TrainOptions(**values)
    if args.demo:
        overrides = {key: values[key] for key in args.explicit if key != "demo"}
        options = demo_options(options, overrides)
    elif args.data_dir is None:
        raise LeukemiaAppError("--data-dir is required (the C-NMC_Leukemia folder), or use --demo for the synthetic demo.")
    return options


def main(argv: Sequence[str] | None = None) -> int:
    from core.cli import quiet

    quiet.install()  # TensorFlow's start-up lines stay out of the output (it is imported later, lazily).

    args = parse_args(argv)
    try:
        options = options_from(args)
        from core.training.demo import with_demo_data
        from core.training.run import train

        train(with_demo_data(options) if options.demo else options)
    except LeukemiaAppError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("train.py: interrupted. Run the same command again to resume from the last finished epoch.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
