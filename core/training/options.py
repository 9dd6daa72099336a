"""Everything a training run depends on, with the one set of defaults that `train.py`'s flags show."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from core import config

Progress = Callable[[float, str], None]
# Progress messages the app reads (`ui.demo_build`): where an epoch ends (to measure epoch times),
# and the evaluation step that follows training (no fraction moves during it).
EPOCH_END_PREFIX = "Finished epoch"
EVALUATING_MESSAGE = "Evaluating on the held-out subjects and the external set…"


@dataclass
class TrainOptions:
    """Everything a training run depends on; the CLI flags map one to one onto these fields."""

    data_dir: Path | None = None
    demo: bool = False
    weights: str = "imagenet"
    image_size: int = config.IMAGE_SIZE
    epochs: int = 10
    fine_tune_epochs: int = 10
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    split: str = "subject"
    # Shares of each class's training-fold subjects held out for tuning and for calibration (`core.data.splits`;
    # shares of images with split="image"). On C-NMC's 47 ALL + 26 healthy subjects: 7 + 4 each, 51 left to train.
    tuning_fraction: float = 0.15
    calibration_fraction: float = 0.15
    limit: int | None = None
    seed: int = 0
    output: Path = field(default_factory=lambda: config.PROJECT_ROOT / "models" / config.MODEL_FILENAME)
    dry_run: bool = False
    skip_audit: bool = False
    patience: int = 4
    bn_momentum: float | None = None
    cache_dir: Path | None = None
    mixed_precision: str = "auto"
