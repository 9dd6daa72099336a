"""Leukemia cell classifier: the entrypoint routes between pages and draws the shared frame.

Run with `streamlit run streamlit_app.py`. The model and the data folder come from
`core.config` (override with the environment variables LEUKEMIA_MODEL and LEUKEMIA_DATA_DIR).
"""
import streamlit as st

from ui import frame, server_log, state

st.set_page_config(**frame.PAGE_CONFIG)  # Title "Leukemia cell classifier", wide layout.
state.init_session_state()
server_log.configure_server_log()

CLASSIFY = st.Page("app_pages/classify.py", title="Classify", icon=":material/biotech:", url_path="home", default=True)
PAGES = [
    CLASSIFY,
    st.Page("app_pages/patient.py", title="Patient", icon=":material/group:", url_path="patient"),
    st.Page("app_pages/explain.py", title="Explain", icon=":material/visibility:", url_path="explain"),
    st.Page("app_pages/dataset.py", title="Dataset explorer", icon=":material/dataset:", url_path="dataset"),
    st.Page("app_pages/model.py", title="Model card", icon=":material/description:", url_path="model"),
    st.Page("app_pages/quiz.py", title="Quiz", icon=":material/quiz:", url_path="quiz"),
    st.Page("app_pages/about.py", title="About", icon=":material/info:", url_path="about"),
]

# The default page is served at "/"; a deep link to /classify (the name a person guesses) lands there too.
CLASSIFY_ALIAS = st.Page(lambda: st.switch_page(CLASSIFY), title="Classify", url_path="classify", visibility="hidden")

page = st.navigation([*PAGES, CLASSIFY_ALIAS])
frame.render_frame()
page.run()
