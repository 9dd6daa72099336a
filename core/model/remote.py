"""A classifier whose model runs in the inference service (`python -m core.serve`): the values come over HTTP.

`RemoteClassifier` offers what `core.model.answering` and `core.model.analysis` read from a
`Classifier` (`values`, `folded_values`, `exact_values`, `decide`, `threshold`, `image_size`,
`evidence`, `loaded.metadata`, `batch_precision`, `many_batch_size`), so `answer_cells(remote, ...)`
makes the answer `answer_cells(local, ...)` makes: measuring, settling and assessing stay here, on
the app's side; the service only computes values (`core.model.wire`). The calibration and the index of
known cells are read from the model's files beside `model_path`, which must be the very files the
service runs: `connect` compares the SHA-256 of the model and of its sidecar with the service's and
refuses any other, and every request names them again (a service restarted on another model refuses it).
Plain urllib, json and numpy: no Ray and no TensorFlow in this process for the values.

>>> remote = RemoteClassifier.connect("http://127.0.0.1:8600", "models/leukemia_resnet50.keras")  # doctest: +SKIP
>>> answers = answer_cells(remote, prepared, error_rate=0.05)  # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core import config
from core.errors import InferenceServiceError, ModelError
from core.model import wire
from core.model.sidecar_schema import CardFacts
from core.model.evidence import ModelEvidence, load_evidence
from core.model.prediction import AnswersAtThreshold
from core.model.recent import RecentAnswers

EXACT_MEMORY = 256  # as `core.model.inference.EXACT_MEMORY`: inputs whose values run alone are remembered
DOWN = ("The inference service at {url} did not answer ({why}). Start it with `python -m core.serve --model MODEL`, "
        "or unset LEUKEMIA_INFERENCE_URL to run the model in this process.")
OTHER_MODEL = ("The inference service at {url} runs another model than {path}: its model's SHA-256 is {theirs}, this "
               "file's {ours} (sidecars: {their_card} and {our_card}). Start the service on this model, or point "
               "LEUKEMIA_MODEL at the file it runs.")


def file_digests(model_path: Path) -> tuple[str, str]:
    """(hex SHA-256 of the model file, of its sidecar's bytes or "" without one): `core.model.store`'s two digests."""
    with open(model_path, "rb") as handle:
        model_digest = hashlib.file_digest(handle, "sha256").hexdigest()
    try:
        return model_digest, hashlib.sha256(config.sidecar_path(model_path).read_bytes()).hexdigest()
    except OSError:
        return model_digest, ""


@dataclass
class ServedModel(CardFacts):
    """The `core.model.store.LoadedModel` fields the app and answering read, for a model the service runs.

    `model` is None: the weights stay in the service (Explain loads its own copy in the app's process).
    """

    metadata: dict[str, Any]
    path: Path
    sha256: str
    sidecar_sha256: str
    warnings: list[str] = field(default_factory=list)
    model: None = None

    @property
    def image_size(self) -> int:
        return int(self.metadata["image_size"])


class RemoteClassifier(AnswersAtThreshold):
    """The face of `core.model.inference.Classifier` that answering uses, its passes run by the inference service."""

    def __init__(self, url: str, loaded: ServedModel, evidence: ModelEvidence, identity: wire.Identity,
                 timeout_s: float = config.INFERENCE_TIMEOUT_S) -> None:
        self.url, self.loaded, self.evidence, self.timeout_s = url.rstrip("/"), loaded, evidence, timeout_s
        self.batch_precision = identity.batch_precision  # what the last `fast` batch ran in, as the service said
        self.many_batch_size = identity.many_batch_size
        self._exact = RecentAnswers(EXACT_MEMORY)

    @classmethod
    def connect(cls, url: str, model_path: str | Path, timeout_s: float = config.INFERENCE_TIMEOUT_S) -> RemoteClassifier:
        """Ask the service at `url` what it runs, check it is `model_path`, and read that model's evidence here.

        Raises:
            ModelError: no file at `model_path`, or the service runs another model (or sidecar).
            InferenceServiceError: the service did not answer, or not as an inference service.
        """
        path = Path(model_path).expanduser()
        if not path.is_file():
            raise ModelError(f"No model file at {path}. The app checks by SHA-256 that the inference service runs this "
                             "file, so it needs it: copy the service's model here, or set LEUKEMIA_MODEL.")
        try:
            reply, _ = _request(f"{url.rstrip('/')}{wire.INFO_PATH}", None, timeout_s, url)
            identity = wire.Identity.from_json(json.loads(reply))
        except ValueError as error:  # json.JSONDecodeError is a ValueError.
            raise InferenceServiceError(DOWN.format(url=url, why=error)) from error
        ours = file_digests(path)
        if ours != (identity.model_sha256, identity.sidecar_sha256):
            raise ModelError(OTHER_MODEL.format(url=url, path=path, theirs=identity.model_sha256[:12], ours=ours[0][:12],
                                                their_card=identity.sidecar_sha256[:12] or "none", our_card=ours[1][:12] or "none"))
        loaded = ServedModel(identity.metadata, path, ours[0], ours[1], list(identity.warnings))
        return cls(url, loaded, load_evidence(path, identity.metadata), identity, timeout_s)

    def values(self, model_inputs_rgb: np.ndarray, batch_size: int = 32,
               fast: bool = False) -> tuple[np.ndarray | None, np.ndarray]:
        """`Classifier.values` on the service: ((N, D) float32 features or None, (N,) float32 P(all)).

        `fast` requests join the service's batches of every session (bfloat16 where it computes it
        natively: FAST values, settled by `core.model.answering`); float32 rows of a request of
        several run in a float32 batch (BATCHED); a request of one float32 row runs alone (EXACT).
        """
        return self._ask(wire.VALUES_PATH, model_inputs_rgb, {"fast": int(fast), "batch_size": batch_size})

    def folded_values(self, model_inputs_rgb: np.ndarray, batch_size: int = 32) -> tuple[np.ndarray | None, np.ndarray]:
        """`Classifier.folded_values` on the service: float32 batches through the folded copy (BATCHED values)."""
        return self._ask(wire.FOLDED_PATH, model_inputs_rgb, {"batch_size": batch_size})

    def exact_values(self, model_inputs_rgb: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        """`Classifier.exact_values` on the service (each input alone, float32); the last EXACT_MEMORY remembered here too."""
        rows = [self._exact.get(model_input) for model_input in model_inputs_rgb]
        missing = [row for row, known in enumerate(rows) if known is None]
        if missing:
            features, probabilities = self._ask(wire.EXACT_PATH, model_inputs_rgb[missing], {})
            for offset, row in enumerate(missing):
                rows[row] = self._exact.put(model_inputs_rgb[row], (None if features is None else features[offset],
                                                                    float(probabilities[offset])))
        probabilities = np.asarray([probability for _, probability in rows], np.float32).reshape(-1)
        if self.evidence.index is None or not rows:
            return None, probabilities
        return np.stack([features for features, _ in rows]).astype(np.float32), probabilities

    def warm_up(self) -> None:
        """Nothing to trace here: the service warmed its model up when it started."""

    def _ask(self, path: str, model_inputs_rgb: np.ndarray, parameters: dict[str, int]) -> tuple[np.ndarray | None, np.ndarray]:
        """POST the inputs to `path`, MAX_CELLS_PER_REQUEST at a time -> (features or None, P(all)), in order."""
        model_inputs_rgb = np.asarray(model_inputs_rgb)
        if len(model_inputs_rgb) == 0:
            return None, np.zeros((0,), np.float32)
        query = urllib.parse.urlencode({**parameters, "model_sha256": self.loaded.sha256,
                                        "sidecar_sha256": self.loaded.sidecar_sha256})
        features, probabilities = [], []
        for start in range(0, len(model_inputs_rgb), wire.MAX_CELLS_PER_REQUEST):
            chunk = model_inputs_rgb[start : start + wire.MAX_CELLS_PER_REQUEST]
            body, precision = _request(f"{self.url}{path}?{query}", wire.encode_inputs(chunk), self.timeout_s, self.url)
            try:
                chunk_features, chunk_probabilities = wire.decode_values(body, len(chunk))
            except ValueError as error:
                raise InferenceServiceError(DOWN.format(url=self.url, why=error)) from error
            if parameters.get("fast") and precision:  # only a fast batch says what fast batches run in now
                self.batch_precision = precision
            features.append(chunk_features)
            probabilities.append(chunk_probabilities)
        joined = None if features[0] is None else np.concatenate(features)
        return joined, np.concatenate(probabilities)


def _request(url: str, body: bytes | None, timeout_s: float, service: str) -> tuple[bytes, str | None]:
    """(reply bytes, its PRECISION_HEADER) of a GET (no body) or POST; every failure as a sentence for people.

    Raises:
        ModelError: the service refused the request for naming another model (IDENTITY_REFUSED).
        InferenceServiceError: no connection, a timeout, or any other error status.
    """
    request = urllib.request.Request(url, data=body, method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return reply.read(), reply.headers.get(wire.PRECISION_HEADER)
    except urllib.error.HTTPError as error:
        said = error.read(2000).decode("utf-8", "replace").strip().splitlines()
        why = said[0] if said else f"HTTP {error.code}"
        if error.code == wire.IDENTITY_REFUSED:
            raise ModelError(why) from error
        raise InferenceServiceError(DOWN.format(url=service, why=f"HTTP {error.code}: {why}")) from error
    except (urllib.error.URLError, OSError) as error:  # refused, unreachable, timed out
        reason = getattr(error, "reason", error)
        raise InferenceServiceError(DOWN.format(url=service, why=reason)) from error
