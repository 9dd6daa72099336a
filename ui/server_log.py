"""The server's own log: where core's messages go for the operator (the page shows only a summary)."""
from __future__ import annotations

import logging

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_server_log() -> None:
    """Send core's log (full Keras refusals, unexpected failures) to the server's stderr at INFO, once per process.

    The page shows a one-line summary of a refused file; the full text is for the operator.
    """
    logger = logging.getLogger("core")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
