"""Models and stand-in services for the inference-service tests (`core.model.remote`, `core.serve`).

`evidenced_copy` gives the tiny model a calibration, an index of known cells and a threshold placed
among the cells' own values, so that answering has every boundary to settle near; `FakeService`
answers `/info` for a model and a chosen status for everything else, without Ray.
"""
from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from core import config
from core.data import labels
from core.imaging.decode import load_image
from core.imaging.prepare import PreparedCell, prepare_cell
from core.model import wire

SCORES = 100  # conformal scores per class


def prepared_cells(data_root: Path, image_size: int, count: int = 12) -> list[PreparedCell]:
    """The first `count` synthetic cells of `data_root`, prepared for a model of `image_size` px."""
    return [prepare_cell(load_image(path).image_rgb, image_size) for path in sorted(data_root.rglob("*.bmp"))[:count]]


def evidenced_copy(tiny_model_path: Path, folder: Path, cells: list[PreparedCell]) -> Path:
    """A copy of the tiny model whose sidecar adds a threshold, a calibration and an index (older k-NN OOD score).

    The threshold is the median of the cells' P(all) run alone, the conformal scores spread over their
    values and the OOD threshold is the median of their k-NN distances: boundaries among the cells.
    """
    from core.model.embedding import EmbeddingIndex
    from core.model.inference import Classifier
    from core.model.store import load_classifier

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / tiny_model_path.name
    shutil.copyfile(tiny_model_path, path)
    classifier = Classifier(load_classifier(tiny_model_path))
    inputs = np.stack([cell.stages.model_input for cell in cells])
    features, probabilities = classifier.features_and_probabilities(inputs, batch_size=1)
    count = len(cells)
    index = EmbeddingIndex.build(features, [f"cell{row}.bmp" for row in range(count)], [labels.ALL, labels.HEM] * (count // 2),
                                 [f"S{row % 3}" for row in range(count)], ["train"] * count)
    index_path = config.beside_model(path, config.INDEX_SUFFIX)
    index.save(index_path)
    distances = [index.ood_score(row) for row in features]
    spread = np.linspace(float(probabilities.min()), float(probabilities.max()), SCORES)
    metadata = {**json.loads(config.sidecar_path(tiny_model_path).read_text()),
                "threshold": float(np.median(probabilities)),
                "calibration": {"temperature": 1.0}, "conformal": {"scores": {labels.ALL: list(1.0 - spread), labels.HEM: list(spread)}},
                "embedding_index": {"file": index_path.name, "ood_threshold": float(np.median(distances))}}
    config.sidecar_path(path).write_text(json.dumps(metadata))
    return path


class FakeService:
    """An HTTP server on 127.0.0.1 that answers `/info` with `identity` and every POST with `status` and `text`.

    >>> with FakeService(identity, status=503, text="busy") as url: ...  # doctest: +SKIP
    """

    def __init__(self, identity: wire.Identity, status: int = 503, text: str = "The replica is restarting.") -> None:
        self.identity, self.status, self.text = identity, status, text
        self.server: ThreadingHTTPServer | None = None

    def __enter__(self) -> str:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.reply(200, json.dumps(owner.identity.to_json()).encode())

            def do_POST(self) -> None:  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.reply(owner.status, owner.text.encode())

            def reply(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def identity_of(model_path: Path, precision: str = "float32") -> wire.Identity:
    """The Identity a service running `model_path` reports (its digests, its completed metadata)."""
    from core.model.store import load_classifier

    loaded = load_classifier(model_path)
    return wire.Identity(loaded.sha256, loaded.sidecar_sha256, loaded.metadata, list(loaded.warnings), precision, 32)
