"""The inference service: the model behind Ray Serve for every Streamlit replica (`python -m core.serve`).

`batching` (the service's passes over requests from many sessions, without Ray), `deployment` (the
Ray Serve deployment and its HTTP routes), `command` (the command line). The wire format and the
client are `core.model.wire` and `core.model.remote`: answers are still made on the app's side.
"""
