"""Ray for `core.predict --engine ray`: imported on demand, connected to a cluster or a local instance, then let go.

`ray_session(None)` starts a local Ray instance for one run and stops it after; `ray_session("HOST:PORT")`
connects to that cluster (checked first with a plain TCP connection, so an unreachable one is one line
at once) and ships this `core` package to its nodes. Every failure here is a `RayEngineError`, whose one
line the command prints. With `core.serve`, the only place that imports Ray (`.importlinter`).
"""
from __future__ import annotations

import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from core.errors import LeukemiaAppError

RAY_INSTALL_HINT = "install it with python3 -m pip install -r requirements-ray.txt"
CONNECT_TIMEOUT_S = 5.0
OUR_ERROR_LINE = re.compile(r"^core\.errors\.\w+: (.+)$", re.MULTILINE)  # The last line of a traceback of one of ours.


class RayEngineError(LeukemiaAppError):
    """Ray is missing, its cluster cannot be reached, or the run on it stopped; the message says which."""


def import_ray() -> Any:
    """The `ray` module with Ray Data, or RayEngineError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as error:
        raise RayEngineError(f"--engine ray needs Ray, which is not installed ({error}): {RAY_INSTALL_HINT}") from None
    return ray


def check_setup(address: str | None) -> None:
    """Before the model loads: Ray importable and, when given, its cluster's address reachable (else RayEngineError)."""
    import_ray()
    if address:
        check_reachable(address)


def check_reachable(address: str) -> None:
    """Raise RayEngineError unless a `host:port` (or `ray://host:port`) address accepts a connection within seconds."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray finds the cluster itself.
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise RayEngineError(f"cannot reach the Ray cluster at {address} ({error.strerror or error}): "
                             "start it with `ray start --head` there, or check the address and port.") from None


@contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Ray connected to the cluster at `address`, or to a local instance started for the run (and stopped after)."""
    ray = import_ray()
    if address:
        check_reachable(address)
    try:
        ray.init(address=address or "local", include_dashboard=False, logging_level="WARNING",
                 runtime_env=runtime_env(shipped=bool(address)))
    except (ConnectionError, RuntimeError, ValueError) as error:
        raise RayEngineError(f"could not start Ray at {address or 'a local instance'}: {one_line(error)}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def runtime_env(shipped: bool) -> dict[str, Any]:
    """The job's environment: this project's settings (LEUKEMIA_*, TF_CPP_*) and where its workers find `core`.

    A local instance's workers import `core` from this checkout (on their PYTHONPATH, whatever the driver's
    folder); a cluster's nodes get this copy of it (`py_modules`), so that every worker runs the driver's code.
    """
    import core

    package = Path(core.__file__).resolve().parent
    env_vars = {name: value for name, value in os.environ.items() if name.startswith(("LEUKEMIA_", "TF_CPP_"))}
    if shipped:
        return {"env_vars": env_vars, "py_modules": [str(package)]}
    path = os.pathsep.join(filter(None, [str(package.parent), os.environ.get("PYTHONPATH")]))
    return {"env_vars": {**env_vars, "PYTHONPATH": path}}


def one_line(error: BaseException) -> str:
    """What stopped a run, in one line: the message of a LeukemiaAppError anywhere in the (Ray-wrapped) chain or in
    a worker's traceback, else the error's type and its message's first line."""
    chain: list[BaseException] = []
    current: object = error
    while isinstance(current, BaseException) and len(chain) < 10:
        chain.append(current)  # Ray keeps the worker's exception as .cause; Python chains as __cause__ and __context__.
        current = getattr(current, "cause", None) or current.__cause__ or current.__context__
    for link in chain:
        if isinstance(link, LeukemiaAppError) and not isinstance(getattr(link, "cause", None), BaseException):
            return (str(link).strip().splitlines() or [type(link).__name__])[0]
    for link in chain:  # A worker's exception chain is not pickled: its message survives in the remote traceback's text.
        found = OUR_ERROR_LINE.search(str(link))
        if found:
            return found.group(1)
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
