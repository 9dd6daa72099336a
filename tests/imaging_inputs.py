"""Builders of test inputs for the image-loading tests (imported by test_imaging*.py)."""
from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Iterable

import numpy as np
import pytest
from PIL import Image

from core import config
from core.errors import ImageLoadError
from core.imaging.decode import DecodedImage, load_image
from paths import PROJECT_ROOT

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
