"""Open untrusted zip archives (OFD files, batch-download bundles) from bytes, within fixed limits.

Contract:
* ``SafeZip(data, what, limits)`` (or ``open_zip``) checks the archive before anything is decompressed: the member
  count from the end-of-central-directory record (before ``zipfile`` parses the directory), the member names, and
  the sizes and compression ratios the headers declare. ``read(name)`` then decompresses one member in 64 KiB
  chunks and counts the bytes it really gets, so a header that lies cannot make it read past the limits. Every
  byte read counts against one budget per archive, shared with the archives nested in it (``iter_bundle``).
* Limits (``ZipLimits``): members, total uncompressed bytes, bytes per member, compression ratio (judged only for
  members larger than ``ratio_floor_bytes``: small, very repetitive XML is normal), nesting depth.
* Refused: member names that are absolute (``/x``, ``C:x``, ``\\\\host``), contain a ``..`` component or a NUL,
  or occur twice; encrypted members and compression methods other than stored/deflate when they are read (the
  stdlib's bzip2/lzma readers do not bound their output).
* Errors are ``pipeline.errors`` with a message for the user: ``DocumentTooLarge`` for the limits
  (``"the OFD file expands to more than 100 MB: refused as a possible zip bomb"``), ``CorruptDocument`` for damaged
  archives and unsafe names, ``UnsupportedDocument`` for encryption and unsupported compression methods.
* ``iter_bundle(data)`` yields ``(path, bytes)`` for every file of a bundle, descending into nested zips (not into
  OFD files, which are yielded whole) up to ``max_depth`` levels; macOS junk (``__MACOSX/``, ``._*``,
  ``.DS_Store``) is skipped. Nested paths are joined with ``/`` (``batch.zip/inner.zip/a.pdf``).
Nothing is ever written to disk.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from pipeline.errors import CorruptDocument, DocumentTooLarge, UnsupportedDocument

MB = 1024 * 1024
CHUNK = 64 * 1024
_EOCD = b"PK\x05\x06"
_EOCD64_LOCATOR = b"PK\x06\x07"
_EOCD64 = b"PK\x06\x06"
_MAX_COMMENT = 0xFFFF
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_METHOD_NAMES = {zipfile.ZIP_BZIP2: "bzip2", zipfile.ZIP_LZMA: "lzma", 9: "deflate64"}
_DRIVE = re.compile(r"^[A-Za-z]:")
_JUNK = re.compile(r"(^|/)(__MACOSX/|\._[^/]*$|\.DS_Store$|Thumbs\.db$)")
_ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class ZipLimits:
    max_members: int = 2000
    max_total_bytes: int = 100 * MB
    max_member_bytes: int = 50 * MB
    max_ratio: int = 200
    ratio_floor_bytes: int = 1 * MB
    max_depth: int = 3


DEFAULT_LIMITS = ZipLimits()


class _Budget:
    """Bytes and members left for one archive and everything nested in it."""

    def __init__(self, limits: ZipLimits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.bytes_left = limits.max_total_bytes
        self.members_left = limits.max_members

    def too_large(self) -> DocumentTooLarge:
        return DocumentTooLarge(f"the {self.what} expands to more than {_size(self.limits.max_total_bytes)}: "
                                "refused as a possible zip bomb")

    def too_many(self, count: int | None = None) -> DocumentTooLarge:
        holds = f"holds {count:,} files" if count is not None else "holds too many files"
        return DocumentTooLarge(f"the {self.what} {holds}, more than the {self.limits.max_members:,} allowed: "
                                "refused as a possible zip bomb")


class SafeZip:
    """A zip archive opened from bytes with its directory checked; members are read with ``read``."""

    def __init__(self, data: bytes, what: str = "zip file", limits: ZipLimits = DEFAULT_LIMITS,
                 _budget: _Budget | None = None) -> None:
        self.what = what
        self.limits = limits
        self._budget = _budget or _Budget(limits, what)
        count = _declared_member_count(data, what)
        if count > self._budget.members_left:
            raise self._budget.too_many(count)
        try:
            self._zf = zipfile.ZipFile(io.BytesIO(data))
            infos = self._zf.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, struct.error,
                NotImplementedError) as exc:
            raise CorruptDocument(f"the {what} is damaged or incomplete ({exc})") from None
        if len(infos) > self._budget.members_left:
            raise self._budget.too_many(len(infos))
        self._budget.members_left -= len(infos)
        self._infos: dict[str, zipfile.ZipInfo] = {}
        self._folded: dict[str, str] = {}
        declared = 0
        for info in infos:
            self._check_name(info.orig_filename)  # zipfile cuts ``filename`` at a NUL; the original keeps it
            if info.filename in self._infos:
                raise CorruptDocument(f"the {what} contains the member {info.filename!r} twice: refused")
            self._infos[info.filename] = info
            self._folded.setdefault(info.filename.lower(), info.filename)
            self._check_declared_size(info)
            declared += info.file_size
        if declared > self._budget.bytes_left:
            raise self._budget.too_large()

    # ------------------------------------------------------------ directory

    @property
    def names(self) -> list[str]:
        """Member names in archive order, directories included (they end with ``/``)."""
        return list(self._infos)

    def file_names(self) -> list[str]:
        return [n for n, info in self._infos.items() if not info.is_dir()]

    def find(self, name: str) -> str | None:
        """The member called ``name`` (exact, else ignoring case), or ``None``."""
        if name in self._infos:
            return name
        return self._folded.get(name.lower())

    def size_of(self, name: str) -> int:
        return self._infos[name].file_size

    # ------------------------------------------------------------ reading

    def read(self, name: str) -> bytes:
        """Decompress one member, counting the bytes really produced against the limits."""
        info = self._infos.get(name)
        if info is None:
            raise CorruptDocument(f"the {self.what} has no member {name!r}")
        if info.flag_bits & 0x1:
            raise UnsupportedDocument(f"the {self.what} is password-protected; upload it without a password")
        if info.compress_type not in _READABLE_METHODS:
            method = _METHOD_NAMES.get(info.compress_type, f"method {info.compress_type}")
            raise UnsupportedDocument(f"the {self.what} uses {method} compression for {name!r}, which is not "
                                      "supported; re-create it with ordinary (deflate) compression")
        member_limit = min(self.limits.max_member_bytes, self._budget.bytes_left)
        chunks: list[bytes] = []
        produced = 0
        try:
            with self._zf.open(info) as stream:
                while True:
                    chunk = stream.read(CHUNK)
                    if not chunk:
                        break
                    produced += len(chunk)
                    if produced > member_limit:
                        raise self._over_limit(name)
                    if produced > self.limits.ratio_floor_bytes and produced > self.limits.max_ratio * max(
                            info.compress_size, 1):
                        raise self._ratio_error(name, produced, info.compress_size)
                    chunks.append(chunk)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, struct.error) as exc:
            raise CorruptDocument(f"the {self.what} is damaged: {name!r} cannot be read ({exc})") from None
        self._budget.bytes_left -= produced
        return b"".join(chunks)

    def close(self) -> None:
        self._zf.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ checks

    def _check_name(self, name: str) -> None:
        posix = name.replace("\\", "/")
        if ("\x00" in name or posix.startswith("/") or _DRIVE.match(posix)
                or any(part == ".." for part in posix.split("/"))):
            raise CorruptDocument(f"the {self.what} contains an unsafe member name {name!r} "
                                  "(absolute path or '..'): refused")

    def _check_declared_size(self, info: zipfile.ZipInfo) -> None:
        if info.file_size > self.limits.max_member_bytes:
            raise DocumentTooLarge(f"the {self.what} member {info.filename!r} expands to "
                                   f"{_size(info.file_size)}, more than {_size(self.limits.max_member_bytes)}: "
                                   "refused as a possible zip bomb")
        if (info.file_size > self.limits.ratio_floor_bytes
                and info.file_size > self.limits.max_ratio * max(info.compress_size, 1)):
            raise self._ratio_error(info.filename, info.file_size, info.compress_size)

    def _over_limit(self, name: str) -> DocumentTooLarge:
        if self._budget.bytes_left < self.limits.max_member_bytes:
            return self._budget.too_large()
        return DocumentTooLarge(f"the {self.what} member {name!r} expands to more than "
                                f"{_size(self.limits.max_member_bytes)}: refused as a possible zip bomb")

    def _ratio_error(self, name: str, produced: int, compressed: int) -> DocumentTooLarge:
        ratio = produced // max(compressed, 1)
        return DocumentTooLarge(f"the {self.what} member {name!r} expands {ratio:,} times (more than "
                                f"{self.limits.max_ratio}:1): refused as a possible zip bomb")


def open_zip(data: bytes, what: str = "zip file", limits: ZipLimits = DEFAULT_LIMITS) -> SafeZip:
    return SafeZip(data, what, limits)


def is_zip(data: bytes) -> bool:
    return data[:4] == _ZIP_MAGIC


def iter_bundle(data: bytes, what: str = "zip file", limits: ZipLimits = DEFAULT_LIMITS
                ) -> Iterator[tuple[str, bytes]]:
    """Every file of a (possibly nested) zip bundle as ``(path, bytes)``; OFD files are yielded whole."""
    budget = _Budget(limits, what)
    yield from _walk(data, "", 1, limits, budget)


def _walk(data: bytes, prefix: str, depth: int, limits: ZipLimits, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    with SafeZip(data, budget.what, limits, _budget=budget) as archive:
        for name in archive.file_names():
            if _JUNK.search(name):
                continue
            content = archive.read(name)
            path = prefix + name
            if is_zip(content) and not _has_ofd_root(content, limits):
                if depth >= limits.max_depth:
                    raise CorruptDocument(f"the {budget.what} nests zip files more than {limits.max_depth} "
                                          f"levels deep ({path!r}): refused")
                yield from _walk(content, path + "/", depth + 1, limits, budget)
            else:
                yield path, content


def _has_ofd_root(data: bytes, limits: ZipLimits) -> bool:
    """Whether a nested zip is an OFD document (``OFD.xml`` at its root), judged from its directory only."""
    try:
        with SafeZip(data, "nested zip file", limits) as archive:
            return archive.find("OFD.xml") is not None
    except (CorruptDocument, DocumentTooLarge):
        return False  # not an OFD: the recursive walk reports the real problem with the bundle's budget


def _declared_member_count(data: bytes, what: str) -> int:
    """Entries in the central directory per the end record (zip64 aware), read before ``zipfile`` parses it."""
    tail_start = max(0, len(data) - (22 + _MAX_COMMENT))
    pos = data.rfind(_EOCD, tail_start)
    if pos < 0 or len(data) - pos < 22:
        raise CorruptDocument(f"the {what} is damaged or incomplete: its zip directory is missing")
    count = struct.unpack_from("<H", data, pos + 10)[0]
    if count != 0xFFFF:
        return count
    loc = pos - 20
    if loc < 0 or data[loc:loc + 4] != _EOCD64_LOCATOR:
        raise CorruptDocument(f"the {what} is damaged: its zip64 directory record is missing")
    offset = struct.unpack_from("<Q", data, loc + 8)[0]
    if offset + 56 > len(data) or data[offset:offset + 4] != _EOCD64:
        raise CorruptDocument(f"the {what} is damaged: its zip64 directory record is invalid")
    return struct.unpack_from("<Q", data, offset + 32)[0]


def _size(n: int) -> str:
    return f"{n / MB:.0f} MB" if n >= MB else f"{n:,} bytes"


def member_dir(name: str) -> str:
    """The directory part of a member name (``'Doc_0/Pages/Page_0'`` for its ``Content.xml``), ``''`` at root."""
    parent = str(PurePosixPath(name).parent)
    return "" if parent == "." else parent


__all__ = ["DEFAULT_LIMITS", "SafeZip", "ZipLimits", "is_zip", "iter_bundle", "member_dir", "open_zip"]
