"""Does Keras 3 train under MultiWorkerMirroredStrategy yet? Two workers on this machine say.

    python benchmarks/multi_worker.py            # prints one line per worker and exits 0 if both finished

`core.training.devices.choose_strategy` refuses a `TF_CONFIG` because of keras-team/keras#20585.
This script re-checks the upstream bug with the smallest Keras model, outside the project's
code: two processes on 127.0.0.1 (free ports), each with its own `TF_CONFIG`, fit one epoch and
save (the chief to OUTPUT, the other worker to a temporary folder, as Keras requires). When it
passes on a new Keras, the refusal can be lifted and `train.py` re-tested the same way.
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

TIMEOUT_SECONDS = 180


def worker(output: Path) -> None:
    """One worker: fit a (4,) -> (1,) Dense model on 16 rows under MultiWorkerMirroredStrategy, then save."""
    import keras
    import tensorflow as tf

    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    rows = tf.data.Dataset.from_tensor_slices((tf.random.normal((16, 4), seed=0), tf.zeros((16,)))).batch(8)
    with strategy.scope():
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    model.fit(rows, epochs=1, verbose=0)
    is_chief = json.loads(os.environ["TF_CONFIG"])["task"]["index"] == 0
    model.save(output if is_chief else Path(tempfile.mkdtemp()) / output.name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(output: Path, logs: Path) -> list[subprocess.Popen]:
    """Start both workers, each with its own TF_CONFIG; their output goes to logs/worker<i>.log."""
    cluster = {"worker": [f"127.0.0.1:{free_port()}" for _ in range(2)]}
    workers = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        environment = dict(os.environ, TF_CONFIG=tf_config, CUDA_VISIBLE_DEVICES="", TF_CPP_MIN_LOG_LEVEL="2")
        with open(logs / f"worker{index}.log", "w") as log:
            workers.append(subprocess.Popen([sys.executable, __file__, "--worker", str(output)], env=environment,
                                            stdout=log, stderr=subprocess.STDOUT))
    return workers


def first_error(log: Path) -> str:
    """A worker's first exception, with a PerReplica dump ("{ ... }") cut out; its last line if none."""
    lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()] or ["(no output)"]
    starts = [number for number, line in enumerate(lines) if line.split(":")[0].endswith(("Error", "Exception"))]
    if not starts:
        return lines[-1][:300]
    message = lines[starts[0]]
    if message.endswith("{"):
        closing = next((line for line in lines[starts[0]:] if line.startswith("}")), "}")
        message = f"{message} ... {closing}"
    return message[:300]


def installed(*distributions: str) -> str:
    """The version of the first of `distributions` that is installed (tensorflow or tensorflow-cpu)."""
    for distribution in distributions:
        try:
            return version(distribution)
        except PackageNotFoundError:
            continue
    return "not installed"


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        output, started = folder / "model.keras", time.perf_counter()
        workers = launch(output, folder)
        try:
            for process in workers:
                process.wait(timeout=max(1.0, TIMEOUT_SECONDS - (time.perf_counter() - started)))
        except subprocess.TimeoutExpired:
            print(f"Timed out after {TIMEOUT_SECONDS} s.")
        finally:
            for process in workers:
                if process.poll() is None:
                    process.kill()
                    process.wait()
        seconds = time.perf_counter() - started
        for index, process in enumerate(workers):
            outcome = "finished" if process.returncode == 0 else f"failed (exit {process.returncode}): {first_error(folder / f'worker{index}.log')}"
            print(f"worker {index}: {outcome}")
        passed = all(process.returncode == 0 for process in workers) and output.is_file()
        versions = f"Keras {installed('keras')}, TensorFlow {installed('tensorflow', 'tensorflow-cpu')}"
        print(f"MultiWorkerMirroredStrategy {'works' if passed else 'does not work'} with {versions} ({seconds:.0f} s).")
        return 0 if passed else 1


if __name__ == "__main__":
    if sys.argv[1:2] == ["--worker"]:
        worker(Path(sys.argv[2]))
    else:
        raise SystemExit(main())
