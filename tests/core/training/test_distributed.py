"""Training on several devices: MirroredStrategy works on one machine; a multi-worker TF_CONFIG is refused.

The mirrored run happens in a child process over two logical CPU devices, because logical
devices must be configured before TensorFlow initialises (this process has already done so).
Multi-worker training is refused because Keras 3 cannot fit under MultiWorkerMirroredStrategy
(keras-team/keras#20585); `benchmarks/multi_worker.py` re-checks that with two real workers.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import train
from core.model.store import load_classifier
from core.errors import DeviceSetupError
from core.training.devices import check_batch_for_replicas, choose_strategy
from paths import PROJECT_ROOT

MIRRORED_TIMEOUT_SECONDS = 300
TWO_WORKERS = {"cluster": {"worker": ["127.0.0.1:1", "127.0.0.1:2"]}, "task": {"type": "worker", "index": 0}}

# The child: two logical CPUs, then the project's dry run with MirroredStrategy over both
# forced in place of `choose_strategy` (which picks it only for several physical GPUs).
MIRRORED_DRY_RUN = """
import sys
from pathlib import Path
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from core.training import run
from core.training.options import TrainOptions

run.choose_strategy = lambda: tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
options = TrainOptions(data_dir=Path(sys.argv[1]), output=Path(sys.argv[2]), weights="none", image_size=32,
                       epochs=1, fine_tune_epochs=0, batch_size=4, dry_run=True, skip_audit=True)  # The audit: tests/test_train.py.
run.train(options, log=lambda line: None)
"""


def test_multi_worker_tf_config_is_refused_with_the_reason(monkeypatch):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    with pytest.raises(DeviceSetupError, match="keras-team/keras#20585"):
        choose_strategy()


def test_train_py_with_tf_config_exits_before_training(monkeypatch, synthetic_data_root, tmp_path, capsys):
    monkeypatch.setenv("TF_CONFIG", json.dumps(TWO_WORKERS))
    output = tmp_path / "model.keras"
    argv = ["--data-dir", str(synthetic_data_root), "--output", str(output), "--weights", "none", "--image-size", "32", "--dry-run"]
    assert train.main(argv) == 2
    assert "MultiWorkerMirroredStrategy" in capsys.readouterr().err
    assert not output.exists()


@pytest.mark.parametrize(("batch_size", "images", "replicas", "refused"), [
    (8, {"training": 5, "validation": 5}, 1, False),       # One device: any batch.
    (32, {"training": 4000, "validation": 900}, 2, False),  # The usual case: first batches of 32 split 16 + 16.
    (8, {"training": 40, "validation": 6}, 2, False),       # 6 validation images split 3 + 3.
    (8, {"training": 40, "validation": 5}, 2, True),        # 5 split 3 + 2: Keras' element-wise mean fails.
    (8, {"training": 7, "validation": 40}, 2, True),        # The same for the first training batch.
    (32, {"training": 4000, "validation": 900}, 3, True),   # 32 splits 11 + 11 + 10.
])
def test_first_batches_must_split_evenly_over_replicas(batch_size, images, replicas, refused):
    if refused:
        with pytest.raises(DeviceSetupError, match=f"multiple of {replicas}"):
            check_batch_for_replicas(batch_size, images, replicas)
    else:
        check_batch_for_replicas(batch_size, images, replicas)


@pytest.mark.training
def test_mirrored_dry_run_over_two_cpus_writes_a_model_that_loads(synthetic_data_root, tmp_path):
    output = tmp_path / "model.keras"
    environment = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
    # subprocess.run kills the child when the timeout expires, so a stuck collective cannot hang the suite.
    finished = subprocess.run([sys.executable, "-c", MIRRORED_DRY_RUN, str(synthetic_data_root), str(output)],
                              cwd=PROJECT_ROOT, env=environment, capture_output=True, text=True, timeout=MIRRORED_TIMEOUT_SECONDS)
    assert finished.returncode == 0, finished.stderr[-3000:]
    loaded = load_classifier(output)
    assert loaded.metadata["training"]["replicas"] == 2
    assert loaded.sha256_matches
    probabilities = loaded.model.predict(np.zeros((2, 32, 32, 3), np.float32), verbose=0)
    assert probabilities.shape[0] == 2 and np.all((probabilities >= 0) & (probabilities <= 1))
