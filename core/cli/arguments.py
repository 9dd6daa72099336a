"""An argparse parser whose bad flag is an exception, so that a command's `main` prints one line and returns 2."""
from __future__ import annotations

import argparse


class ArgumentError(Exception):
    """Raised instead of argparse's exit; its message is argparse's, for one line on stderr."""


class RaisingParser(argparse.ArgumentParser):
    """argparse that raises ArgumentError on a bad command line instead of printing its usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise ArgumentError(message)
