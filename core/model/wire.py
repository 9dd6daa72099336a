"""The inference service's wire format (`python -m core.serve`, `core.model.remote`): model inputs out, model values back.

The boundary is at the model's values, not at the answer: `core.model.answering` makes every answer
on the app's side from the values the service sends back, so a remote answer is the in-process one.

Requests are POSTs whose body is one `.npy` array of (N, S, S, 3) uint8 RGB model inputs (the
preprocessed crops `core.imaging.prepare` makes; channels in RGB order, values 0 to 255, before
`resnet50.preprocess_input`), N from 1 to MAX_CELLS_PER_REQUEST and S the model's input size:
- `/values?fast=0|1&batch_size=B`: `Classifier.values` (fast: the service's shared bfloat16 batches);
- `/folded?batch_size=B`: `Classifier.folded_values` (the float32 recheck of FAST values);
- `/exact`: `Classifier.exact_values` (each input alone, in float32).
Every request names the model it expects (`model_sha256`, `sidecar_sha256` query parameters); the
service answers 409 (IDENTITY_REFUSED) for any other. The reply is an `.npz` with "probabilities",
(N,) float32 P(all), and for a model with an index of known cells "features", (N, D) float32 pooled
features; the PRECISION_HEADER says what the batch ran in and GATHERED_HEADER how many model inputs it held. `GET /info` is the service's `Identity`
as JSON. No pickles travel: arrays are read with `allow_pickle=False`.
"""
from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

VALUES_PATH, FOLDED_PATH, EXACT_PATH, INFO_PATH = "/values", "/folded", "/exact", "/info"
MAX_CELLS_PER_REQUEST = 32  # rows of one request; the client splits larger calls (a Patient batch is 32)
PRECISION_HEADER = "X-Batch-Precision"
GATHERED_HEADER = "X-Gathered-Rows"  # model inputs of every session's requests that ran together with this one
IDENTITY_REFUSED = 409


@dataclass(frozen=True)
class Identity:
    """What the service runs, and what answering reads from a classifier besides its values.

    Attributes:
        model_sha256, sidecar_sha256: hex SHA-256 of the `.keras` file and of its sidecar's bytes ("" without one).
        metadata: the sidecar as `core.model.store.load_classifier` completed it (threshold, image size, ...).
        warnings: what loading it said (a missing model card, a file changed after training).
        batch_precision: "bfloat16" or "float32", what `fast` batches run in on the service.
        many_batch_size: cells per forward pass the service uses for many cells.
    """

    model_sha256: str
    sidecar_sha256: str
    metadata: dict[str, Any]
    warnings: list[str]
    batch_precision: str
    many_batch_size: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, payload: Any) -> Identity:
        """The Identity of a `/info` reply; ValueError when it lacks a field or a field has the wrong type."""
        try:
            identity = cls(str(payload["model_sha256"]), str(payload["sidecar_sha256"]), dict(payload["metadata"]),
                           [str(warning) for warning in payload["warnings"]], str(payload["batch_precision"]),
                           int(payload["many_batch_size"]))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"The service's /info reply is not an inference service's identity ({error!r}).") from error
        return identity


def encode_inputs(model_inputs_rgb: np.ndarray) -> bytes:
    """(N, S, S, 3) uint8 RGB -> the `.npy` bytes of a request body."""
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(model_inputs_rgb), allow_pickle=False)
    return buffer.getvalue()


def decode_inputs(body: bytes, image_size: int) -> np.ndarray:
    """A request body -> (N, S, S, 3) uint8 RGB model inputs, S = `image_size`.

    Raises:
        ValueError: not a `.npy` array, or not 1 to MAX_CELLS_PER_REQUEST uint8 RGB inputs of that size.
    """
    try:
        inputs = np.load(io.BytesIO(body), allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise ValueError(f"The request body is not a .npy array ({error}).") from error
    expected = (image_size, image_size, 3)
    if inputs.dtype != np.uint8 or inputs.ndim != 4 or inputs.shape[1:] != expected \
            or not 1 <= len(inputs) <= MAX_CELLS_PER_REQUEST:
        raise ValueError(f"Send (N, {image_size}, {image_size}, 3) uint8 RGB model inputs with N from 1 to "
                         f"{MAX_CELLS_PER_REQUEST}; got {inputs.dtype} {inputs.shape}.")
    return inputs


def encode_values(features: np.ndarray | None, probabilities: np.ndarray) -> bytes:
    """((N, D) float32 features or None, (N,) float32 P(all)) -> the `.npz` bytes of a reply."""
    buffer = io.BytesIO()
    arrays = {"probabilities": np.asarray(probabilities, np.float32)}
    if features is not None:
        arrays["features"] = np.asarray(features, np.float32)
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def decode_values(body: bytes, count: int) -> tuple[np.ndarray | None, np.ndarray]:
    """A reply -> ((count, D) float32 features or None, (count,) float32 P(all)).

    Raises:
        ValueError: not an `.npz` of that many float32 values.
    """
    try:
        with np.load(io.BytesIO(body), allow_pickle=False) as arrays:
            probabilities = arrays["probabilities"]
            features = arrays["features"] if "features" in arrays.files else None
    except (ValueError, OSError, EOFError, KeyError) as error:
        raise ValueError(f"The service's reply is not model values ({error}).") from error
    if probabilities.dtype != np.float32 or probabilities.shape != (count,) or (
            features is not None and (features.dtype != np.float32 or features.ndim != 2 or len(features) != count)):
        raise ValueError(f"The service sent values for another number of cells than the {count} asked for.")
    return features, probabilities
