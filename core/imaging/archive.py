"""Read the cell images out of an uploaded zip archive, refusing anything unsafe with a readable reason.

A zip is untrusted input: its central directory can declare any sizes, names and file types.
Everything is checked from the directory before a single member is decompressed: the archive's
own size, the number of members, each member's declared size and their total, names that climb
out of the archive (`../`, absolute paths, drive letters), links, encrypted members and nested
archives. Then each image member is read with a hard cap at its declared size, so a member that
lies about its size cannot inflate past it. Members that are not images (by suffix) are skipped
and counted, as are macOS resource forks (`__MACOSX/`, `._name`). `check_person_total` bounds the
cells of one person, all files and zips together.
"""
from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import PurePosixPath

from core import config
from core.data.names import natural_sort_key
from core.errors import ArchiveError

ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".jar")
ARCHIVE_MAGIC = (b"PK\x03\x04", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")  # zip, gzip, 7z, rar: a nested archive.
_DRIVE = re.compile(r"^[A-Za-z]:")
_MEGABYTE = 1024 * 1024


@dataclass(frozen=True)
class ArchiveImages:
    """The image members of an archive, in natural name order.

    Attributes:
        images: (member path inside the archive, its bytes) for every image member.
        skipped: how many members were not images (other suffixes, folders excluded, macOS resource forks).
    """

    images: tuple[tuple[str, bytes], ...]
    skipped: int


def _refuse(archive_name: str, problem: str, advice: str) -> ArchiveError:
    return ArchiveError(f"{archive_name} was refused: {problem}. {advice}")


def _unsafe_name(name: str) -> bool:
    """True for a member path that could land outside the folder it is unpacked into."""
    path = name.replace("\\", "/")
    return path.startswith("/") or bool(_DRIVE.match(path)) or ".." in path.split("/")


def _is_link(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_image(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    resource_fork = "__MACOSX" in path.parts or path.name.startswith("._")
    return not resource_fork and path.suffix.lower() in config.ARCHIVE_IMAGE_SUFFIXES


def check_members(members: list[zipfile.ZipInfo], archive_name: str) -> list[zipfile.ZipInfo]:
    """The image members of a central directory, after refusing the whole archive if any member is unsafe.

    Raises:
        ArchiveError: too many members, a member or the total too large (as declared), an unsafe
            path, a link, an encrypted member or a nested archive.
    """
    if len(members) > config.MAX_ARCHIVE_MEMBERS:
        raise _refuse(archive_name, f"it holds {len(members):,} entries, more than {config.MAX_ARCHIVE_MEMBERS:,}",
                      "Put at most that many cells of one person in a zip.")
    total = sum(info.file_size for info in members)
    if total > config.MAX_ARCHIVE_UNCOMPRESSED_BYTES:
        raise _refuse(archive_name, f"it unpacks to {total / _MEGABYTE:,.0f} MB, more than "
                      f"{config.MAX_ARCHIVE_UNCOMPRESSED_BYTES // _MEGABYTE} MB", "Split the cells over several zips.")
    for info in members:
        _check_member(info, archive_name)
    return [info for info in members if not info.is_dir() and _is_image(info.filename)]


def _check_member(info: zipfile.ZipInfo, archive_name: str) -> None:
    """Refuse the archive for one unsafe member (see `check_members`)."""
    name = info.filename
    if _unsafe_name(name):
        raise _refuse(archive_name, f"the entry {name!r} points outside the archive (absolute path or '..')",
                      "Zip the cell images with paths inside one folder.")
    if _is_link(info):
        raise _refuse(archive_name, f"the entry {name!r} is a link", "Zip the image files themselves, not links to them.")
    if info.flag_bits & 0x1:
        raise _refuse(archive_name, f"the entry {name!r} is password-protected", "Zip the images without a password.")
    if name.lower().endswith(ARCHIVE_SUFFIXES):
        raise _refuse(archive_name, f"it holds another archive, {name!r}", "Unpack it and zip the images themselves.")
    if info.file_size > config.MAX_FILE_BYTES:
        raise _refuse(archive_name, f"the entry {name!r} unpacks to {info.file_size / _MEGABYTE:,.0f} MB, more than "
                      f"{config.MAX_FILE_BYTES // _MEGABYTE} MB for one image", "Leave that file out.")


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, archive_name: str) -> bytes:
    """A member's bytes, read no further than its declared size; a nested archive is refused by its content."""
    with archive.open(info) as member:
        data = member.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise _refuse(archive_name, f"the entry {info.filename!r} holds more than its declared size",
                      "The zip is damaged or crafted; zip the images again.")
    if data.startswith(ARCHIVE_MAGIC):
        raise _refuse(archive_name, f"the entry {info.filename!r} is itself an archive",
                      "Unpack it and zip the images themselves.")
    return data


def read_archive_images(data: bytes, archive_name: str = "the zip file") -> ArchiveImages:
    """The cell images inside a zip archive's bytes, checked as untrusted input.

    Args:
        data: the uploaded zip file's bytes.
        archive_name: the name to use in messages (the upload's file name).

    Raises:
        ArchiveError: the file is not a readable zip, or is refused (see `check_members`); the
            message says what was wrong and what to do. No other exception escapes.
    """
    if len(data) > config.MAX_FILE_BYTES:
        raise _refuse(archive_name, f"it is larger than {config.MAX_FILE_BYTES // _MEGABYTE} MB", "Split the cells over several zips.")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            images = check_members(members, archive_name)
            read = [(info.filename, _read_member(archive, info, archive_name)) for info in images]
    except ArchiveError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as error:
        raise _refuse(archive_name, f"it is not a readable zip archive ({type(error).__name__})",
                      "Create the zip again with a standard tool (deflate or no compression).") from error
    read.sort(key=lambda item: natural_sort_key(item[0]))
    skipped = sum(1 for info in members if not info.is_dir()) - len(images)
    return ArchiveImages(tuple(read), skipped)


def check_person_total(cells: int, total_bytes: int) -> None:
    """Refuse the cells given as one person when, all files and zips together, they pass the config's limits.

    >>> check_person_total(757, 757 * 608_454)  # The largest C-NMC subject, as BMP: admitted.

    Args:
        cells: how many image files, zips unpacked.
        total_bytes: their bytes together.

    Raises:
        ArchiveError: more than `config.MAX_PERSON_CELLS` cells or `config.MAX_PERSON_BYTES` bytes.
    """
    if cells > config.MAX_PERSON_CELLS:
        raise ArchiveError(f"These uploads hold {cells:,} cells, more than the {config.MAX_PERSON_CELLS:,} read for one "
                           "person. Give the cells of one person only, or fewer of them.")
    if total_bytes > config.MAX_PERSON_BYTES:
        raise ArchiveError(f"These uploads hold {total_bytes / _MEGABYTE:,.0f} MB of images, more than the "
                           f"{config.MAX_PERSON_BYTES // _MEGABYTE} MB read for one person. Give fewer cells, or save "
                           "them as PNG (lossless, and a C-NMC cell is about a fifteenth of its BMP size).")
