"""Turn untrusted image bytes or files into RGB arrays, or refuse them with a readable reason.

Checks run cheapest first, and nothing is decoded before the header has been checked:
file size, format (by content, never by file name), pixel count and side length, then a
full decode, EXIF orientation and conversion to 8-bit RGB. Every failure is an
`ImageLoadError` whose message says what was wrong and what to do.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from core import config
from core.errors import ImageLoadError

# Some cameras write MPO (multi-picture JPEG); its first picture is an ordinary JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_SIXTEEN_BIT_MODES = frozenset({"I;16", "I;16L", "I;16B", "I;16N"})
_BYTES_PER_MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image: `image_rgb` is (height, width, 3) uint8 in RGB order, C-contiguous."""

    image_rgb: np.ndarray
    format: str
    warnings: tuple[str, ...] = ()


def load_image(source: bytes | str | os.PathLike, *, name: str | None = None) -> DecodedImage:
    """Decode an uploaded file's bytes, or a file on disk, into an RGB array.

    Args:
        source: the file's bytes (for example from an upload), or a path to the file.
        name: the file name used in messages; defaults to the path's name, or
            "the uploaded file" for bytes.

    Returns:
        A `DecodedImage` whose `image_rgb` is (height, width, 3) uint8, RGB order, with EXIF
        orientation applied and any transparency composited onto black.

    Raises:
        ImageLoadError: for a missing, empty, oversized, truncated, corrupt or unsupported
            file. No other exception escapes.
    """
    label = _label(source, name)
    try:
        data = _read_bytes(source, label)
        with Image.open(io.BytesIO(data), formats=list(config.ACCEPTED_FORMATS)) as pil_image:
            return _decode(pil_image, label)
    except ImageLoadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _too_many_pixels(label) from error
    except Image.UnidentifiedImageError as error:
        raise _refusal(f"{label} is not in an accepted format. {_formats_advice()}") from error
    except Exception as error:  # Untrusted input can make Pillow raise almost anything.
        message = f"{label} could not be read and may be damaged. {_formats_advice()}"
        raise _refusal(message) from error


def _decode(pil_image: Image.Image, label: str) -> DecodedImage:
    """Check an opened (not yet decoded) image's header, then decode it into an RGB array."""
    format_name = _FORMAT_ALIASES.get(pil_image.format, pil_image.format)
    if format_name not in config.ACCEPTED_FORMATS:
        raise _refusal(f"{label} is a {format_name} file. {_formats_advice()}")
    _check_dimensions(pil_image.width, pil_image.height, label)
    warnings = _page_warnings(pil_image, format_name)
    try:
        pil_image.load()  # Decode every pixel now, so that truncation is an error here.
    except Exception as error:
        raise _refusal(
            f"{label} looks like a {format_name} file but is truncated or damaged. "
            "Copy or export the original file again and retry."
        ) from error
    warnings += _apply_orientation(pil_image)
    return DecodedImage(_to_rgb_array(pil_image, label), format_name, tuple(warnings))


def _label(source: object, name: str | None) -> str:
    """The way messages refer to the file: its quoted name, or "the uploaded file"."""
    if name is not None:
        return f"'{name}'"
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(os.fsdecode(source)).name}'"
    return "the uploaded file"


def _refusal(message: str) -> ImageLoadError:
    """An `ImageLoadError` with the message's first letter capitalised."""
    return ImageLoadError(message[:1].upper() + message[1:])


def _too_many_pixels(subject: str) -> ImageLoadError:
    """The refusal for an image over `config.MAX_PIXELS`; `subject` names the file."""
    return _refusal(
        f"{subject} has more than {config.MAX_PIXELS / 1e6:g} megapixels, the largest accepted. "
        "Crop or downscale it around the cell and try again."
    )


def _formats_advice() -> str:
    """A sentence naming the accepted formats, for example "Only BMP, PNG, JPEG or TIFF ..."."""
    *first, last = config.ACCEPTED_FORMATS
    formats = f"{', '.join(first)} or {last}" if first else last
    return f"Only {formats} files are accepted: save or export the image as one and try again."


def _read_bytes(source: object, label: str) -> bytes:
    """The file's bytes, refusing empty or oversized files before reading all of a large one."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        data = _read_path(Path(os.fsdecode(source)), label)
    else:
        raise _refusal(f"{label} is a {type(source).__name__}; pass the file's bytes or path.")
    _check_file_size(len(data), label)
    return data


def _read_path(path: Path, label: str) -> bytes:
    """Read at most one byte more than the size limit, so a huge file is never read whole."""
    try:
        if not path.exists():
            raise _refusal(f"{label} was not found at {path}. Check the path and try again.")
        if not path.is_file():
            raise _refusal(f"{label} at {path} is not a file. Choose an image file instead.")
        _check_file_size(path.stat().st_size, label)
        with path.open("rb") as file:
            return file.read(config.MAX_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or "it could not be opened"
        raise _refusal(f"{label} could not be read ({reason}). Check its permissions.") from error


def _check_file_size(size_bytes: int, label: str) -> None:
    """Refuse an empty file, or one over `config.MAX_FILE_BYTES`."""
    if size_bytes == 0:
        raise _refusal(f"{label} is empty (0 bytes). Save or copy it again, then retry.")
    if size_bytes > config.MAX_FILE_BYTES:
        raise _refusal(
            f"{label} is {size_bytes / _BYTES_PER_MEGABYTE:.1f} MB; the largest accepted file is "
            f"{config.MAX_FILE_BYTES / _BYTES_PER_MEGABYTE:.0f} MB. Upload a crop around the cell."
        )


def _check_dimensions(width: int, height: int, label: str) -> None:
    """Refuse sizes over `config.MAX_PIXELS` in all or under `config.MIN_SIDE_PIXELS` a side."""
    if width * height > config.MAX_PIXELS:
        raise _too_many_pixels(f"{label} ({width} x {height} pixels)")
    if min(width, height) < config.MIN_SIDE_PIXELS:
        raise _refusal(
            f"{label} is only {width} x {height} pixels; each side must be at least "
            f"{config.MIN_SIDE_PIXELS} pixels. Upload the original image, not a thumbnail."
        )


def _page_warnings(pil_image: Image.Image, format_name: str) -> list[str]:
    """A note when a file holds several pages or frames, of which only the first is used."""
    page_count = getattr(pil_image, "n_frames", 1)
    if page_count <= 1:
        return []
    pil_image.seek(0)
    noun = "pages" if format_name == "TIFF" else "frames"
    return [f"This {format_name} has {page_count} {noun}; only the first is used."]


def _apply_orientation(pil_image: Image.Image) -> list[str]:
    """Rotate or flip the decoded image in place as its EXIF orientation tag says.

    A damaged EXIF block is not worth refusing the image for: it is used as stored, with a note.
    """
    try:
        ImageOps.exif_transpose(pil_image, in_place=True)
    except Exception:
        return ["The file's orientation tag could not be read; the image is shown as stored."]
    return []


def _to_rgb_array(pil_image: Image.Image, label: str) -> np.ndarray:
    """Convert a decoded image of any Pillow mode to a (height, width, 3) uint8 RGB array.

    Transparency is composited onto black, the background of the dataset's images. Pillow
    itself reduces 16-bit RGB files to 8 bits (keeping the high byte) when it opens them.
    """
    if pil_image.mode in _SIXTEEN_BIT_MODES or pil_image.mode in ("I", "F"):
        full_scale = 1.0 if pil_image.mode == "F" else 65535.0
        gray = _gray_to_uint8(np.asarray(pil_image), full_scale, label)
        return np.repeat(gray[..., np.newaxis], 3, axis=2)  # (h, w, 3), C-contiguous.
    try:
        if pil_image.has_transparency_data:
            return _composite_on_black(np.asarray(pil_image.convert("RGBA")))
        return np.array(pil_image.convert("RGB"), dtype=np.uint8, order="C")
    except ValueError as error:
        raise _refusal(
            f"{label} uses the '{pil_image.mode}' colour mode, which cannot be converted to RGB. "
            "Save it as an 8-bit or 16-bit RGB or grayscale image and try again."
        ) from error


def _gray_to_uint8(gray: np.ndarray, full_scale: float, label: str) -> np.ndarray:
    """Scale (height, width) gray in [0, full_scale] to uint8 as round(value * 255 / full_scale).

    16-bit gray uses 65535, that is value / 257. Pillow widens some 16-bit files to 'I'
    (int32), so 'I' is read as 16-bit too. Float ('F') images have no fixed range; [0, 1] is
    the usual convention. Values outside the range, or NaN, are refused rather than guessed
    at or stretched, either of which would silently change the contrast the model sees.
    """
    if not (np.isfinite(gray).all() and gray.min() >= 0 and gray.max() <= full_scale):
        raise _refusal(
            f"{label} stores values outside 0-{full_scale:g}, which this tool cannot scale. "
            "Export it as an 8-bit or 16-bit image and try again."
        )
    return np.rint(gray.astype(np.float32) * np.float32(255.0 / full_scale)).astype(np.uint8)


def _composite_on_black(image_rgba: np.ndarray) -> np.ndarray:
    """Composite (height, width, 4) uint8 RGBA onto black: RGB * alpha / 255, (h, w, 3) uint8."""
    rgb = image_rgba[..., :3].astype(np.uint16)
    alpha = image_rgba[..., 3:].astype(np.uint16)
    return ((rgb * alpha + 127) // 255).astype(np.uint8)

