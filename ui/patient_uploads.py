"""The Patient page's uploads, each unpacked and hashed once rather than on every rerun.

Streamlit runs the page script again on every widget change, and an upload keeps its `file_id`
across those reruns: unpacking a zip of hundreds of cells and hashing every one each time made
every click of the page wait for it. Each upload's images and their SHA-256 (`ui.cache.content_digest`,
the key of the analysis caches) are kept in one process-wide cache bounded by bytes
(`config.PATIENT_UPLOAD_CACHE_BYTES`), keyed on the session, the upload's `file_id`, name and size, so
that no session can reach another's uploads. An upload pushed out by other sessions' is simply
unpacked again. A plain image keeps only its digest there: its bytes are the upload's own.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from core import config
from core.errors import ArchiveError
from core.imaging.archive import read_archive_images
from ui import state
from ui.byte_cache import ByteBudgetCache
from ui.cache import content_digest


@dataclass(frozen=True)
class UnpackedUpload:
    """The cells one upload gives: the image itself, or the image members of a zip.

    Attributes:
        name: the upload's file name.
        files: (name, SHA-256 hex digest, bytes) per cell, in natural name order for a zip; a zip's
            members are named "zip name/member path".
        skipped: members of a zip that are not images.
        error: why a zip was refused (then `files` is empty), or None.
    """

    name: str
    files: tuple[tuple[str, str, bytes], ...]
    skipped: int = 0
    error: str | None = None

    @property
    def is_zip(self) -> bool:
        return is_zip(self.name)

    @property
    def total_bytes(self) -> int:
        return sum(len(data) for _, _, data in self.files)


def is_zip(name: str) -> bool:
    return name.lower().endswith(".zip")


@st.cache_resource
def _uploads_cache() -> ByteBudgetCache:
    """The process-wide cache of unpacked Patient uploads (one per server, shared by every session)."""
    return ByteBudgetCache(config.PATIENT_UPLOAD_CACHE_BYTES)


def unpack_zip(name: str, data: bytes) -> UnpackedUpload:
    """A zip's image members, each with its digest; a refused archive keeps the reason, so it is not read again."""
    try:
        found = read_archive_images(data, name)
    except ArchiveError as error:
        return UnpackedUpload(name, (), error=str(error))
    files = tuple((f"{name}/{member}", content_digest(member_data), member_data) for member, member_data in found.images)
    return UnpackedUpload(name, files, found.skipped)


def unpacked(upload) -> UnpackedUpload:
    """The cells of one Streamlit `UploadedFile`, unpacked and hashed on its first run only (see the module)."""
    key = (state.session_token(), upload.file_id, upload.name, upload.size)
    if is_zip(upload.name):
        return _uploads_cache().get_or_compute(key, lambda: unpack_zip(upload.name, upload.getvalue()))
    data = upload.getvalue()  # No copy: the upload's own bytes.
    digest = _uploads_cache().get_or_compute(key, lambda: content_digest(data))
    return UnpackedUpload(upload.name, ((upload.name, digest, data),))


def file_digest(path: Path, data: bytes) -> str:
    """SHA-256 of a dataset file's bytes, computed once per path, modification time and size."""
    status = path.stat()
    key = ("dataset file", str(path), status.st_mtime_ns, status.st_size)
    return _uploads_cache().get_or_compute(key, lambda: content_digest(data))
