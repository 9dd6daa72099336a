"""What a test needs from outside the repository, and what happens when it is missing.

Outside CI a test whose browser, driver or shared data file is missing is skipped with its
reason. Under CI (the environment variable `CI` set to anything non-empty) the same test
fails with that reason instead: a skipped test is a test that did not run.
"""
from __future__ import annotations

import os

import pytest

from paths import BCCD, FILE_LIST, SAMPLE_CELL, SHARED_DATA

SHARED_DATA_HINT = (
    f"it is part of the shared reference data, expected at {SHARED_DATA} beside the checkout "
    "(cnmc_file_list.txt, cnmc_sample_cell.bmp, real_cells/, bccd/; see that folder's README.md): put the folder there"
)
CHROMIUM_HINT = "install Debian's browser: sudo apt-get install -y chromium"
RAY_HINT = "install Ray: python3 -m pip install -r requirements-ray.txt (requirements-dev.txt includes it)"
PLAYWRIGHT_HINT = "install the driver: python3 -m pip install -r requirements-dev.txt (never `playwright install`)"


def under_ci() -> bool:
    """True when the environment variable CI is set and non-empty."""
    return bool(os.environ.get("CI"))


def missing(reason: str) -> None:
    """Fail under CI, skip otherwise; `reason` says what is missing and how to get it."""
    if under_ci():
        pytest.fail(f"CI requires it: {reason}", pytrace=False)
    pytest.skip(reason)


def require(condition: bool, reason: str) -> None:
    """Carry on when `condition` holds; otherwise fail under CI and skip elsewhere, with `reason`."""
    if not condition:
        missing(reason)


def require_shared_file(path) -> None:
    """Require one file of the shared reference data (`paths.SHARED_DATA`)."""
    require(path.is_file(), f"{path} is missing: {SHARED_DATA_HINT}")


def require_file_list() -> None:
    require_shared_file(FILE_LIST)


def require_sample_cell() -> None:
    require_shared_file(SAMPLE_CELL)


def require_bccd_field(stem: str) -> None:
    """Require one BCCD field and its annotation (`paths.BCCD`, e.g. stem "BloodImage_00000")."""
    require_shared_file(BCCD / "JPEGImages" / f"{stem}.jpg")
    require_shared_file(BCCD / "Annotations" / f"{stem}.xml")


def require_ray() -> None:
    """Require Ray (Data and Serve); fails under CI, skips elsewhere, when `requirements-ray.txt` is not installed."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
        import ray.serve  # noqa: F401
    except ImportError as error:
        missing(f"Ray is not importable ({error}): {RAY_HINT}")
