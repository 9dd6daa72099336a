"""Leukemia cell classifier: the entrypoint routes between pages and draws the shared frame.

The page list is `ui.navigation.SCREENS`, defined once there; the tests import it too.

Run with `streamlit run streamlit_app.py`. The model and the data folder come from
`core.config` (override with the environment variables LEUKEMIA_MODEL and LEUKEMIA_DATA_DIR).
"""
import streamlit as st

from ui import frame, navigation, server_log, state

st.set_page_config(**frame.PAGE_CONFIG)  # Title "Leukemia cell classifier", wide layout.
state.init_session_state()
server_log.configure_server_log()

PAGES = [st.Page(screen.script, title=screen.title, icon=screen.icon, url_path=screen.url_path,
                 default=screen is navigation.DEFAULT_SCREEN) for screen in navigation.SCREENS]
CLASSIFY = PAGES[navigation.SCREENS.index(navigation.DEFAULT_SCREEN)]
# The default page is served at "/"; a deep link to /classify (the name a person guesses) lands there too.
CLASSIFY_ALIAS = st.Page(lambda: st.switch_page(CLASSIFY), title=CLASSIFY.title, url_path=navigation.CLASSIFY_ALIAS_URL,
                         visibility="hidden")

page = st.navigation([*PAGES, CLASSIFY_ALIAS])
frame.render_frame()
page.run()
