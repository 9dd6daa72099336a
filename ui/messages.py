"""Text that came from a file (names, errors, sidecar fields) on screen as plain text, never as markup.

Streamlit renders every alert, caption and heading as Markdown with GitHub's extensions and its
own directives, so a file named `[x](http://evil)` would become a link, `![x](http://evil/b.png)`
an image the browser fetches, `:material/home:` an icon and `$x$` LaTeX. `plain` escapes all of
them; `show_error`, `show_warning` and `show_info` are the one way a page puts such text in an
alert. Backslash escapes are not enough on their own: Streamlit turns `\\:material/x\\:` into an
icon and `http\\://host` into a link after the Markdown escapes are undone, so an invisible word
joiner (U+2060) follows every `:` and `@` and splits every `www`; the text reads the same.
"""
from __future__ import annotations

import re

import streamlit as st

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$=^\"'&])")
_DIRECTIVE_START = re.compile(r"([:@])")  # :material/x:, :red[...], :smile:, http://, user@host
_WWW = re.compile(r"(w)(ww)", re.IGNORECASE)  # GitHub's www. autolinks
WORD_JOINER = "\u2060"


def plain(text: object) -> str:
    """`text` escaped so that Streamlit's Markdown shows it literally: no link, image, HTML, icon, colour or LaTeX."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", str(text))
    escaped = _DIRECTIVE_START.sub(r"\1" + WORD_JOINER, escaped)
    return _WWW.sub(r"\1" + WORD_JOINER + r"\2", escaped)


def show_error(text: object, icon: str | None = None) -> None:
    """An error alert whose whole text came from a file or an error message: shown as plain text."""
    st.error(plain(text), icon=icon)


def show_warning(text: object, icon: str | None = None) -> None:
    """A warning alert whose whole text came from a file: shown as plain text."""
    st.warning(plain(text), icon=icon)


def show_info(text: object, icon: str | None = None) -> None:
    """An info alert whose whole text came from a file: shown as plain text."""
    st.info(plain(text), icon=icon)
