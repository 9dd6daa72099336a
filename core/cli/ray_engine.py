"""`python -m core.predict --engine ray`: archive scoring on Ray Data, each row the local engine's row.

    python -m core.predict --engine ray [--ray-address ADDR] IMAGE_OR_DIR... --csv OUT.csv [--by-subject]
    python -m core.predict --engine ray [--ray-address ADDR] IMAGE_OR_DIR... --parquet OUT_DIR

The driver lists the files (`expand_inputs`: the local order). Ray Data reads and prepares them on
CPU workers (`file_results.prepare_file`: decoding, preprocessing, the scope check, a smear field's
cells through `core.cli.field_inputs`), a pool of `CellPreparer` actors that live as long as the run,
and a pool of actors, one model loaded per actor, answers them in batches of CHUNK_SIZE cells
(`file_results.answer_pending`: `answer_cells` in float32, as the local engine does). The results come
back to the driver in file order, where `core.cli.predict.finish` prints and writes them as it does
locally; with --parquet the rows (`FileResult.row`, CSV_COLUMNS) go from the workers straight to
Parquet files, and nothing is gathered on the driver.

A worker that dies loses nothing: its actor restarts and its batches run again (`max_restarts` and
`max_task_retries` of -1). Without --ray-address a local Ray instance is started, and stopped at exit.
On a cluster the model and the images must be readable at the same paths on every node (a shared file
system); the `core` package travels with the job (`py_modules`). Ray itself is imported by
`core.cli.ray_session` when a run starts, and reaches this module as the `ray` argument (`.importlinter`).
"""
from __future__ import annotations

import math
import os
import pickle
import socket
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.cli.file_results import CHUNK_SIZE, CSV_COLUMNS, FileResult, answer_pending, expand_inputs, prepare_file
from core.cli.ray_session import RayEngineError, one_line, ray_session
from core.cli.ray_settings import RunSettings, settings_for
from core.errors import LeukemiaAppError, ModelError

if TYPE_CHECKING:
    from core.imaging.prepare import PreparedCell
    from core.imaging.stain import ReinhardNormaliser

FILES_PER_TASK = 16  # files one preparing call reads and prepares (about 0.2 s of work at 450 px)
# Scheduling shares, not threads: an actor's TensorFlow uses every core of its node, a preparing actor one.
# Half a CPU each lets a node of one CPU hold a model actor and a preparing actor at once.
ACTOR_CPUS, PREPARE_CPUS = 0.5, 0.5
# Preparing runs in actors, not tasks: a node kills an idle task worker while it has more workers than CPUs, and
# the next task starts a new one (Python, Ray, OpenCV and `core` imported again, about 2.6 CPU-seconds). On two
# simulated nodes of one CPU each, where a model actor and a preparing worker already make two, the runs that
# lost that race started 72 to 75 preparing workers for 2,000 cells instead of 2 and took 187 to 262 s instead of
# 57 to 73 s. An actor's worker lives as long as the run.
# Preparing takes about a third of a cell's CPU time (11 of 31 ms, answering the other 20, at 96 px on the 2-vCPU
# development machine; a smaller share at 224 px, where the model costs more), so that share of the cluster's CPUs keeps the
# actors fed. More preparing tasks only run ahead of the actors, each in a worker process of its own, and take the
# cores from the actors' start-up: on that machine, 2,000 cells took 65 s with three preparing tasks at once, 62 s
# with two and 54 to 56 s with one (runs in the same half hour).
PREPARE_SHARE = 0.35
EMPTY = np.zeros((0, 0), np.uint8)


def shipped(cell: PreparedCell | None, statistics: bool = True) -> PreparedCell | None:
    """The cell for its trip to a model actor: its model input, scope check, crop box and (where `statistics`: the
    model's OOD score reads them) its stain and texture statistics, without the full-size grey, CLAHE and mask
    stages, which no answer reads once the statistics are worked out. A 450 px cell's 636 KB pickle becomes 28 KB
    for a 96 px model (its model input and a few hundred bytes; 53 KB with the mask packed a bit per pixel, as it
    travelled before).

    The statistics are worked out here (`with_statistics`), in the preparing actor: the model actor, which
    every cell waits for, then only runs the model (they were about a tenth of its time).
    """
    from core.imaging.prepare import with_statistics

    if cell is None:
        return None
    cell = with_statistics(cell) if statistics else cell
    return replace(cell, stages=replace(cell.stages, grayscale=EMPTY, clahe=EMPTY, mask=EMPTY))


def prepare_rows(row: dict[str, Any], settings: RunSettings) -> list[dict[str, Any]]:
    """One listed file {"order", "path"} -> one row per result, {"order", "part", "result", "cell"}.

    "result" (its FileResult) and "cell" (its `shipped` PreparedCell, or None) are pickled bytes: Arrow holds
    neither type, and these bytes go only from this job's tasks to its actors.
    """
    if settings.folder and os.getcwd() != settings.folder:
        os.chdir(settings.folder)  # Paths are read as given, from the driver's folder; a node's worker starts in its own.
    pending = prepare_file(Path(row["path"]), settings.image_size, settings.normaliser)
    return [{"order": row["order"], "part": part, "result": pickle.dumps(result),
             "cell": pickle.dumps(shipped(cell, settings.statistics))} for part, (result, cell) in enumerate(pending)]


def objects(items: Sequence[Any]) -> np.ndarray:
    """A 1-D object array of `items` (np.array would unpack a tuple or a dataclass' fields)."""
    array = np.empty(len(items), dtype=object)
    array[:] = list(items)
    return array


class CellPreparer:
    """A preparing actor: listed files read and prepared (`prepare_rows`) on one CPU worker for the whole run."""

    def __init__(self, settings: RunSettings) -> None:
        self.settings = settings

    def __call__(self, row: dict[str, Any]) -> list[dict[str, Any]]:
        return prepare_rows(row, self.settings)


class CellScorer:
    """An actor: the model loaded once, then every batch of prepared cells answered on the one path."""

    def __init__(self, settings: RunSettings) -> None:
        from core.data.sides import SplitSides
        from core.model.inference import Classifier
        from core.model.store import load_classifier

        self.settings, self.refusal = settings, None
        try:
            self.classifier = Classifier(load_classifier(settings.model_path))
        except LeukemiaAppError as error:
            # Raised by the first batch instead: Ray Data reports an actor that dies while starting as a bug of its own,
            # with a traceback, where a batch's error reaches the command as this one-line message.
            self.refusal = error
        else:
            if self.classifier.evidence.ood_statistics is not None and not settings.statistics:
                # The cells come without their mask: statistics the preparing actors did not work out cannot be had here.
                self.refusal = ModelError(f"the model's files at {settings.model_path} changed as the run started; "
                                          "run the command again.")
        self.sides = SplitSides.load(settings.model_path)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """{"order", "part", "result", "cell"} columns -> {"order", "part", "result", "worker"}, results answered.

        "worker" is the actor's host:pid, so a run (or a test) can tell which process answered each result.
        """
        if self.refusal is not None:
            raise self.refusal
        pending = [(pickle.loads(result), pickle.loads(cell)) for result, cell in zip(batch["result"], batch["cell"])]
        results = answer_pending(self.classifier, pending, self.settings.with_tta, self.sides, self.settings.error_rate)
        return {"order": batch["order"], "part": batch["part"], "result": objects([pickle.dumps(found) for found in results]),
                "worker": objects([self.worker] * len(results))}


def default_actors(ray: Any) -> int:
    """One model actor per live node with a CPU (TensorFlow uses all of a node's cores), at least one."""
    return max(1, sum(1 for node in ray.nodes() if node.get("Alive") and node.get("Resources", {}).get("CPU", 0) > 0))


def default_prepare_tasks(ray: Any, actors: int) -> int:
    """How many preparing actors: PREPARE_SHARE of the cluster's CPUs, and at least one per model actor."""
    return max(actors, round(ray.cluster_resources().get("CPU", 0) * PREPARE_SHARE))


def scored_dataset(ray: Any, paths: Sequence[Path], settings: RunSettings, actors: int | None = None,
                   batch_size: int = CHUNK_SIZE) -> Any:
    """The lazy Ray Dataset of the answered results: listed files -> the preparing actors -> the model actors."""
    listed = ray.data.from_items([{"order": order, "path": str(path)} for order, path in enumerate(paths)],
                                 override_num_blocks=max(1, math.ceil(len(paths) / FILES_PER_TASK)))
    actors = actors or default_actors(ray)
    preparers = ray.data.ActorPoolStrategy(size=default_prepare_tasks(ray, actors))
    with warnings.catch_warnings():
        # Ray 2.60 calls these "ray_remote_args", deprecated for 2.64, and sets both to -1 itself; they are
        # given here all the same, so that a change of Ray's defaults cannot drop a dead worker's files or batches.
        warnings.filterwarnings("ignore", message=".*ray_remote_args.*deprecated", category=DeprecationWarning)
        prepared = listed.flat_map(CellPreparer, fn_constructor_kwargs={"settings": settings}, compute=preparers,
                                   num_cpus=PREPARE_CPUS, max_restarts=-1, max_task_retries=-1)
        return prepared.map_batches(CellScorer, fn_constructor_kwargs={"settings": settings}, batch_size=batch_size,
                                    batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors),
                                    num_cpus=ACTOR_CPUS, max_restarts=-1, max_task_retries=-1)


def streamed(dataset: Any) -> Iterator[tuple[int, int, FileResult, str]]:
    """(order, part, result, worker) for each result as the workers finish it, in no set order."""
    try:
        for batch in dataset.iter_batches(batch_size=None, batch_format="numpy"):
            results = [pickle.loads(result) for result in batch["result"]]
            yield from zip(batch["order"].tolist(), batch["part"].tolist(), results, batch["worker"])
    except Exception as error:  # Ray wraps what stopped the run in many types; the person gets one line.
        raise RayEngineError(f"the Ray run stopped: {one_line(error)}") from None


def score(args: Any, image_size: int, normaliser: ReinhardNormaliser | None = None) -> list[FileResult]:
    """Every input file's results, in the local engine's order; no Ray is started when no file is found."""
    paths = list(expand_inputs(args.inputs))
    if not paths:
        return []
    with ray_session(args.ray_address) as ray:
        dataset = scored_dataset(ray, paths, settings_for(args, image_size, normaliser), args.actors)
        found = sorted(streamed(dataset), key=lambda item: item[:2])
    return [result for _, _, result, _ in found]


def csv_columns(batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Answered results -> the CSV's columns (`FileResult.row`, CSV_COLUMNS order), text in every cell."""
    rows = [pickle.loads(result).row() for result in batch["result"]]
    return {column: objects([row[index] for row in rows]) for index, column in enumerate(CSV_COLUMNS)}


def score_to_parquet(args: Any, image_size: int, normaliser: ReinhardNormaliser | None = None) -> tuple[int, int]:
    """Every result's row written to Parquet files in `args.parquet`: (rows written, rows that are errors)."""
    paths = list(expand_inputs(args.inputs))
    if not paths:
        return 0, 0
    with ray_session(args.ray_address) as ray:
        dataset = scored_dataset(ray, paths, settings_for(args, image_size, normaliser), args.actors)
        try:
            folder = str(Path(args.parquet).resolve())
            dataset.map_batches(csv_columns, batch_format="numpy", num_cpus=PREPARE_CPUS).write_parquet(folder)
            errors = ray.data.read_parquet(folder, columns=["error"]).to_pandas()["error"]
        except Exception as error:
            raise RayEngineError(f"the Ray run stopped: {one_line(error)}") from None
    return len(errors), int((errors != "").sum())
