"""The app's screens, defined once: the entrypoint builds its `st.Page`s from them, tests import them.

Plain data (no Streamlit import), so a test or a script can list the screens without starting
the app. The scripts live in `app_pages/`, a folder Streamlit does not scan by itself: the
entrypoint's `st.navigation` is the only way a screen runs, always inside the frame.

>>> [screen.title for screen in SCREENS][:3]
['Classify', 'Patient', 'Explain']
>>> by_title("Explain").script
'app_pages/explain.py'
"""
from __future__ import annotations

from dataclasses import dataclass

PAGES_FOLDER = "app_pages"
# The default page is served at "/"; a deep link to /classify (the name a person guesses) lands there too.
CLASSIFY_ALIAS_URL = "classify"


@dataclass(frozen=True)
class Screen:
    """One screen as `st.navigation` lists it.

    Attributes:
        script: the page script, relative to the entrypoint (`app_pages/<name>.py`).
        title: the name people read in the sidebar.
        icon: a Material icon, written ":material/<name>:".
        url_path: the path after the server's address.
    """

    script: str
    title: str
    icon: str
    url_path: str


SCREENS = (
    Screen(f"{PAGES_FOLDER}/classify.py", "Classify", ":material/biotech:", "home"),
    Screen(f"{PAGES_FOLDER}/patient.py", "Patient", ":material/group:", "patient"),
    Screen(f"{PAGES_FOLDER}/explain.py", "Explain", ":material/visibility:", "explain"),
    Screen(f"{PAGES_FOLDER}/dataset.py", "Dataset explorer", ":material/dataset:", "dataset"),
    Screen(f"{PAGES_FOLDER}/model.py", "Model card", ":material/description:", "model"),
    Screen(f"{PAGES_FOLDER}/quiz.py", "Quiz", ":material/quiz:", "quiz"),
    Screen(f"{PAGES_FOLDER}/about.py", "About", ":material/info:", "about"),
)
DEFAULT_SCREEN = SCREENS[0]


def address(screen: Screen) -> str:
    """The path a person types for `screen`: "" for the default page (Streamlit serves it at "/" alone), else its url_path.

    >>> address(DEFAULT_SCREEN), address(by_title("About"))
    ('', 'about')
    """
    return "" if screen is DEFAULT_SCREEN else screen.url_path


def by_title(title: str) -> Screen:
    """The screen people know by `title` (e.g. "Explain"), for `st.page_link` and `st.switch_page`.

    Raises:
        ValueError: when no screen has that title; the message lists the titles there are.
    """
    for screen in SCREENS:
        if screen.title == title:
            return screen
    raise ValueError(f"No screen is titled {title!r}; the screens are {[screen.title for screen in SCREENS]}.")
