"""Tests for core.imaging.decode: every input is built here with Pillow or numpy, none is committed."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from imaging_inputs import (
    LOSSLESS_FORMATS,
    PROJECT_ROOT,
    REAL_CELL_PATH,
    assert_valid_output,
    blank_bilevel_png,
    cell_like_rgb,
    encode,
    noise_rgb,
    refusal_message,
)
from PIL import Image, features
from requirements import require, require_shared_file

from core import config
from core.errors import ImageLoadError
from core.imaging.decode import load_image

# Accepted formats and sources.


@pytest.mark.parametrize("format_name", [*LOSSLESS_FORMATS, "JPEG"])
def test_accepted_format_decodes_to_the_same_pixels(format_name: str) -> None:
    image_rgb = cell_like_rgb()
    options = {"quality": 95} if format_name == "JPEG" else {}
    decoded = load_image(encode(Image.fromarray(image_rgb), format_name, **options))
    assert_valid_output(decoded)
    assert decoded.format == format_name
    assert decoded.image_rgb.shape == image_rgb.shape
    assert decoded.warnings == ()
    difference = np.abs(decoded.image_rgb.astype(int) - image_rgb.astype(int))
    assert difference.mean() < 2.0 if format_name == "JPEG" else difference.max() == 0


@pytest.mark.parametrize(
    "wrap", [bytes, bytearray, memoryview, str, Path], ids=lambda wrap: wrap.__name__
)
def test_bytes_and_paths_give_the_same_result(tmp_path: Path, wrap: type) -> None:
    image_rgb = noise_rgb()
    data = encode(Image.fromarray(image_rgb), "PNG")
    path = tmp_path / "cell.png"
    path.write_bytes(data)
    source = wrap(path) if wrap in (str, Path) else wrap(data)
    np.testing.assert_array_equal(load_image(source).image_rgb, image_rgb)


def test_format_comes_from_content_not_file_name(tmp_path: Path) -> None:
    path = tmp_path / "really_a_png.bmp"
    path.write_bytes(encode(Image.fromarray(cell_like_rgb()), "PNG"))
    assert load_image(path).format == "PNG"


def test_real_dataset_image_matches_opencv() -> None:
    import cv2

    require_shared_file(REAL_CELL_PATH)
    decoded = load_image(REAL_CELL_PATH)
    assert_valid_output(decoded)
    assert decoded.format == "BMP"
    assert decoded.image_rgb.shape == (450, 450, 3)
    expected_rgb = cv2.cvtColor(cv2.imread(str(REAL_CELL_PATH)), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(decoded.image_rgb, expected_rgb)


# Refused formats.


def other_format_inputs() -> list:
    """Parameters (bytes, file name) for files that are not BMP, PNG, JPEG or TIFF."""
    small_image = Image.fromarray(cell_like_rgb())
    inputs = [
        pytest.param(encode(small_image, "GIF"), "cell.gif", id="gif"),
        pytest.param(encode(small_image, "PDF"), "cell.pdf", id="pdf"),
        pytest.param(encode(small_image, "EPS"), "cell.eps", id="eps"),
        pytest.param(encode(small_image, "PPM"), "cell.ppm", id="ppm"),
        pytest.param(encode(small_image, "ICO"), "cell.ico", id="ico"),
        pytest.param(b'<svg xmlns="http://www.w3.org/2000/svg"/>', "cell.svg", id="svg"),
        pytest.param(b"A text file, not a picture.\n" * 20, "cell.png", id="text-named-png"),
        pytest.param(np.random.default_rng(1).bytes(4096), "cell.jpg", id="random-bytes"),
        pytest.param(b"\x89PNG\r\n\x1a\n" + bytes(12), "cell.png", id="png-signature-only"),
    ]
    if features.check("webp"):
        inputs.append(pytest.param(encode(small_image, "WEBP"), "cell.webp", id="webp"))
    return inputs


@pytest.mark.parametrize(("data", "file_name"), other_format_inputs())
def test_other_formats_are_refused_naming_the_accepted_ones(data: bytes, file_name: str) -> None:
    message = refusal_message(data, name=file_name)
    assert "BMP, PNG, JPEG or TIFF" in message
    assert f"'{file_name}'" in message


def test_pillow_never_tries_the_eps_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    Image.init()
    attempts: list[str] = []

    def spy_factory(*args: object) -> None:
        attempts.append("EPS")
        raise SyntaxError("not reached")

    monkeypatch.setitem(Image.OPEN, "EPS", (spy_factory, lambda prefix: True))
    refusal_message(encode(Image.fromarray(cell_like_rgb()), "EPS"))
    assert attempts == []


# Size limits.


def test_huge_file_on_disk_is_refused_without_reading_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.truncate(2 * 1024**3)  # A sparse 2 GiB file: reading it whole would be slow.
    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *args, **kwargs: opened.append(self) or real_open(self, *args, **kwargs))
    message = refusal_message(path)
    assert opened == []  # refused from its size on disk, before any byte was read
    assert "2048.0 MB" in message and "20 MB" in message


def test_bytes_over_the_file_size_limit_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(Image.fromarray(noise_rgb()), "PNG")
    monkeypatch.setattr(config, "MAX_FILE_BYTES", len(data) - 1)
    assert "largest accepted file" in refusal_message(data)
    monkeypatch.setattr(config, "MAX_FILE_BYTES", len(data))
    assert load_image(data).image_rgb.shape == (64, 64, 3)


@pytest.mark.parametrize(
    ("width", "height", "accepted"), [(64, 64, True), (65, 64, False), (64, 65, False)]
)
def test_pixel_count_limit_is_exact(
    monkeypatch: pytest.MonkeyPatch, width: int, height: int, accepted: bool
) -> None:
    monkeypatch.setattr(config, "MAX_PIXELS", 64 * 64)
    data = encode(Image.new("RGB", (width, height)), "PNG")
    if accepted:
        assert load_image(data).image_rgb.shape == (height, width, 3)
    else:
        assert f"{width} x {height} pixels" in refusal_message(data)


def test_header_over_the_pixel_limit_is_refused_by_this_module() -> None:
    # 8000 x 5001 is over config.MAX_PIXELS but under Pillow's own bomb limit.
    message = refusal_message(blank_bilevel_png(8000, 5001))
    assert "8000 x 5001 pixels" in message and f"{config.MAX_PIXELS / 1e6:g} megapixels" in message


def test_a_large_image_is_downscaled_right_after_decoding() -> None:
    decoded = load_image(blank_bilevel_png(6000, 3000), name="wide.png")
    assert decoded.image_rgb.shape == (1024, 2048, 3) and decoded.image_rgb.flags["C_CONTIGUOUS"]
    assert decoded.warnings[-1] == "'wide.png' is 6000 x 3000 pixels; it was downscaled to 2048 x 1024 for analysis."
    assert load_image(blank_bilevel_png(2048, 600)).image_rgb.shape == (600, 2048, 3)  # At the limit: kept.


@pytest.fixture(scope="module")
def bomb_png_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30000 x 30000 black PNG of about 100 KB: decoding it would take at least 900 MB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(blank_bilevel_png(30000, 30000))
    return path


BOMB_PROBE = """
import json, re, sys
from pathlib import Path
from PIL import Image
from core.errors import ImageLoadError
from core.imaging.decode import load_image
if sys.argv[2] == "pillow-guard-off":
    Image.MAX_IMAGE_PIXELS = None
try:
    load_image(sys.argv[1])
    message = None
except ImageLoadError as error:
    message = str(error)
# VmHWM is this process's peak resident memory since exec; ru_maxrss would include the parent's.
status = Path("/proc/self/status").read_text()
peak_mebibytes = int(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1)) / 1024
print(json.dumps({"message": message, "peak_mebibytes": peak_mebibytes}))
"""


@pytest.mark.parametrize("pillow_guard", ["pillow-guard-on", "pillow-guard-off"])
def test_decompression_bomb_is_refused_small(
    bomb_png_path: Path, pillow_guard: str
) -> None:
    require(Path("/proc/self/status").exists(), "peak memory is read from /proc/self/status: run on Linux")
    # A fresh interpreter, so that its peak memory measures this load alone.
    completed = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, str(bomb_png_path), pillow_guard],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["message"] is not None and "megapixels" in result["message"]
    assert result["peak_mebibytes"] < 300, "the image was decoded before its size was checked"


@pytest.mark.parametrize(("width", "height"), [(31, 100), (100, 31), (1, 1)])
def test_images_below_the_minimum_side_are_refused(width: int, height: int) -> None:
    message = refusal_message(encode(Image.new("RGB", (width, height)), "PNG"))
    assert f"{width} x {height} pixels" in message and "at least 32 pixels" in message


def test_image_at_the_minimum_side_is_accepted() -> None:
    assert load_image(encode(Image.new("RGB", (32, 32)), "BMP")).image_rgb.shape == (32, 32, 3)


# Missing, empty, truncated and corrupt files.


@pytest.mark.parametrize("format_name", [*LOSSLESS_FORMATS, "JPEG"])
def test_file_cut_in_half_is_refused_as_truncated(format_name: str) -> None:
    data = encode(Image.fromarray(noise_rgb()), format_name)
    message = refusal_message(data[: len(data) // 2])
    assert "truncated or damaged" in message and format_name in message


def bmp_with_garbage_pixels() -> bytes:
    """An 8-bit BMP whose header says RLE8 compression, followed by random bytes."""
    data = bytearray(encode(Image.fromarray(noise_rgb()[..., 0]), "BMP"))
    pixel_offset = struct.unpack_from("<I", data, 10)[0]
    struct.pack_into("<I", data, 30, 1)  # Compression: BI_RLE8.
    data[pixel_offset:] = np.random.default_rng(2).bytes(len(data) - pixel_offset)
    return bytes(data)


def png_with_bad_checksum() -> bytes:
    """A PNG whose pixel data has one byte flipped, so its CRC no longer matches."""
    data = bytearray(encode(Image.fromarray(noise_rgb()), "PNG"))
    data[data.index(b"IDAT") + 40] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    "data", [bmp_with_garbage_pixels(), png_with_bad_checksum()], ids=["bmp-rle", "png-crc"]
)
def test_corrupt_pixel_data_is_refused(data: bytes) -> None:
    assert "truncated or damaged" in refusal_message(data)


@pytest.mark.parametrize("wrap", [bytes, Path], ids=["bytes", "path"])
def test_empty_file_is_refused(tmp_path: Path, wrap: type) -> None:
    path = tmp_path / "empty.bmp"
    path.write_bytes(b"")
    assert "empty (0 bytes)" in refusal_message(path if wrap is Path else b"")


def test_missing_path_is_refused(tmp_path: Path) -> None:
    message = refusal_message(tmp_path / "no_such_cell.bmp")
    assert "'no_such_cell.bmp' was not found" in message


def test_folder_instead_of_file_is_refused(tmp_path: Path) -> None:
    assert "is not a file" in refusal_message(tmp_path)


def test_source_of_the_wrong_type_is_refused() -> None:
    assert "pass the file's bytes or path" in refusal_message(12345)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [({}, "The uploaded file"), ({"name": "patient_7.png"}, "'patient_7.png'")],
    ids=["default", "explicit"],
)
def test_messages_name_the_file(kwargs: dict, expected: str) -> None:
    assert refusal_message(b"not an image", **kwargs).startswith(expected)


@pytest.mark.filterwarnings("ignore::UserWarning")  # Pillow warns about damaged TIFF tags.
@pytest.mark.parametrize("format_name", [*LOSSLESS_FORMATS, "JPEG"])
def test_damaged_files_raise_only_image_load_error(format_name: str) -> None:
    rng = np.random.default_rng(3)
    data = encode(Image.fromarray(cell_like_rgb()), format_name)
    for _ in range(60):
        damaged = bytearray(data)
        for position in rng.integers(0, len(data), size=rng.integers(1, 8)):
            damaged[position] = rng.integers(0, 256)
        try:
            assert_valid_output(load_image(bytes(damaged[: rng.integers(1, len(data) + 1)])))
        except ImageLoadError:
            pass
