"""Run one long function in a child process and stream its progress as JSON lines.

    python -m core.worker MODULE:FUNCTION ARG...

calls `FUNCTION(Path(ARG), ..., progress=callback)` and writes one JSON object per line on
standard output: `{"kind": "progress", "fraction": f, "message": m}` as work advances, then
`{"kind": "done", ...}` or `{"kind": "error", "message": readable reason}`. Anything else
the function prints (Keras progress bars, logs) goes to standard error, so the protocol
stays clean. The app builds its demo model this way (`ui.demo_build`); the child also
ends itself when the process that started it goes away.
"""
from __future__ import annotations

import importlib
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from core.errors import LeukemiaAppError

LOGGER = logging.getLogger(__name__)
PARENT_CHECK_SECONDS = 2.0
KINDS = ("progress", "done", "error")
UNEXPECTED_FAILURE = "The work failed unexpectedly; the details are in the server log."


def encode(kind: str, fraction: float = 0.0, message: str = "") -> str:
    """One protocol line (with its newline)."""
    return json.dumps({"kind": kind, "fraction": float(fraction), "message": str(message)}) + "\n"


def decode(line: str) -> dict[str, Any] | None:
    """A protocol line -> {"kind", "fraction", "message"}, or None for anything else."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    if not isinstance(message, dict) or message.get("kind") not in KINDS:
        return None
    return {"kind": message["kind"], "fraction": float(message.get("fraction", 0.0)), "message": str(message.get("message", ""))}


def run(target: str, arguments: list[str], protocol) -> int:
    """Call `target` ("module:function") on `arguments` as paths, reporting on `protocol`; 0 on success."""
    module_name, _, function_name = target.partition(":")

    def report(fraction: float, message: str) -> None:
        protocol.write(encode("progress", fraction, message))
        protocol.flush()

    try:
        function = getattr(importlib.import_module(module_name), function_name)
        function(*(Path(argument) for argument in arguments), progress=report)
    except LeukemiaAppError as error:
        protocol.write(encode("error", message=str(error)))
        return 1
    except BaseException:  # The traceback goes to standard error (the server log).
        LOGGER.exception("%s failed", target)
        protocol.write(encode("error", message=UNEXPECTED_FAILURE))
        return 1
    finally:
        protocol.flush()
    protocol.write(encode("done", 1.0))
    protocol.flush()
    return 0


def exit_with_parent() -> None:
    """End this process when the one that started it goes away (the parent process id changes)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def main(argv: list[str]) -> int:
    if len(argv) < 1 or ":" not in argv[0]:
        print("usage: python -m core.worker MODULE:FUNCTION [PATH...]", file=sys.stderr)
        return 2
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # From here on, anything printed lands in standard error, not in the protocol.
    exit_with_parent()
    return run(argv[0], argv[1:], protocol)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
