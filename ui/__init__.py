"""Streamlit pages: each renders one screen; `resources` holds the cached core loaders."""
