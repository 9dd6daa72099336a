"""Similar known cells and the out-of-distribution (OOD) score, from the model's pooled features.

The features are the output of `core.model.network.POOL_LAYER` ("avg_pool"): (N, 2048)
float32 for ResNet50. The index stores them L2-normalised (each row has unit length), so the
Euclidean distance between two cells lies in [0, 2] (0: the same direction; sqrt(2): orthogonal).
A query costs one (N, D) @ (D,) product and an `argpartition`; only the k rows it picks get
their exact distance (so an indexed cell finds itself at distance 0, not at float rounding).

The OOD score of a cell is its distance to its k-th nearest TRAINING cell (a k-NN
density score, Sun et al. 2022, "Out-of-distribution detection with deep nearest
neighbors"). The threshold is a percentile of the calibration subjects' cells' scores (the
index's "validation" side holds the held-out cells), so about (100 - percentile)% of held-out
in-distribution cells are flagged by construction.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from core.errors import ModelError

INDEX_FORMAT_VERSION = 1
TRAIN_SIDE, VALIDATION_SIDE = "train", "validation"
NEIGHBOURS = 6
OOD_K = 10
OOD_PERCENTILE = 95
QUERY_CHUNK = 320  # queries per matrix product in `query_many`: the Patient page's 300 cells at once; a (N, 320) float32 block, 13 MB for 10,000 cells
# An index of all of C-NMC's ~10,700 labelled cells at D = 2048 is ~90 MB; refuse anything far larger.
MAX_INDEX_BYTES = 1 << 30
_TEXT_COLUMNS = ("files", "labels", "subjects", "sides")


@dataclass(frozen=True)
class Neighbour:
    """One indexed cell near a query: where it is, what it is, and how far (L2 on unit features, in [0, 2])."""

    file: str
    label: str
    subject: str
    side: str
    distance: float


def normalise(features: np.ndarray) -> np.ndarray:
    """(..., D) features -> float32 rows of unit L2 length (an all-zero row stays zero)."""
    features = np.asarray(features, np.float32)
    norms = np.linalg.norm(features, axis=-1, keepdims=True)
    return features / np.maximum(norms, np.float32(1e-12))


@dataclass(frozen=True, eq=False)
class EmbeddingIndex:
    """Indexed cells: unit-length features (N, D) float32 and, per row, file, label, subject and side.

    `files` are paths relative to the dataset root, as text; `sides` are "train" or "validation".
    Build one with `EmbeddingIndex.build`, which normalises the features.
    """

    features: np.ndarray
    files: np.ndarray
    labels: np.ndarray
    subjects: np.ndarray
    sides: np.ndarray

    @classmethod
    def build(cls, features: np.ndarray, files, labels, subjects, sides) -> EmbeddingIndex:
        """Normalise (N, D) features and store the per-row text as fixed-width unicode arrays."""
        columns = [np.asarray([str(value) for value in column], dtype=np.str_) for column in (files, labels, subjects, sides)]
        index = cls(np.ascontiguousarray(normalise(features)), *columns)
        index.check()
        return index

    @property
    def dimensions(self) -> int:
        return int(self.features.shape[1])

    def __len__(self) -> int:
        return int(self.features.shape[0])

    def check(self) -> None:
        """Raise ModelError unless features are 2-D float32 and every column has one entry per row."""
        if self.features.ndim != 2 or self.features.dtype != np.float32:
            raise ModelError(f"Embedding index features must be (N, D) float32; got {self.features.shape} {self.features.dtype}.")
        for name in _TEXT_COLUMNS:
            column = getattr(self, name)
            if column.shape != (len(self),) or column.dtype.kind != "U":
                raise ModelError(f"Embedding index column '{name}' has shape {column.shape} ({column.dtype}); expected ({len(self)},) text.")
        if not set(np.unique(self.sides)) <= {TRAIN_SIDE, VALIDATION_SIDE}:
            raise ModelError(f"Embedding index sides must be '{TRAIN_SIDE}' or '{VALIDATION_SIDE}'; got {sorted(set(self.sides))}.")

    def save(self, path: Path) -> None:
        """Write an uncompressed `.npz` (no pickled objects: text is stored as fixed-width unicode)."""
        path = Path(path)
        temporary = path.with_name(path.name + ".tmp.npz")
        np.savez(temporary, format_version=np.int64(INDEX_FORMAT_VERSION), features=self.features,
                 **{name: getattr(self, name) for name in _TEXT_COLUMNS})
        temporary.replace(path)

    @classmethod
    def load(cls, path: Path, dimensions: int | None = None, max_bytes: int = MAX_INDEX_BYTES) -> EmbeddingIndex:
        """Read an index written by `save`; `allow_pickle=False`, sizes checked before anything is read.

        Raises:
            ModelError: missing, oversized, corrupt or inconsistent file, or not `dimensions` wide.
        """
        path = Path(path)
        if not path.is_file():
            raise ModelError(f"No embedding index at {path}. Rebuild it with `python -m core.cli.index --model MODEL --data-dir DATA`.")
        try:
            with zipfile.ZipFile(path) as archive:
                unpacked = sum(member.file_size for member in archive.infolist())
            if max(path.stat().st_size, unpacked) > max_bytes:
                raise ModelError(f"The embedding index {path.name} holds {unpacked:,} bytes, more than the {max_bytes:,} allowed.")
            with np.load(path, allow_pickle=False) as data:
                version = int(data["format_version"])
                arrays = {name: data[name] for name in ("features", *_TEXT_COLUMNS)}
        except ModelError:
            raise
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
            raise ModelError(f"Could not read the embedding index {path.name} ({error}). Rebuild it with `python -m core.cli.index`.") from error
        if version != INDEX_FORMAT_VERSION:
            raise ModelError(f"{path.name} is embedding index format {version}; this code reads format {INDEX_FORMAT_VERSION}. Rebuild it.")
        index = cls(**arrays)
        index.check()
        if dimensions is not None and index.dimensions != dimensions:
            raise ModelError(f"{path.name} holds {index.dimensions}-dimensional features; the model gives {dimensions}. Rebuild it.")
        return index

    def _similarities(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One image's (D,) features -> (the unit query (D,), its cosine similarity to every row (N,))."""
        query = normalise(np.asarray(features, np.float32).reshape(-1))
        if query.shape[0] != self.dimensions:
            raise ValueError(f"A query needs {self.dimensions} features; got {query.shape[0]}. Pass the pooled features of one image.")
        return query, self.features @ query  # Both sides have unit length, so the product is the cosine.

    def _nearest_rows(self, query: np.ndarray, similarity: np.ndarray, k: int, rows: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The k rows (among `rows`, or all) most similar to `query`, and their exact L2 distances, nearest first."""
        candidates = similarity if rows is None else similarity[rows]
        k = min(k, len(candidates))
        if k <= 0:
            raise ValueError("The index holds no cell to compare with.")
        chosen = np.argpartition(-candidates, k - 1)[:k]
        chosen = chosen if rows is None else rows[chosen]
        distances = np.linalg.norm(self.features[chosen] - query, axis=1)
        order = np.argsort(distances, kind="stable")
        return chosen[order], distances[order]

    @cached_property
    def train_rows(self) -> np.ndarray:
        """Row numbers of the training cells, the reference set of the OOD score."""
        return np.flatnonzero(self.sides == TRAIN_SIDE)

    def _neighbours(self, rows: np.ndarray, distances: np.ndarray) -> tuple[Neighbour, ...]:
        return tuple(Neighbour(str(self.files[row]), str(self.labels[row]), str(self.subjects[row]), str(self.sides[row]),
                               float(distance)) for row, distance in zip(rows, distances))

    def nearest(self, features: np.ndarray, k: int = NEIGHBOURS) -> tuple[Neighbour, ...]:
        """The k indexed cells (train and validation) nearest one image's (D,) pooled features, nearest first."""
        query, similarity = self._similarities(features)
        return self._neighbours(*self._nearest_rows(query, similarity, k, None))

    def ood_score(self, features: np.ndarray, k: int = OOD_K) -> float:
        """Distance from one image's (D,) features to its k-th nearest training cell (in [0, 2]; higher: less familiar).

        k is capped at the number of training cells.
        """
        query, similarity = self._similarities(features)
        return float(self._nearest_rows(query, similarity, k, self.train_rows)[1][-1])

    def query(self, features: np.ndarray, k: int = NEIGHBOURS, ood_k: int = OOD_K) -> tuple[tuple[Neighbour, ...], float]:
        """`nearest(features, k)` and `ood_score(features, ood_k)` from one pass over the index."""
        query, similarity = self._similarities(features)
        return self._answer(query, similarity, k, ood_k)

    def query_many(self, features: np.ndarray, k: int = NEIGHBOURS, ood_k: int | None = OOD_K,
                   chunk: int = QUERY_CHUNK) -> list[tuple[tuple[Neighbour, ...], float | None]]:
        """`query` for each row of (M, D) features, `chunk` rows per matrix product over the index.

        `ood_k=None` skips the k-NN distance (None in its place): a model whose OOD score is the
        stain and texture distance does not need it.

        One product reads the (N, D) index once for `chunk` queries where `query` reads it once per
        query, and each block's candidates are picked by one `argpartition` along its rows: 300
        queries of a 10,000-cell index at D = 2048 took 0.20 s in all against 0.28 s in blocks of
        128 picked query by query (2-core Xeon at load 2.3; `benchmarks/run.py --only ood_query`).
        """
        queries = normalise(np.asarray(features, np.float32))
        if queries.ndim != 2 or queries.shape[1] != self.dimensions:
            raise ValueError(f"Queries need shape (M, {self.dimensions}); got {queries.shape}. Pass the pooled features of the images.")
        if len(self) == 0 or len(self.train_rows) == 0:
            return [self.query(query, k, ood_k or OOD_K) for query in queries]  # `query` raises the error for an empty side
        answers = []
        for start in range(0, len(queries), chunk):
            block = queries[start : start + chunk]
            # (chunk, N) cosines (unit rows); the product the (N, D) @ (D, chunk) way round is the faster one in BLAS here.
            similarities = np.ascontiguousarray((self.features @ block.T).T)
            rows, distances = self._by_distance(block, _top_columns(similarities, k))
            if ood_k is None:
                scores = [None] * len(block)
            else:
                familiar = self.train_rows[_top_columns(similarities[:, self.train_rows], ood_k)]
                scores = [float(score) for score in self._by_distance(block, familiar)[1][:, -1]]
            answers += [(self._neighbours(found, apart), score) for found, apart, score in zip(rows, distances, scores)]
        return answers

    def _by_distance(self, queries: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(M, D) unit queries and (M, k) row numbers each -> those rows and their exact L2 distances, nearest first."""
        distances = np.linalg.norm(self.features[rows] - queries[:, None, :], axis=2)  # (M, k)
        order = np.argsort(distances, axis=1, kind="stable")
        return np.take_along_axis(rows, order, axis=1), np.take_along_axis(distances, order, axis=1)

    def _answer(self, query: np.ndarray, similarity: np.ndarray, k: int, ood_k: int) -> tuple[tuple[Neighbour, ...], float]:
        """(the k nearest cells, the OOD score) of a unit (D,) query from its (N,) similarities to every row."""
        neighbours = self._neighbours(*self._nearest_rows(query, similarity, k, None))
        return neighbours, float(self._nearest_rows(query, similarity, ood_k, self.train_rows)[1][-1])


def _top_columns(similarities: np.ndarray, k: int) -> np.ndarray:
    """(M, N) similarities -> (M, min(k, N)) column numbers of each row's k largest, in no particular order."""
    k = min(k, similarities.shape[1])
    return np.argpartition(-similarities, k - 1, axis=1)[:, :k]


def ood_threshold(index: EmbeddingIndex, validation_features: np.ndarray, k: int = OOD_K, percentile: float = OOD_PERCENTILE) -> float:
    """The `percentile`-th percentile (numpy's linear rule) of the (M, D) validation cells' OOD scores."""
    scores = [index.ood_score(features, k) for features in np.asarray(validation_features)]
    if not scores:
        raise ValueError("No validation cell to set the OOD threshold from.")
    return float(np.percentile(scores, percentile))
