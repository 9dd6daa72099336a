"""python -m core.predict --engine ray: each Ray row is the local row, on a local instance and on two nodes.

The first test starts (and the engine stops) a local instance, writing Parquet. Then one simulated cluster
(`ray.cluster_utils.Cluster`: a head and one worker node, one CPU each) serves the other runs of this
module; each connects to it and disconnects when it ends, and the cluster is shut down after the last.
The flags' mistakes, a missing Ray and an unreachable cluster are checked without starting anything.
"""
from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

import requirements
from core.cli import predict, ray_settings
from core.cli.file_results import CSV_COLUMNS
from core.data.synthetic import generate_dataset
from core.data.synthetic_fields import FieldLayout, draw_field
from core.errors import ModelError
from paths import PROJECT_ROOT, REAL_CELLS

REAL_CELL_NAMES = ("UID_11_10_1_all.png", "UID_11_25_2_all.png", "UID_H10_1_1_hem.png")
NUMBER_COLUMNS = {"probability_all", "ood_score", "score", "interval_low", "interval_high"}
TOLERANCE = 1e-4  # P(all) of a float32 batch moves by about 1e-6 with the batch it runs in.


@pytest.fixture(scope="module", autouse=True)
def ray_logs_outside_capsys():
    """Ray Data binds its log handler to sys.stderr when first imported: import it before any test's capsys
    replaces (and later closes) that stream, or a later run's log lines fail with a logging traceback."""
    try:
        import ray.data  # noqa: F401
    except ImportError:
        pass  # The Ray tests say so themselves (requirements.require_ray).


@pytest.fixture(scope="module")
def cluster():
    """A head node and one worker node, one CPU each, for the whole module; shut down after its last test."""
    requirements.require_ray()
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> list[Path]:
    """Synthetic cells of 4 subjects, a smear field (two whole cells), a corrupt file and three shared real cells."""
    for name in REAL_CELL_NAMES:
        requirements.require_shared_file(REAL_CELLS / name)
    folder = tmp_path_factory.mktemp("ray_inputs")
    cells = sorted((generate_dataset(folder / "data", subjects=4, images_per_subject=3) / "training_data").rglob("*.bmp"))
    field = draw_field(FieldLayout(white_cells=((160, 150, 1.6, 3), (450, 300, 1.4, 1))), np.random.default_rng(0))
    cv2.imwrite(str(folder / "field.png"), cv2.cvtColor(field.image_rgb, cv2.COLOR_RGB2BGR))
    (folder / "corrupt.bmp").write_bytes(b"BM" + b"\x00" * 40)
    real = [shutil.copy(REAL_CELLS / name, folder / name) for name in REAL_CELL_NAMES]
    return [*cells, folder / "field.png", folder / "corrupt.bmp", *map(Path, real)]


def rows_of(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open()))


def assert_same_rows(ray_rows: list[dict[str, str]], local_rows: list[dict[str, str]]) -> None:
    """Every column equal, in order; numbers within TOLERANCE."""
    assert [row.get("file") for row in ray_rows] == [row.get("file") for row in local_rows]
    for ray_row, local_row in zip(ray_rows, local_rows):
        for column, value in local_row.items():
            if column in NUMBER_COLUMNS and value:
                assert abs(float(ray_row[column]) - float(value)) <= TOLERANCE, (column, ray_row, local_row)
            else:
                assert ray_row[column] == value, (column, ray_row, local_row)


def refused_address() -> str:
    """host:port on this machine where nothing listens: a port bound, then released."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


@pytest.mark.ray
@pytest.mark.slow
def test_a_local_instance_writes_the_local_rows_as_parquet_and_is_stopped(tiny_model_path, inputs, tmp_path, capsys):
    requirements.require_ray()  # First in the module: it runs before the cluster starts, alone on the machine's cores.
    import pyarrow.parquet
    import ray

    local_csv, parquet = tmp_path / "local.csv", tmp_path / "rows"
    common = ["--model", str(tiny_model_path), *map(str, inputs)]
    assert predict.main([*common, "--csv", str(local_csv)]) == 1
    assert predict.main([*common, "--engine", "ray", "--parquet", str(parquet)]) == 1
    assert not ray.is_initialized()  # The instance it started for the run has been stopped.
    table = pyarrow.parquet.read_table(parquet).to_pylist()
    assert list(table[0]) == CSV_COLUMNS
    order = {row["file"]: index for index, row in enumerate(rows_of(local_csv))}
    assert_same_rows(sorted(table, key=lambda row: order[row["file"]]), rows_of(local_csv))
    error = capsys.readouterr().err
    assert f"wrote {len(inputs) + 1} rows (1 of them errors) to {parquet}" in error and "Traceback" not in error


@pytest.mark.ray
@pytest.mark.slow
def test_ray_rows_and_subjects_are_the_local_ones_on_two_nodes(cluster, tiny_model_path, inputs, tmp_path, capsys):
    requirements.require_ray()
    local_csv, ray_csv = tmp_path / "local.csv", tmp_path / "ray.csv"
    common = ["--model", str(tiny_model_path), "--by-subject", *map(str, inputs)]
    assert predict.main([*common, "--csv", str(local_csv)]) == 1
    local_lines = capsys.readouterr().out.splitlines()
    assert predict.main([*common, "--engine", "ray", "--ray-address", cluster.address, "--csv", str(ray_csv)]) == 1
    ray_out, ray_err = capsys.readouterr()  # One actor per node: two models, both nodes answering.
    assert [line.split("\t")[:2] for line in ray_out.splitlines()] == [line.split("\t")[:2] for line in local_lines]
    local_rows, ray_rows = rows_of(local_csv), rows_of(ray_csv)
    assert_same_rows(ray_rows, local_rows)  # Every cell row, then every subject row.
    cells = [row for row in ray_rows if row["level"] == "cell"]
    assert len(cells) == len(inputs) + 1  # The field is two cells, FIELD#1 and FIELD#2.
    assert [row["file"] for row in cells if row["field"]] == [f"{inputs[-5]}#1", f"{inputs[-5]}#2"]
    corrupt = next(row for row in cells if row["file"].endswith("corrupt.bmp"))
    assert corrupt["error"].startswith("'corrupt.bmp' could not be read") and not corrupt["answer"]
    assert all(row["answer"] in {"all", "hem", "refer"} for row in cells if not row["error"])
    assert sum(row["level"] == "subject" for row in ray_rows) >= 5  # 4 synthetic subjects, the field's folder, real ones.
    assert "Traceback" not in ray_err


@pytest.mark.ray
@pytest.mark.slow
def test_an_actor_killed_mid_run_loses_no_file(cluster, tiny_model_path, inputs, monkeypatch):
    requirements.require_ray()
    from core.cli import ray_engine, ray_session

    # 39 files, each a block of its own and answered one per batch: the actor is still at work when it is killed.
    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 1)
    paths = [path for path in inputs if path.suffix == ".bmp"] * 3
    settings = ray_settings.RunSettings(str(tiny_model_path), 64)
    with ray_session.ray_session(cluster.address) as ray:
        stream = ray_engine.streamed(ray_engine.scored_dataset(ray, paths, settings, actors=1, batch_size=1))
        first = next(stream)
        killed = first[3]
        os.kill(int(killed.rpartition(":")[2]), signal.SIGKILL)  # The actor's worker process dies at once.
        found = [first, *stream]
    assert_each_file_answered_once(found, paths)
    assert {worker for *_, worker in found} - {killed}, "no result came from the restarted actor"


def assert_each_file_answered_once(found: list, paths: list[Path]) -> None:
    """`streamed`'s (order, part, result, worker) items: one result per path, its own, an answer or an error."""
    assert sorted((order, part) for order, part, _, _ in found) == [(order, 0) for order in range(len(paths))]
    for order, _, result, _ in found:
        assert result.path == str(paths[order])
        assert (result.error is None) == (result.assessment is not None)


def preparer_pids() -> list[int]:
    """The processes of this machine whose title names a preparing actor (`ray::MapWorker(FlatMap(CellPreparer))`)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"CellPreparer" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue  # It ended while the folder was read.
    return found


@pytest.mark.ray
@pytest.mark.slow
def test_a_preparing_actor_killed_mid_run_loses_no_file(cluster, tiny_model_path, inputs, monkeypatch):
    requirements.require_ray()
    from core.cli import ray_engine, ray_session

    # 117 files, each a block of its own, read by one preparing actor: it is killed as soon as it is seen, and
    # its restarted actor (or the calls retried on it) must still give every file exactly one result.
    monkeypatch.setattr(ray_engine, "FILES_PER_TASK", 1)
    paths = [path for path in inputs if path.suffix == ".bmp"] * 9
    settings = ray_settings.RunSettings(str(tiny_model_path), 64)
    with ray_session.ray_session(cluster.address) as ray:
        stream = ray_engine.streamed(ray_engine.scored_dataset(ray, paths, settings, actors=1))
        killer = threading.Thread(target=kill_first_preparer, daemon=True)
        killer.start()
        found = list(stream)
        killer.join()
    assert killer.killed, "no preparing actor was seen to kill"
    assert_each_file_answered_once(found, paths)


def kill_first_preparer() -> None:
    """SIGKILL the first preparing actor seen within 60 s; `threading.current_thread().killed` says whether one was."""
    thread, deadline = threading.current_thread(), time.monotonic() + 60
    thread.killed = False
    while time.monotonic() < deadline and not thread.killed:
        for pid in preparer_pids():
            os.kill(pid, signal.SIGKILL)
            thread.killed = True
        time.sleep(0.05)


@pytest.mark.ray
@pytest.mark.slow
def test_a_refused_model_is_the_local_refusal_in_one_line(cluster, tiny_model_path, inputs, tmp_path, capsys):
    requirements.require_ray()
    model = tmp_path / "changed.keras"
    shutil.copy(tiny_model_path, model)
    shutil.copy(tiny_model_path.with_suffix(".json"), model.with_suffix(".json"))
    with model.open("ab") as handle:
        handle.write(b"changed after training")  # Its SHA-256 no longer matches its sidecar's.
    common = ["--model", str(model), str(inputs[0])]
    assert predict.main(common) == 2
    local_error = capsys.readouterr().err.strip().removeprefix("error: ")
    assert predict.main([*common, "--engine", "ray", "--ray-address", cluster.address, "--actors", "1"]) == 2
    error = capsys.readouterr().err
    assert f"error: the Ray run stopped: {local_error}\n" in error and "Traceback" not in error


@pytest.mark.parametrize(("cpus", "actors", "tasks"), [(2, 1, 1), (2, 2, 2), (16, 1, 6), (64, 4, 22), (0, 1, 1)])
def test_preparing_tasks_are_a_share_of_the_cpus_and_one_per_actor_at_least(cpus, actors, tasks):
    from core.cli import ray_engine

    class Cluster:
        def cluster_resources(self):
            return {"CPU": float(cpus)} if cpus else {}

    assert ray_engine.default_prepare_tasks(Cluster(), actors) == tasks


def test_a_shipped_cell_keeps_all_that_its_answer_reads(inputs):
    import pickle

    from core.cli import ray_engine
    from core.cli.file_results import prepare_file
    from core.imaging.statistics import statistics_of

    ((_, cell),) = prepare_file(inputs[-1], 224)  # A real 450 px cell, as a 224 px model takes it.
    arrived = pickle.loads(pickle.dumps(ray_engine.shipped(cell)))
    assert np.array_equal(arrived.statistics, statistics_of(cell.stages))  # The OOD score's statistics, worked out
    assert np.array_equal(arrived.stages.model_input, cell.stages.model_input)  # in the preparing actor.
    assert (arrived.scope_reasons, arrived.stages.crop_box, arrived.stages.fallback, arrived.stages.mask_fraction) == (
        cell.scope_reasons, cell.stages.crop_box, cell.stages.fallback, cell.stages.mask_fraction)
    assert arrived.stages.mask.size == arrived.stages.grayscale.size == arrived.stages.clahe.size == 0
    assert len(pickle.dumps(arrived)) < cell.stages.model_input.nbytes + 4096  # The model input and a few small values.
    assert ray_engine.shipped(None) is None
    assert ray_engine.shipped(cell, statistics=False).statistics is None  # A model whose OOD score reads none.


def statistics_model(tiny_model_path: Path, folder: Path, cells: list) -> Path:
    """`evidenced_copy` whose index also records the cells' stain and texture Gaussian, the OOD score of the models
    trained now, with its threshold at the median of the cells' own scores (some cells flagged, some not)."""
    import json

    from core import config
    from core.data import labels
    from core.imaging.statistics import statistics_of
    from core.model.ood import ENTRY_KEY, StatisticsGaussian
    from served_models import evidenced_copy

    path = evidenced_copy(tiny_model_path, folder, cells)
    rows = np.stack([statistics_of(cell.stages) for cell in cells])
    gaussian = StatisticsGaussian.fit(rows, [labels.ALL, labels.HEM] * (len(cells) // 2))
    metadata = json.loads(config.sidecar_path(path).read_text())
    metadata["embedding_index"].update({ENTRY_KEY: gaussian.to_entry(), "ood_threshold": float(np.median(gaussian.scores(rows)))})
    config.sidecar_path(path).write_text(json.dumps(metadata))
    return path


def test_a_model_actor_answers_the_shipped_cells_as_the_local_engine_does(tiny_model_path, inputs, tmp_path):
    """In this process, without Ray: each file through `prepare_rows` and a `CellScorer`, against the local engine."""
    import pickle

    from core.cli import ray_engine
    from core.cli.file_results import classify_files
    from core.data.sides import SplitSides
    from core.model.inference import Classifier
    from core.model.store import load_classifier
    from served_models import prepared_cells

    model = statistics_model(tiny_model_path, tmp_path / "model", prepared_cells(inputs[0].parents[2], 64))
    settings = ray_settings.RunSettings(str(model), 64, statistics=ray_settings.reads_statistics(str(model)))
    assert settings.statistics
    rows = [row for order, path in enumerate(inputs) for row in ray_engine.prepare_rows({"order": order, "path": str(path)}, settings)]
    batch = {column: ray_engine.objects([row[column] for row in rows]) for column in ("order", "part", "result", "cell")}
    answered = [pickle.loads(result).row() for result in ray_engine.CellScorer(settings)(batch)["result"]]
    local = [result.row() for result in classify_files(Classifier(load_classifier(model)), inputs, sides=SplitSides.load(model))]
    assert_same_rows([dict(zip(CSV_COLUMNS, row)) for row in answered], [dict(zip(CSV_COLUMNS, row)) for row in local])
    assert {row[CSV_COLUMNS.index("out_of_distribution")] for row in local} >= {"yes", "no"}  # Both sides of the threshold.

    with pytest.raises(ModelError, match="changed as the run started"):  # Cells shipped without the statistics it reads.
        ray_engine.CellScorer(replace(settings, statistics=False))(batch)


@pytest.mark.parametrize(("sidecar", "reads"), [
    (None, False),  # No sidecar: no index, no OOD score.
    ({"image_size": 64}, False),
    ({"image_size": 64, "embedding_index": {"file": "m.index.npz", "ood_threshold": 1.0}}, False),  # The older k-NN score.
    ({"image_size": 64, "embedding_index": {"file": "m.index.npz", "ood_threshold": 1.0, "ood_statistics": {}}}, True),
    ("not JSON", True),  # Refused: the statistics are worked out, and the actors' load says why it is refused.
])
def test_the_statistics_are_worked_out_only_for_a_model_that_reads_them(sidecar, reads, tmp_path):
    import json

    from core import config

    model = tmp_path / "m.keras"
    if sidecar is not None:
        config.sidecar_path(model).write_text(sidecar if isinstance(sidecar, str) else json.dumps(sidecar))
    assert ray_settings.reads_statistics(str(model)) is reads


@pytest.mark.parametrize(("flags", "said"), [
    (["--ray-address", "127.0.0.1:6379"], "--ray-address needs --engine ray"),
    (["--parquet", "out"], "--parquet needs --engine ray"),
    (["--engine", "ray", "--parquet", "out", "--by-subject"], "--parquet writes the cell rows only"),
    (["--engine", "ray", "--actors", "0"], "--actors: must be a whole number of at least 1"),
    (["--engine", "spark"], "argument --engine: invalid choice: 'spark'"),
])
def test_a_wrong_flag_is_one_line_and_exit_2(flags, said, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as stopped:
        predict.main(["cell.png", *flags])
    error = capsys.readouterr().err
    assert stopped.value.code == 2 and said in error and "Traceback" not in error


def test_without_ray_installed_it_says_how_to_install_it(tiny_model_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now fails as if Ray were not installed.
    monkeypatch.setitem(sys.modules, "ray.data", None)
    assert predict.main(["--model", str(tiny_model_path), "--engine", "ray", "cell.png"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "install it with python3 -m pip install -r requirements-ray.txt" in error


@pytest.mark.ray
def test_an_unreachable_cluster_is_one_line_and_exit_2(tiny_model_path, tmp_path, capsys):
    requirements.require_ray()
    address = refused_address()
    assert predict.main(["--model", str(tiny_model_path), "--engine", "ray", "--ray-address", address, "cell.png"]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"error: cannot reach the Ray cluster at {address}") and error.count("\n") == 1


def test_the_local_engine_never_imports_ray(tmp_path):
    script = ("import sys; from core.cli import predict, ray_engine, ray_session; predict.parse_args(['cell.png']); "
              "sys.exit(3 if 'ray' in sys.modules else 0)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr  # 3: importing the command line, or its Ray engine, imported Ray.
