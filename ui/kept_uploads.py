"""The uploads kept across pages: Streamlit forgets a file uploader's files when the page changes, so Classify keeps them.

Two bounds hold: one session keeps at most `config.SESSION_MAX_UPLOADS` uploads and `SESSION_MAX_UPLOAD_BYTES`
(its oldest dropped first), and all sessions together keep at most `config.SESSION_STORE_BYTES`, because the
bytes sit in the server-wide store of `ui.server_memory` (the sessions idle longest let go first). Session state
holds only an `UploadName` per upload; a page run that finds an upload's bytes let go says so and asks for the
file again. Nothing is lost silently. The session keys are `ui.state`'s.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import NamedTuple

import streamlit as st

from core import config
from ui import server_memory
from ui.state import UPLOAD_NOTICE_KEY, UPLOADER_GENERATION_KEY, UPLOADER_SEEN_KEY, UPLOADS_KEY, session_token


class UploadName(NamedTuple):
    """What session state holds of a kept upload: its file name and SHA-256 (hex); the bytes are in the store."""

    name: str
    digest: str


@dataclass(frozen=True)
class KeptUpload:
    """One uploaded file kept for the session: its name, bytes and SHA-256 (hex)."""

    name: str
    data: bytes
    digest: str

    @property
    def key(self) -> tuple[str, str]:
        return self.name, self.digest


def bounded_uploads(kept: list[KeptUpload], new: list[KeptUpload], max_count: int,
                    max_bytes: int) -> tuple[list[KeptUpload], list[KeptUpload]]:
    """(what to keep, what was dropped): `new` appended after `kept`, then the oldest dropped until both bounds hold."""
    known = {upload.key for upload in kept}
    uploads = kept + [upload for upload in new if upload.key not in known]
    dropped = []
    while uploads and (len(uploads) > max_count or sum(len(upload.data) for upload in uploads) > max_bytes):
        dropped.append(uploads.pop(0))
    return uploads, dropped


def uploader_key() -> str:
    """The Classify uploader's widget key: "classify_uploads", then a new one after each "Clear uploads"."""
    generation = st.session_state.get(UPLOADER_GENERATION_KEY, 0)
    return "classify_uploads" if generation == 0 else f"classify_uploads_{generation}"


def keep_uploads(files: list[tuple[str, bytes]], uploader_is_new: bool) -> None:
    """Fold the uploader's files into the session's kept uploads, within the session's bounds and the server's.

    A file the user removed from the uploader (present on its last run, gone now) is forgotten,
    unless the uploader is new on this run: after a page change it starts empty, and that
    removes nothing. Sets the notice naming any uploads dropped to stay within a bound.
    """
    current = [KeptUpload(name, data, hashlib.sha256(data).hexdigest()) for name, data in files]
    removed = set() if uploader_is_new else st.session_state.get(UPLOADER_SEEN_KEY, set()) - {u.key for u in current}
    kept, let_go = _read_kept()
    kept = [upload for upload in kept if upload.key not in removed]
    kept, dropped = bounded_uploads(kept, current, config.SESSION_MAX_UPLOADS, config.SESSION_MAX_UPLOAD_BYTES)
    let_go = [name for name in let_go if name not in {upload.key for upload in kept}]  # Still in the uploader: kept again.
    _write_kept(kept, dropped)
    st.session_state[UPLOADER_SEEN_KEY] = {upload.key for upload in current}
    if dropped:
        names = ", ".join(upload.name for upload in dropped)
        st.session_state[UPLOAD_NOTICE_KEY] = (
            f"A session keeps at most {config.SESSION_MAX_UPLOADS} uploads or "
            f"{config.SESSION_MAX_UPLOAD_BYTES // 2**20} MB; the oldest were dropped: {names}.")
    _say_let_go(let_go)


def kept_uploads() -> list[KeptUpload]:
    """The session's kept uploads, oldest first; any whose bytes the server let go are forgotten, and the notice says so."""
    kept, let_go = _read_kept()
    if let_go:
        st.session_state[UPLOADS_KEY] = [UploadName(upload.name, upload.digest) for upload in kept]
        _say_let_go(let_go)
    return kept


def _read_kept() -> tuple[list[KeptUpload], list[UploadName]]:
    """(the uploads whose bytes the store still holds, the names of those it let go), in the session's order."""
    kept, let_go = [], []
    for name in st.session_state.get(UPLOADS_KEY, []):
        data = server_memory.fetch(session_token(), ("upload", name.digest))
        if data is None:
            let_go.append(name)
        else:
            kept.append(KeptUpload(name.name, data, name.digest))
    return kept, let_go


def _write_kept(kept: list[KeptUpload], dropped: list[KeptUpload]) -> None:
    """Put the kept uploads' bytes in the store (the newest last: most recently used) and their names in session state."""
    for upload in dropped:
        if upload.digest not in {other.digest for other in kept}:  # The same bytes may be kept under another name.
            server_memory.forget(session_token(), ("upload", upload.digest))
    for upload in kept:
        server_memory.keep(session_token(), ("upload", upload.digest), upload.data)
    st.session_state[UPLOADS_KEY] = [UploadName(upload.name, upload.digest) for upload in kept]


def _say_let_go(let_go: list[UploadName]) -> None:
    if let_go:
        names = ", ".join(name.name for name in let_go)
        st.session_state[UPLOAD_NOTICE_KEY] = (
            f"The server let go of {names} to keep its memory within bounds for all sessions (it lets go of the "
            "uploads of the sessions idle longest first). Upload them again to see their answers.")


def upload_notice() -> str | None:
    return st.session_state.get(UPLOAD_NOTICE_KEY)


def clear_uploads() -> None:
    """Forget every kept upload and give the uploader a new, empty widget (a button's on_click)."""
    for name in st.session_state.get(UPLOADS_KEY, []):
        server_memory.forget(session_token(), ("upload", name.digest))
    st.session_state[UPLOADS_KEY] = []
    st.session_state[UPLOADER_SEEN_KEY] = set()
    st.session_state[UPLOAD_NOTICE_KEY] = None
    st.session_state[UPLOADER_GENERATION_KEY] = st.session_state.get(UPLOADER_GENERATION_KEY, 0) + 1
