"""The `python -m` command lines. Importing this package hides TensorFlow's start-up lines (`core.cli.quiet`)."""
from core.cli import quiet

quiet.install()
