"""Cheaper forward passes for large batches: BatchNorm folded away, the convolutions in bfloat16 where the CPU computes it natively.

Two places run many images through ResNet50 at once and wait for all of them: the patient view
(hundreds of cells of one person) and the faithfulness curves (31 masked copies of one cell per
heatmap). On a CPU with AVX512-BF16 or AMX they run a twin of the model: its BatchNorm layers folded
into the convolutions before them (`core.model.folding`) and Keras' `mixed_bfloat16` policy. On the
idle 2-core AMD EPYC this project is developed on, that took 19.5 ms per image at 224 px in passes
of 32, against 29.3 ms in bfloat16 unfolded and 44.4 ms for the model as saved (float32). Variables
stay float32; the head's logit and sigmoid are float32 layers. The answer for one image on
Classify, the model card's evaluation and training never use it.

bfloat16 keeps 8 bits of mantissa, so P(ALL) and the features move a little: a cell whose bfloat16
log-odds lie within the measured drift's margin (`core.model.answering.logit_margin`) of any decision
boundary (the threshold, either conformal threshold), or whose OOD score lies within its margin of
the OOD threshold, is run again in float32 (`core.model.answering.settle`), so a cell's answer is
the answer of the cell run alone in float32.
`LEUKEMIA_BATCH_PRECISION=float32` turns this off; without native support it is off already
(emulated bfloat16 is slower than float32).
"""
from __future__ import annotations

import copy
import logging
import threading
import weakref
from pathlib import Path

import keras
import tensorflow as tf

from core import config
from core.model.folding import fold_batch_norms
from core.model.network import LOGIT_LAYER, PROBABILITY_LAYER

BFLOAT16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")  # /proc/cpuinfo flags of native bfloat16 arithmetic
MIXED_POLICY = "mixed_bfloat16"
FLOAT32_LAYERS = (LOGIT_LAYER, PROBABILITY_LAYER)  # the head's output stays float32

LOGGER = logging.getLogger(__name__)
_twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_folded: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # model -> its float32 folded copy
_twins_lock = threading.Lock()


def cpu_has_native_bfloat16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """Whether the CPU lists a native bfloat16 instruction set (Linux; False where it cannot tell)."""
    try:
        flags = set(cpuinfo.read_text(errors="replace").split())
    except OSError:
        return False
    return any(flag in flags for flag in BFLOAT16_CPU_FLAGS)


def batch_precision() -> str:
    """"bfloat16" or "float32": what large batches run in on this machine, per `config.batch_precision_setting`.

    "auto" picks bfloat16 only on a CPU-only machine with native bfloat16 (a GPU is fast in float32).
    """
    setting = config.batch_precision_setting()
    if setting != "auto":
        return setting
    if tf.config.list_physical_devices("GPU"):
        return "float32"
    return "bfloat16" if cpu_has_native_bfloat16() else "float32"


def bfloat16_twin(model: keras.Model) -> keras.Model:
    """A copy of a flat float32 `model` computing in mixed bfloat16, its BatchNorms folded (`core.model.folding`).

    Every layer whose policy is float32 becomes `mixed_bfloat16` except the input and
    FLOAT32_LAYERS; the weights are `model`'s (float32; the folded convolutions' scaled).
    Inputs: (N, S, S, 3) float32 as for `model`; outputs cast to float32 by the caller.

    Raises:
        ValueError: the model cannot be rebuilt from its config (it was not built by `build_classifier`).
    """
    model_config = copy.deepcopy(model.get_config())
    for layer in model_config.get("layers", []):
        policy = layer.get("config", {}).get("dtype")
        if layer.get("class_name") == "InputLayer" or layer.get("name") in FLOAT32_LAYERS:
            continue
        if isinstance(policy, dict) and policy.get("config", {}).get("name") == "float32":
            layer["config"]["dtype"] = {**policy, "config": {**policy["config"], "name": MIXED_POLICY}}
        elif policy == "float32":
            layer["config"]["dtype"] = MIXED_POLICY
    try:
        return fold_batch_norms(model, model_config)
    except Exception as error:  # Keras raises several kinds here for an unusual model.
        raise ValueError(f"This model cannot run in bfloat16 ({type(error).__name__}); it runs in float32.") from error


def twin_for(model: keras.Model) -> keras.Model:
    """The one `bfloat16_twin` of `model` in this process, built on first use (the Classifier and Explainer share it)."""
    with _twins_lock:
        twin = _twins.get(model)
        if twin is None:
            twin = _twins[model] = bfloat16_twin(model)
        return twin


def folded_for(model: keras.Model) -> keras.Model | None:
    """The one float32 copy of `model` with its BatchNorms folded, in this process; None where it cannot be rebuilt.

    `core.model.answering.settle` runs bfloat16 cells near a boundary through it (BATCHED values): on the
    2-core Intel Xeon this project is developed on, 26.9 against 35.6 ms per 224 px image in passes of 32,
    and within 2.9e-5 in log-odds (3.5e-6 in k-NN distance) of the cell run alone as saved (benchmarks/drift.py,
    360 cells of the three-role demo model), inside the float32 margins of `core.model.answering`.
    """
    with _twins_lock:
        if model not in _folded:
            try:
                _folded[model] = fold_batch_norms(model, copy.deepcopy(model.get_config()))
            except Exception as error:  # Keras raises several kinds here for an unusual model.
                LOGGER.warning("This model cannot be folded (%s); its reruns use it as saved.", type(error).__name__)
                _folded[model] = None
        return _folded[model]


def twin_or_none(model: keras.Model) -> keras.Model | None:
    """`twin_for(model)`, or None (the reason logged) where the model cannot be rebuilt in bfloat16: run float32 then."""
    try:
        return twin_for(model)
    except ValueError as error:
        LOGGER.warning("%s", error)
        return None
