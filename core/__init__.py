"""Core package: imaging, preprocessing, dataset, synthetic data, model, inference, explanations.

This package never imports streamlit: the app, `train.py` and the command-line tools all
call the same functions here.
"""
