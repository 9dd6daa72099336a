"""Image loading: colour modes, bit depths, EXIF orientation and multi-page files."""
from __future__ import annotations

import numpy as np
import pytest
from imaging_inputs import (
    assert_valid_output,
    encode,
    handmade_png,
    refusal_message,
)
from PIL import Image

from core.imaging import decode as imaging
from core.imaging.decode import load_image

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
