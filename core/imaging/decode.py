"""Turn untrusted image bytes or files into RGB arrays, or refuse them with a readable reason.

Checks run cheapest first, and nothing is decoded before the header has been checked:
file size, format (by content, never by file name), pixel count and side length, then a
full decode, EXIF orientation and conversion to 8-bit RGB (through the process's one `gate.DECODE_GATE`, which
bounds the pixels all threads decode at once). Every failure is an
`ImageLoadError` whose message says what was wrong and what to do.
"""
from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps

from core import config
from core.errors import ImageLoadError
from core.imaging import gate
from core.imaging.pixels import refusal, to_rgb_array

# Some cameras write MPO (multi-picture JPEG); its first picture is an ordinary JPEG.
_FORMAT_ALIASES = {"MPO": "JPEG"}
_BYTES_PER_MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class DecodedImage:
    """A decoded image: `image_rgb` is (height, width, 3) uint8 in RGB order, C-contiguous.

    `shown_size` is the file's (width, height) as shown (EXIF orientation applied), before
    `downscaled` shrank it: boxes found in `image_rgb` are reported in those pixels.
    """

    image_rgb: np.ndarray
    format: str
    warnings: tuple[str, ...] = ()
    shown_size: tuple[int, int] | None = None

    @property
    def original_size(self) -> tuple[int, int]:
        """(width, height) of the photo as shown, before any downscaling (the decoded size when unknown)."""
        if self.shown_size is not None:
            return self.shown_size
        return self.image_rgb.shape[1], self.image_rgb.shape[0]


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
        raise refusal(f"{label} is not in an accepted format. {_formats_advice()}") from error
    except Exception as error:  # Untrusted input can make Pillow raise almost anything.
        message = f"{label} could not be read and may be damaged. {_formats_advice()}"
        raise refusal(message) from error


def _decode(pil_image: Image.Image, label: str) -> DecodedImage:
    """Check an opened (not yet decoded) image's header, then decode it into an RGB array."""
    format_name = _FORMAT_ALIASES.get(pil_image.format, pil_image.format)
    if format_name not in config.ACCEPTED_FORMATS:
        raise refusal(f"{label} is a {format_name} file. {_formats_advice()}")
    _check_dimensions(pil_image.width, pil_image.height, label)
    warnings = _page_warnings(pil_image, format_name)
    try:
        with gate.DECODE_GATE.holding(pil_image.width * pil_image.height, config.DECODE_WAIT_S):
            _load_pixels(pil_image, format_name, label)
            warnings += _apply_orientation(pil_image)
            shown_size = (int(pil_image.width), int(pil_image.height))
            image_rgb, note = downscaled(to_rgb_array(pil_image, label), label)
    except gate.TurnTimeout as error:
        raise refusal(
            f"The server is busy decoding other large images, and {label} waited {config.DECODE_WAIT_S:.0f} s for "
            "its turn. Try again in a minute, or upload a crop around the cell."
        ) from error
    return DecodedImage(image_rgb, format_name, tuple(warnings + note), shown_size)


def _load_pixels(pil_image: Image.Image, format_name: str, label: str) -> None:
    """Decode every pixel now, so that truncation is an error here."""
    try:
        pil_image.load()
    except Exception as error:
        raise refusal(
            f"{label} looks like a {format_name} file but is truncated or damaged. "
            "Copy or export the original file again and retry."
        ) from error


def downscaled(image_rgb: np.ndarray, label: str) -> tuple[np.ndarray, list[str]]:
    """(H, W, 3) uint8 RGB shrunk so that its longer side is at most `config.MAX_DECODED_SIDE`, with a note.

    Done right after decoding, before anything caches the image: a small file can decode to a
    36 MP picture (about 100 MB), and one cell needs far fewer pixels. Area averaging keeps detail.
    """
    height, width = image_rgb.shape[:2]
    scale = config.MAX_DECODED_SIDE / max(height, width)
    if scale >= 1.0:
        return image_rgb, []
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # cv2 wants (width, height).
    small = np.ascontiguousarray(cv2.resize(image_rgb, size, interpolation=cv2.INTER_AREA))
    return small, [f"{label} is {width} x {height} pixels; it was downscaled to {size[0]} x {size[1]} for analysis."]


def _label(source: object, name: str | None) -> str:
    """The way messages refer to the file: its quoted name, or "the uploaded file"."""
    if name is not None:
        return f"'{name}'"
    if isinstance(source, (str, os.PathLike)):
        return f"'{Path(os.fsdecode(source)).name}'"
    return "the uploaded file"


def _too_many_pixels(subject: str) -> ImageLoadError:
    """The refusal for an image over `config.MAX_PIXELS`; `subject` names the file."""
    return refusal(
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
        raise refusal(f"{label} is a {type(source).__name__}; pass the file's bytes or path.")
    _check_file_size(len(data), label)
    return data


def _read_path(path: Path, label: str) -> bytes:
    """Read at most one byte more than the size limit, so a huge file is never read whole."""
    try:
        if not path.exists():
            raise refusal(f"{label} was not found at {path}. Check the path and try again.")
        if not path.is_file():
            raise refusal(f"{label} at {path} is not a file. Choose an image file instead.")
        _check_file_size(path.stat().st_size, label)
        with path.open("rb") as file:
            return file.read(config.MAX_FILE_BYTES + 1)
    except OSError as error:
        reason = error.strerror or "it could not be opened"
        raise refusal(f"{label} could not be read ({reason}). Check its permissions.") from error


def _check_file_size(size_bytes: int, label: str) -> None:
    """Refuse an empty file, or one over `config.MAX_FILE_BYTES`."""
    if size_bytes == 0:
        raise refusal(f"{label} is empty (0 bytes). Save or copy it again, then retry.")
    if size_bytes > config.MAX_FILE_BYTES:
        raise refusal(
            f"{label} is {size_bytes / _BYTES_PER_MEGABYTE:.1f} MB; the largest accepted file is "
            f"{config.MAX_FILE_BYTES / _BYTES_PER_MEGABYTE:.0f} MB. Upload a crop around the cell."
        )


def _check_dimensions(width: int, height: int, label: str) -> None:
    """Refuse sizes over `config.MAX_PIXELS` in all or under `config.MIN_SIDE_PIXELS` a side."""
    if width * height > config.MAX_PIXELS:
        raise _too_many_pixels(f"{label} ({width} x {height} pixels)")
    if min(width, height) < config.MIN_SIDE_PIXELS:
        raise refusal(
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
