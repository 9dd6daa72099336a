"""`python -m core.serve`: start the inference service, the model behind Ray Serve, on loopback by default.

Every problem it can see before starting is one line and exit status 2 (no model file, the port in use,
Ray not installed); a replica that cannot load the model is one line and exit status 1. Point the app at
it with `LEUKEMIA_INFERENCE_URL=http://HOST:PORT` (`core.model.remote`).

>>> main(["--model", "models/leukemia_resnet50.keras", "--replicas", "2"])  # doctest: +SKIP
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

from core import config
from core.errors import ModelError
from core.model.sidecar_schema import check_archive, read_sidecar_file

RAY_MISSING = "Ray is not installed: python3 -m pip install -r requirements-ray.txt"
APPLICATION_NAME = "leukemia"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m core.serve", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=config.default_model_path(),
                        help="the .keras model to serve, with its sidecar and index beside it (default: %(default)s)")
    parser.add_argument("--replicas", type=int, default=1, help="copies of the model, each in its own process (default: 1)")
    parser.add_argument("--host", default="127.0.0.1", help="address the HTTP endpoint listens on (default: loopback)")
    parser.add_argument("--port", type=int, default=config.SERVE_PORT, help="its port (default: %(default)s)")
    parser.add_argument("--ray-address", default=None,
                        help="a running Ray cluster to join (e.g. `auto` or `HEAD:6379`); default: a Ray instance of its own on this machine")
    parser.add_argument("--cpus-per-replica", type=float, default=1.0,
                        help="CPUs Ray reserves for each replica (default: 1; TensorFlow uses what the node has)")
    args = parser.parse_args(argv)
    if args.replicas < 1 or args.cpus_per_replica <= 0:
        parser.error("--replicas must be 1 or more and --cpus-per-replica above 0.")
    return args


def preflight(model_path: Path, host: str, port: int) -> str | None:
    """Why the service cannot start, in one line (no model file, the port taken), or None."""
    if not model_path.is_file():
        return (f"No model file at {model_path}. Build the demo model with `python train.py --demo`, "
                "or pass --model PATH.")
    if model_path.suffix != ".keras":
        return f"{model_path.name} is not a .keras model file: pass the model itself with --model."
    try:  # What can be refused without Keras, refused before Ray starts: the archive and the sidecar.
        check_archive(model_path)
        if config.sidecar_path(model_path).is_file():
            read_sidecar_file(config.sidecar_path(model_path))
    except ModelError as error:
        return str(error)
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            return f"Cannot listen on {host}:{port} ({error.strerror}): the port is in use or the address is not this machine's; pass --port."
    return None


def serve_model(model_path: Path, replicas: int, host: str, port: int, cpus_per_replica: float = 1.0) -> str:
    """Start Serve's HTTP proxy on `host:port` (on the head node) and the application; Ray must be initialised.

    Returns:
        The service's URL, for `LEUKEMIA_INFERENCE_URL`.
    """
    from ray import serve

    from core.serve.deployment import service_app

    serve.start(proxy_location="HeadOnly", http_options={"host": host, "port": port})
    serve.run(service_app(str(Path(model_path).resolve()), replicas, cpus_per_replica), name=APPLICATION_NAME,
              route_prefix="/")
    return f"http://{host}:{port}"


def worker_environment() -> dict:
    """Ray's runtime environment for the replicas: this checkout importable on every node (it must be at the same path)."""
    paths = [str(config.PROJECT_ROOT), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    return {"env_vars": {"PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}}


def main(argv: list[str] | None = None) -> int:
    """Start Ray (or join `--ray-address`), serve the model until Ctrl-C or SIGTERM, then shut both down."""
    args = parse_args(argv)
    problem = preflight(args.model.expanduser(), args.host, args.port)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    try:
        import ray
        from ray import serve
    except ImportError:
        print(RAY_MISSING, file=sys.stderr)
        return 2
    # Without --ray-address, a Ray instance of its own ("local"), never another user's `ray start` on this machine.
    ray.init(address=args.ray_address or "local", runtime_env=worker_environment(), logging_level=logging.WARNING)
    try:
        url = serve_model(args.model.expanduser(), args.replicas, args.host, args.port, args.cpus_per_replica)
    except Exception as error:  # Serve wraps a replica's failure (an unreadable model, say) in its own types.
        print(f"The service did not start: {first_line(error)} (the replica's reason is in Ray's log above).", file=sys.stderr)
        serve.shutdown()
        ray.shutdown()
        return 1
    print(f"Serving {args.model} with {args.replicas} replica(s) at {url}; start the app with "
          f"LEUKEMIA_INFERENCE_URL={url}. Ctrl-C stops.", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        serve.shutdown()
        ray.shutdown()
    return 0


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's text (at most 300 characters), or its type's name."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return (lines[0] if lines else type(error).__name__)[:300].rstrip(".")
