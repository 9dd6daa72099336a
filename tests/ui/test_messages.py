"""Text from a file goes on screen as plain text: every markup case of the untrusted-input issue, escaped.

Streamlit renders Markdown in the browser (GitHub's extensions, LaTeX, emoji and its own
`:material/...:` and `:colour[...]` directives). Here the escaped text is rendered by
markdown-it (CommonMark with raw HTML on) and must come out as one paragraph of text holding
the original characters; the Streamlit-only patterns are checked on the escaped text itself.
The browser test (tests/browser/test_untrusted.py) checks what Chromium shows and fetches.
"""
import re

import pytest
from streamlit.testing.v1 import AppTest

from requirements import require
from ui.messages import WORD_JOINER, plain

try:
    from markdown_it import MarkdownIt
except ImportError:  # Comes with Streamlit's dependencies (rich); checked in each test.
    MarkdownIt = None

# A loaded CI machine took more than Streamlit's default 3 s to import the page helpers.
APPTEST_TIMEOUT_S = 60

MARKUP = [
    "[Click here to download the fixed model](http://127.0.0.2/phish)",
    "![x](http://127.0.0.2/beacon.png)",
    "<img src=http://127.0.0.2/i.png><b>bold</b><script>alert(1)</script>",
    "<a href='http://127.0.0.2'>link</a>",
    ":material/home: :smile: :red[red] :blue-background[x]",
    "$x^2$ and $$\\int y$$",
    "back\\slash \\n \\[x\\] \\*",
    "http://127.0.0.2/bare www.evil.example user@evil.example <http://127.0.0.2/auto>",
    "&#58;material/home&#58; &lt;b&gt;",
    "**bold** _it_ `code` ~~gone~~ # heading\n- item\n> quote",
    "+SUM(1+1).png",
]


def render(text: str) -> str:
    require(MarkdownIt is not None, "markdown-it-py is missing: python3 -m pip install markdown-it-py")
    return MarkdownIt("commonmark", {"html": True}).render(text)


@pytest.mark.parametrize("text", MARKUP)
def test_no_markup_survives(text):
    escaped = plain(text)
    html = render(escaped)
    tags = set(re.findall(r"</?([a-z0-9]+)", html))
    assert tags <= {"p", "br"}, html
    assert not re.search(r":[a-z]", escaped) and "://" not in escaped and not re.search(r"@\w", escaped)
    assert not re.search(r"www", escaped, re.IGNORECASE)
    assert not re.search(r"(?<!\\)\$", escaped)  # LaTeX needs an unescaped dollar.


@pytest.mark.parametrize("text", MARKUP)
def test_the_text_reads_the_same(text):
    shown = render(plain(text)).replace(WORD_JOINER, "")
    import html as html_module

    shown_text = html_module.unescape(re.sub(r"</?(p|br /?)>", "", shown)).strip()
    assert shown_text == text.strip()


def test_alerts_carry_the_escaped_text():
    def script():
        from ui.messages import show_error, show_info, show_warning

        show_error("![x](http://127.0.0.2/e.png)")
        show_warning(":material/home:")
        show_info("[a](http://127.0.0.2)")

    app = AppTest.from_function(script, default_timeout=APPTEST_TIMEOUT_S).run()
    assert not app.exception
    bodies = [app.error[0].value, app.warning[0].value, app.info[0].value]
    assert bodies == [plain("![x](http://127.0.0.2/e.png)"), plain(":material/home:"), plain("[a](http://127.0.0.2)")]


def test_dataset_grid_captions_show_file_names_as_text(synthetic_data_root):
    """A data file named like a Markdown image would make every visitor's browser fetch it from an image caption."""
    cell = str(next((synthetic_data_root / "training_data").rglob("*.bmp")))

    def script(cell_path):
        from pathlib import Path

        from ui.dataset_widgets import grid_ui

        grid_ui([Path(cell_path)], ["![b](http://127.0.0.2/beacon.png).bmp · all"])

    app = AppTest.from_function(script, args=(cell,), default_timeout=APPTEST_TIMEOUT_S).run()
    assert not app.exception
    captions = [image.caption for element in app.get("image") for image in element.proto.imgs]
    assert captions == [plain("![b](http://127.0.0.2/beacon.png).bmp · all")]
