"""The uploads kept across pages: Streamlit forgets a file uploader's files when the page changes, so Classify copies them here.

The bound keeps one session from holding the server's memory. The session keys are `ui.state`'s.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import streamlit as st

from core import config
from ui.state import UPLOAD_NOTICE_KEY, UPLOADER_GENERATION_KEY, UPLOADER_SEEN_KEY, UPLOADS_KEY


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
    """Fold the uploader's files into the session's kept uploads, within `config.SESSION_MAX_UPLOADS` / `_BYTES`.

    A file the user removed from the uploader (present on its last run, gone now) is forgotten,
    unless the uploader is new on this run: after a page change it starts empty, and that
    removes nothing. Sets the notice naming any uploads dropped to stay within the bound.
    """
    current = [KeptUpload(name, data, hashlib.sha256(data).hexdigest()) for name, data in files]
    removed = set() if uploader_is_new else st.session_state.get(UPLOADER_SEEN_KEY, set()) - {u.key for u in current}
    kept = [upload for upload in kept_uploads() if upload.key not in removed]
    kept, dropped = bounded_uploads(kept, current, config.SESSION_MAX_UPLOADS, config.SESSION_MAX_UPLOAD_BYTES)
    st.session_state[UPLOADS_KEY] = kept
    st.session_state[UPLOADER_SEEN_KEY] = {upload.key for upload in current}
    if dropped:
        names = ", ".join(upload.name for upload in dropped)
        st.session_state[UPLOAD_NOTICE_KEY] = (
            f"A session keeps at most {config.SESSION_MAX_UPLOADS} uploads or "
            f"{config.SESSION_MAX_UPLOAD_BYTES // 2**20} MB; the oldest were dropped: {names}.")


def kept_uploads() -> list[KeptUpload]:
    return list(st.session_state.get(UPLOADS_KEY, []))


def upload_notice() -> str | None:
    return st.session_state.get(UPLOAD_NOTICE_KEY)


def clear_uploads() -> None:
    """Forget every kept upload and give the uploader a new, empty widget (a button's on_click)."""
    st.session_state[UPLOADS_KEY] = []
    st.session_state[UPLOADER_SEEN_KEY] = set()
    st.session_state[UPLOAD_NOTICE_KEY] = None
    st.session_state[UPLOADER_GENERATION_KEY] = st.session_state.get(UPLOADER_GENERATION_KEY, 0) + 1
