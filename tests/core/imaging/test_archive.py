"""Zip archives of cells are untrusted input: hostile ones are refused with a reason, good ones read in order."""
from __future__ import annotations

import io
import stat
import struct
import zipfile

import pytest

from collections import Counter
from pathlib import PurePosixPath

from core import config
from core.data.names import parse_training_name
from core.errors import ArchiveError, LeukemiaAppError
from core.imaging.archive import check_members, check_person_total, read_archive_images
from paths import FILE_LIST, SAMPLE_CELL
from requirements import require_file_list, require_sample_cell

PNG_HEADER = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # Enough to stand for an image: the archive reader never decodes.


def zip_bytes(members: list[tuple[str | zipfile.ZipInfo, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def with_declared_size(data: bytes, size: int) -> bytes:
    """The one-member zip `data` with its declared uncompressed size rewritten (local header and directory)."""
    patched = bytearray(data)
    local, central = patched.find(b"PK\x03\x04"), patched.find(b"PK\x01\x02")
    struct.pack_into("<I", patched, local + 22, size)
    struct.pack_into("<I", patched, central + 24, size)
    return bytes(patched)


def test_images_are_read_in_natural_order_and_other_members_skipped_and_counted():
    data = zip_bytes([("cells/cell_10.png", PNG_HEADER + b"10"), ("cells/cell_2.png", PNG_HEADER + b"2"),
                      ("cells/notes.txt", b"hello"), ("__MACOSX/cells/._cell_2.png", b"fork"), ("cells/CELL_3.BMP", b"BM")])
    found = read_archive_images(data, "person.zip")
    assert [name for name, _ in found.images] == ["cells/cell_2.png", "cells/CELL_3.BMP", "cells/cell_10.png"]
    assert found.images[0][1] == PNG_HEADER + b"2"
    assert found.skipped == 2


def refusal(data: bytes) -> str:
    with pytest.raises(ArchiveError) as caught:
        read_archive_images(data, "person.zip")
    assert isinstance(caught.value, LeukemiaAppError)
    message = str(caught.value)
    assert message.startswith("person.zip was refused: ") and message.endswith(".")
    return message


@pytest.mark.parametrize("name", ["../escape.png", "cells/../../escape.png", "/etc/escape.png", "C:/escape.png",
                                  "cells\\..\\escape.png"])
def test_a_path_leaving_the_archive_is_refused(name):
    assert "points outside the archive" in refusal(zip_bytes([("fine.png", PNG_HEADER), (name, PNG_HEADER)]))


def test_a_link_is_refused():
    link = zipfile.ZipInfo("cell.png")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    assert "is a link" in refusal(zip_bytes([(link, b"/etc/passwd")]))


@pytest.mark.parametrize(("name", "data"), [("inner.zip", b"anything"), ("inner.tar.gz", b"anything"),
                                            ("disguised.png", zip_bytes([("cell.png", PNG_HEADER)]))])
def test_a_nested_archive_is_refused_by_name_or_content(name, data):
    message = refusal(zip_bytes([(name, data)]))
    assert "archive" in message and "Unpack it" in message


@pytest.mark.parametrize(("declared", "said"), [(3 * 1024**3, "it unpacks to 3,072 MB, more than 512 MB"),
                                                 (100 * 1024**2, "unpacks to 100 MB, more than 20 MB for one image")])
def test_a_bomb_declaring_a_huge_member_is_refused_before_decompressing(declared, said):
    assert said in refusal(with_declared_size(zip_bytes([("cell.png", PNG_HEADER)]), declared))


def test_a_member_larger_than_it_declares_is_refused_at_its_declared_size():
    """zipfile stops at the declared size and then finds the CRC wrong; the reader's own cap is a second guard."""
    liar = with_declared_size(zip_bytes([("cell.png", PNG_HEADER + bytes(100_000))]), 1_000)
    message = refusal(liar)
    assert "more than its declared size" in message or "not a readable zip archive (BadZipFile)" in message


def test_the_total_declared_size_is_capped(monkeypatch):
    monkeypatch.setattr(config, "MAX_ARCHIVE_UNCOMPRESSED_BYTES", 3 * 1024 * 1024)
    members = [(f"cell_{number}.png", PNG_HEADER + bytes(1024 * 1024)) for number in range(4)]
    assert "unpacks to 4 MB, more than 3 MB" in refusal(zip_bytes(members))


def test_too_many_members_are_refused(monkeypatch):
    monkeypatch.setattr(config, "MAX_ARCHIVE_MEMBERS", 5)
    assert "holds 6 entries, more than 5" in refusal(zip_bytes([(f"cell_{n}.png", PNG_HEADER) for n in range(6)]))


@pytest.mark.parametrize("data", [b"", b"not a zip at all", zip_bytes([("cell.png", PNG_HEADER)])[:40]])
def test_a_file_that_is_not_a_zip_is_a_clear_refusal(data):
    assert "not a readable zip archive" in refusal(data)


def test_an_archive_without_images_reads_empty_with_its_count():
    found = read_archive_images(zip_bytes([("readme.txt", b"x"), ("data.csv", b"y")]))
    assert found.images == () and found.skipped == 2


BMP_CELL_BYTES = 54 + 450 * (450 * 3 + 2)  # A C-NMC cell: 54-byte header, 450 rows of 1,350 bytes padded to 1,352.


def training_subject_counts() -> Counter:
    """{subject: cells} of the C-NMC training folds, from the shared file list."""
    require_file_list()
    lines = FILE_LIST.read_text().splitlines()
    return Counter(parse_training_name(PurePosixPath(line).name)[0] for line in lines if "/training_data/" in line)


def test_the_limits_admit_the_largest_cnmc_subject_as_the_config_says():
    counts = training_subject_counts()
    (largest, cells), smallest = counts.most_common(1)[0], min(counts.values())
    assert (largest, cells, smallest) == ("51", 757, 9)  # The numbers core/config.py's comment gives.
    require_sample_cell()
    assert SAMPLE_CELL.stat().st_size == BMP_CELL_BYTES <= config.MAX_FILE_BYTES
    check_person_total(cells, cells * BMP_CELL_BYTES)  # As files (a folder upload): admitted.
    members = []
    for number in range(cells):
        info = zipfile.ZipInfo(f"subject51/UID_51_{number}_1_all.bmp")
        info.file_size = BMP_CELL_BYTES
        members.append(info)
    assert len(check_members(members, "subject51.zip")) == cells  # One zip's count and declared size: admitted.


@pytest.mark.parametrize("cells, total_bytes, said", [
    (config.MAX_PERSON_CELLS + 1, 1, f"{config.MAX_PERSON_CELLS + 1:,} cells, more than the {config.MAX_PERSON_CELLS:,}"),
    (2, config.MAX_PERSON_BYTES + 1, f"more than the {config.MAX_PERSON_BYTES // 2**20} MB read for one person"),
])
def test_a_person_past_the_limits_is_refused_with_the_numbers(cells, total_bytes, said):
    with pytest.raises(ArchiveError, match=said):
        check_person_total(cells, total_bytes)
    check_person_total(min(cells, config.MAX_PERSON_CELLS), min(total_bytes, config.MAX_PERSON_BYTES))  # At the limit: admitted.
