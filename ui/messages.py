"""Text that came from a file (names, errors, sidecar fields) on screen as plain text, never as markup."""
from __future__ import annotations

import re

# Markdown and Streamlit directive characters escaped in user-supplied text (file names).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def plain(text: str) -> str:
    """Escape user text (a file name) so Markdown shows it literally and never as a link or image."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
