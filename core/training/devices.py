"""Where training runs: the distribution strategy and the Keras dtype policy.

One machine only. With several GPUs visible, training runs under `MirroredStrategy`
(one replica per GPU, the batch size is global). Several machines are refused up front:
Keras 3 does not work with `MultiWorkerMirroredStrategy` (keras-team/keras#20585), and
every worker would otherwise fail inside its first `fit`. `benchmarks/multi_worker.py`
re-checks the upstream bug.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from core.errors import DeviceSetupError

if TYPE_CHECKING:  # TensorFlow loads when a strategy is chosen, not when this module is imported.
    import tensorflow as tf


def choose_strategy() -> "tf.distribute.Strategy":
    """Mirrored with several GPUs, else the default strategy; refuses a multi-worker TF_CONFIG.

    Raises:
        DeviceSetupError: TF_CONFIG is set (a multi-machine cluster), which Keras 3 cannot train on.
    """
    import tensorflow as tf

    if os.environ.get("TF_CONFIG"):
        raise DeviceSetupError(
            "TF_CONFIG is set, but multi-machine training (MultiWorkerMirroredStrategy) does not work with Keras 3 "
            "(keras-team/keras#20585). Unset TF_CONFIG and train on one machine (all its GPUs are used), or run "
            "independent trainings per seed or per fold on each machine."
        )
    if len(tf.config.list_physical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def check_batch_for_replicas(batch_size: int, images: dict[str, int], replicas: int) -> None:
    """Refuse first batches that Keras 3 cannot split evenly over the replicas.

    Before training and before validating, Keras 3 averages the first batch over the replicas
    element-wise (`TensorFlowTrainer._maybe_symbolic_build`), which fails with "Inputs to
    operation AddN ... must have the same size and shape" when that batch splits unevenly.
    Each first batch holds min(batch_size, images in its set).

    Args:
        images: the number of images per set that `fit` reads, e.g. {"training": 800, "tuning": 200}.

    Raises:
        DeviceSetupError: a first batch is not a multiple of `replicas`.
    """
    for name, count in images.items():
        first_batch = min(batch_size, count)
        if replicas > 1 and first_batch % replicas:
            raise DeviceSetupError(
                f"The first {name} batch holds {first_batch} images (--batch-size {batch_size}, {count} {name} images), "
                f"which does not split evenly over {replicas} replicas (GPUs). Pass a --batch-size that is a multiple "
                f"of {replicas} and at most the number of {name} images."
            )


def configure_precision(mode: str) -> str:
    """Set the Keras dtype policy: mixed_float16 on GPUs with tensor cores when mode is auto/on."""
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    use_mixed = mode == "on" or (mode == "auto" and bool(gpus))
    keras.mixed_precision.set_global_policy("mixed_float16" if use_mixed else "float32")
    return "mixed_float16" if use_mixed else "float32"
