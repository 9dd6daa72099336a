"""Tests for core.imaging: every input is built here with Pillow or numpy, none is committed."""
from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import time
import zlib
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, features

from core import config, imaging
from core.errors import ImageLoadError
from core.imaging import DecodedImage, load_image

PROJECT_ROOT = Path(__file__).resolve().parent.parent
REAL_CELL_PATH = PROJECT_ROOT.parent / "shared" / "data" / "cnmc_sample_cell.bmp"
LOSSLESS_FORMATS = ("BMP", "PNG", "TIFF")


# Builders of test inputs.


def encode(pil_image: Image.Image, format_name: str, **save_options: object) -> bytes:
    """The bytes of `pil_image` saved in `format_name`."""
    buffer = io.BytesIO()
    pil_image.save(buffer, format_name, **save_options)
    return buffer.getvalue()


def cell_like_rgb(height: int = 48, width: int = 64) -> np.ndarray:
    """A (height, width, 3) uint8 RGB image: a smooth purple blob on black, like a stained cell."""
    rows, columns = np.mgrid[0:height, 0:width]
    distance = np.hypot(rows - height / 2, columns - width / 2) / (min(height, width) / 2)
    intensity = np.clip(1.0 - distance, 0.0, 1.0)
    image_rgb = np.stack([180 * intensity, 60 * intensity, 200 * intensity], axis=-1)
    return np.rint(image_rgb).astype(np.uint8)


def noise_rgb(height: int = 64, width: int = 64, seed: int = 0) -> np.ndarray:
    """A (height, width, 3) uint8 RGB image of uniform noise, which compresses badly."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """One PNG chunk: length, type, payload and CRC."""
    checksum = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", checksum)


def handmade_png(
    width: int, height: int, bit_depth: int, color_type: int, rows: Iterable[bytes]
) -> bytes:
    """A PNG written chunk by chunk; `rows` are the raw scanlines, compressed as they stream in.

    This builds images Pillow cannot save (16-bit RGB) and huge but tiny files (30000 x 30000).
    """
    compressor = zlib.compressobj(9)
    pixel_data = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    chunks = png_chunk(b"IHDR", header) + png_chunk(b"IDAT", pixel_data) + png_chunk(b"IEND", b"")
    return signature + chunks


def blank_bilevel_png(width: int, height: int) -> bytes:
    """A black 1-bit PNG: even 30000 x 30000 pixels is only about 100 KB."""
    row = bytes((width + 7) // 8)
    return handmade_png(width, height, 1, 0, (row for _ in range(height)))


def refusal_message(source: object, **kwargs: object) -> str:
    """The message `load_image` refuses `source` with, checked to read as a sentence for people."""
    with pytest.raises(ImageLoadError) as caught:
        load_image(source, **kwargs)  # type: ignore[arg-type]
    message = str(caught.value)
    assert (message[0].isupper() or message.startswith("'")) and message.endswith("."), message
    for jargon in ("Errno", "Traceback", "PIL", "cannot identify"):
        assert jargon not in message
    return message


def assert_valid_output(decoded: DecodedImage) -> None:
    """The array contract every caller relies on."""
    image_rgb = decoded.image_rgb
    assert image_rgb.ndim == 3 and image_rgb.shape[2] == 3
    assert image_rgb.dtype == np.uint8
    assert image_rgb.flags.c_contiguous and image_rgb.flags.writeable
    assert decoded.format in config.ACCEPTED_FORMATS


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
    if not REAL_CELL_PATH.is_file():
        pytest.skip(f"{REAL_CELL_PATH} is not present")
    cv2 = pytest.importorskip("cv2")
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


def test_huge_file_on_disk_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    with path.open("wb") as file:
        file.truncate(2 * 1024**3)  # A sparse 2 GiB file: reading it whole would be slow.
    started = time.perf_counter()
    message = refusal_message(path)
    assert time.perf_counter() - started < 1.0
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
    assert "8000 x 5001 pixels" in message and "40 megapixels" in message


@pytest.fixture(scope="module")
def bomb_png_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 30000 x 30000 black PNG of about 100 KB: decoding it would take at least 900 MB."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.png"
    path.write_bytes(blank_bilevel_png(30000, 30000))
    return path


BOMB_PROBE = """
import json, re, sys, time
from pathlib import Path
from PIL import Image
from core.errors import ImageLoadError
from core.imaging import load_image
if sys.argv[2] == "pillow-guard-off":
    Image.MAX_IMAGE_PIXELS = None
started = time.perf_counter()
try:
    load_image(sys.argv[1])
    message = None
except ImageLoadError as error:
    message = str(error)
seconds = time.perf_counter() - started
# VmHWM is this process's peak resident memory since exec; ru_maxrss would include the parent's.
status = Path("/proc/self/status").read_text()
peak_mebibytes = int(re.search(r"VmHWM:\\s*(\\d+) kB", status).group(1)) / 1024
print(json.dumps({"message": message, "seconds": seconds, "peak_mebibytes": peak_mebibytes}))
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="peak memory needs Linux /proc")
@pytest.mark.parametrize("pillow_guard", ["pillow-guard-on", "pillow-guard-off"])
def test_decompression_bomb_is_refused_fast_and_small(
    bomb_png_path: Path, pillow_guard: str
) -> None:
    # A fresh interpreter, so that its peak memory measures this load alone.
    completed = subprocess.run(
        [sys.executable, "-c", BOMB_PROBE, str(bomb_png_path), pillow_guard],
        capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=60,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["message"] is not None and "megapixels" in result["message"]
    assert result["seconds"] < 1.0
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


# Colour modes.


def sixteen_bit_values() -> np.ndarray:
    """(32, 32) uint16 gray covering 0, exact multiples of 257, and values between them."""
    values = np.array([0, 1, 128, 129, 257, 32767, 32896, 65534, 65535], dtype=np.uint16)
    return np.resize(values, (32, 32))


def expected_from_sixteen_bit(gray: np.ndarray) -> np.ndarray:
    """What 16-bit gray must become: round(value / 257), replicated to (h, w, 3)."""
    return np.repeat(np.rint(gray / 257.0).astype(np.uint8)[..., None], 3, axis=2)


def replicate_gray(gray: np.ndarray) -> np.ndarray:
    """(h, w) uint8 gray as (h, w, 3) uint8 RGB."""
    return np.repeat(gray[..., np.newaxis], 3, axis=2)


def solid_rgb(colour: tuple[int, int, int]) -> np.ndarray:
    """A (32, 32, 3) uint8 RGB image of one colour."""
    return np.full((32, 32, 3), colour, np.uint8)


def mode_cases() -> list:
    """(image, format to save it in, expected (h, w, 3) uint8 RGB) for each supported mode."""
    size = (32, 32)
    gray16 = sixteen_bit_values()
    from_gray16 = expected_from_sixteen_bit(gray16)
    gray8 = np.resize(np.arange(256, dtype=np.uint8), (32, 32))
    unit_float = np.resize(np.linspace(0.0, 1.0, 11, dtype=np.float32), (32, 32))
    checkerboard = (np.indices((32, 32)).sum(axis=0) % 2).astype(bool)
    palette_image = Image.fromarray(checkerboard.astype(np.uint8), "P")
    palette_image.putpalette([255, 255, 255, 200, 100, 50])
    palette_image.info["transparency"] = 0  # Index 0 (white) is fully transparent.
    palette_expected = np.where(checkerboard[..., None], np.uint8([200, 100, 50]), np.uint8(0))
    cases = [
        ("L", Image.fromarray(gray8), "PNG", replicate_gray(gray8)),
        ("1", Image.fromarray(checkerboard), "BMP", replicate_gray(checkerboard * np.uint8(255))),
        ("I;16-png", Image.fromarray(gray16), "PNG", from_gray16),
        ("I;16B-tiff", Image.fromarray(gray16.astype(">u2")), "TIFF", from_gray16),
        ("I-tiff", Image.fromarray(gray16.astype(np.int32)), "TIFF", from_gray16),
        ("F-tiff", Image.fromarray(unit_float), "TIFF", replicate_gray(np.rint(unit_float * 255))),
        ("P-transparency", palette_image, "PNG", palette_expected),
        ("RGBA-half", Image.new("RGBA", size, (200, 100, 50, 128)), "PNG",
         solid_rgb((100, 50, 25))),
        ("RGBA-clear", Image.new("RGBA", size, (200, 100, 50, 0)), "TIFF", solid_rgb((0, 0, 0))),
        ("LA-opaque", Image.new("LA", size, (200, 255)), "PNG", solid_rgb((200, 200, 200))),
        ("LA-faint", Image.new("LA", size, (200, 51)), "PNG", solid_rgb((40, 40, 40))),
        ("CMYK", Image.new("CMYK", size, (0, 255, 0, 0)), "TIFF", solid_rgb((255, 0, 255))),
        ("YCbCr", Image.new("YCbCr", size, (100, 128, 128)), "TIFF", solid_rgb((100, 100, 100))),
    ]
    return [pytest.param(*case[1:], id=case[0]) for case in cases]


@pytest.mark.parametrize(("pil_image", "format_name", "expected_rgb"), mode_cases())
def test_colour_modes_become_8_bit_rgb(
    pil_image: Image.Image, format_name: str, expected_rgb: np.ndarray
) -> None:
    decoded = load_image(encode(pil_image, format_name))
    assert_valid_output(decoded)
    np.testing.assert_array_equal(decoded.image_rgb, expected_rgb.astype(np.uint8))


def test_16_bit_rgb_png_is_scaled_not_clipped() -> None:
    # Pillow keeps the high byte of 16-bit RGB: exact at multiples of 257, else within 1 of it.
    gray16 = sixteen_bit_values()
    rows = [np.repeat(gray16[row], 3).astype(">u2").tobytes() for row in range(32)]
    image_rgb = load_image(handmade_png(32, 32, 16, 2, rows)).image_rgb
    expected_rgb = expected_from_sixteen_bit(gray16)
    assert np.abs(image_rgb.astype(int) - expected_rgb).max() <= 1
    exact = np.repeat((gray16 % 257 == 0)[..., None], 3, axis=2)
    np.testing.assert_array_equal(image_rgb[exact], expected_rgb[exact])
    assert image_rgb.max() == 255


def test_cmyk_jpeg_becomes_rgb() -> None:
    decoded = load_image(encode(Image.new("CMYK", (32, 32), (0, 255, 0, 0)), "JPEG", quality=95))
    np.testing.assert_allclose(decoded.image_rgb.reshape(-1, 3).mean(axis=0), (255, 0, 255), atol=3)


@pytest.mark.parametrize(
    "gray",
    [
        np.full((32, 32), -5, np.int32),
        np.full((32, 32), 70000, np.int32),
        np.full((32, 32), 1.5, np.float32),
        np.full((32, 32), np.nan, np.float32),
    ],
    ids=["I-negative", "I-over-16-bit", "F-over-1", "F-nan"],
)
def test_values_that_cannot_be_scaled_are_refused(gray: np.ndarray) -> None:
    assert "8-bit or 16-bit" in refusal_message(encode(Image.fromarray(gray), "TIFF"))


# Orientation and pages.


def corner_marked_image(orientation: int, format_name: str) -> bytes:
    """A black 64-wide, 48-high image, red in its top-left corner, with an EXIF orientation."""
    image_rgb = np.zeros((48, 64, 3), np.uint8)
    image_rgb[:16, :16] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = {"quality": 95} if format_name == "JPEG" else {}
    return encode(Image.fromarray(image_rgb), format_name, exif=exif, **options)


@pytest.mark.parametrize("format_name", ["JPEG", "TIFF"])
@pytest.mark.parametrize(
    ("orientation", "expected_shape", "red_pixel"),
    [(1, (48, 64, 3), (4, 4)), (6, (64, 48, 3), (4, -5)), (8, (64, 48, 3), (-5, 4))],
)
def test_exif_orientation_is_applied(
    format_name: str, orientation: int, expected_shape: tuple, red_pixel: tuple
) -> None:
    # Orientation 6 is shown turned 90 degrees clockwise, 8 counter-clockwise.
    image_rgb = load_image(corner_marked_image(orientation, format_name)).image_rgb
    assert image_rgb.shape == expected_shape
    np.testing.assert_allclose(image_rgb[red_pixel], (255, 0, 0), atol=12)


def test_multi_page_tiff_uses_the_first_page_and_warns() -> None:
    colours = ((10, 20, 30), (200, 0, 0), (0, 200, 0))
    pages = [Image.new("RGB", (40, 40), colour) for colour in colours]
    decoded = load_image(encode(pages[0], "TIFF", save_all=True, append_images=pages[1:]))
    assert decoded.warnings == ("This TIFF has 3 pages; only the first is used.",)
    np.testing.assert_array_equal(decoded.image_rgb, np.full((40, 40, 3), (10, 20, 30), np.uint8))


def test_multi_picture_jpeg_is_read_as_jpeg() -> None:
    pictures = [Image.new("RGB", (40, 40), colour) for colour in ((200, 0, 0), (0, 200, 0))]
    decoded = load_image(encode(pictures[0], "MPO", save_all=True, append_images=pictures[1:]))
    assert decoded.format == "JPEG"
    assert decoded.warnings == ("This JPEG has 2 frames; only the first is used.",)
    np.testing.assert_allclose(decoded.image_rgb.reshape(-1, 3).mean(axis=0), (200, 0, 0), atol=4)


def test_damaged_orientation_tag_is_a_warning_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_exif_transpose(*args: object, **kwargs: object) -> None:
        raise SyntaxError("corrupt EXIF")

    monkeypatch.setattr(imaging.ImageOps, "exif_transpose", broken_exif_transpose)
    decoded = load_image(corner_marked_image(6, "JPEG"))
    assert decoded.image_rgb.shape == (48, 64, 3)
    assert decoded.warnings == (
        "The file's orientation tag could not be read; the image is shown as stored.",
    )
