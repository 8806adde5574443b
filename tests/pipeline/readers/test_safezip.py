"""safezip: bounded reads of untrusted zips. Hostile archives are built here, in memory, in milliseconds."""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest

from pipeline.errors import CorruptDocument, DocumentTooLarge, UnsupportedDocument
from pipeline.readers import safezip
from pipeline.readers.safezip import SafeZip, ZipLimits, iter_bundle, open_zip

GB = 1024 ** 3
MB = 1024 ** 2


def zip_of(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def raw_zip(entries: list[tuple[str, bytes, int, int]], flags: int = 0, crc: int = 0) -> bytes:
    """A zip written field by field: (name, stored payload, compression method, declared uncompressed size)."""
    out, central = bytearray(), bytearray()
    for name, payload, method, size in entries:
        offset, raw_name = len(out), name.encode()
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, method, 0, 0, crc, len(payload), size,
                           len(raw_name), 0) + raw_name + payload
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, method, 0, 0, crc,
                               len(payload), size, len(raw_name), 0, 0, 0, 0, 0, offset) + raw_name
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), len(out), 0)
    return bytes(out + central + end)


def deflated_zeros(total: int, segment: int = MB) -> bytes:
    """Raw deflate of ``total`` zero bytes without compressing them all: one segment ended by a full flush
    (byte-aligned, no back-references across it) repeated, then an empty final block."""
    seg = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = seg.compress(b"\0" * segment) + seg.flush(zlib.Z_FULL_FLUSH)
    return block * (total // segment) + zlib.compressobj(9, zlib.DEFLATED, -15).flush()


def refused_quickly(call, error: type[Exception], match: str):
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error, match=match) as info:
            call()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < 50 * MB, f"peak memory {peak / MB:.0f} MB"
    return info.value


def test_reads_members_and_finds_names_ignoring_case():
    data = zip_of({"OFD.xml": b"<ofd/>", "Doc_0/Document.xml": b"<doc/>" * 100, "Doc_0/": b""})
    with open_zip(data, "OFD file") as archive:
        assert archive.find("ofd.XML") == "OFD.xml"
        assert archive.find("missing.xml") is None
        assert archive.read("Doc_0/Document.xml") == b"<doc/>" * 100
        assert archive.file_names() == ["OFD.xml", "Doc_0/Document.xml"]


def test_the_deflate_bomb_helper_really_expands():
    stream = deflated_zeros(8 * MB)
    assert zlib.decompress(stream, -15) == b"\0" * (8 * MB)


def test_one_gigabyte_zip_bomb_is_refused_from_its_header():
    bomb = raw_zip([("Doc_0/Pages/Page_0/Content.xml", deflated_zeros(GB), zipfile.ZIP_DEFLATED, GB)])
    assert len(bomb) < 2 * MB
    err = refused_quickly(lambda: open_zip(bomb, "OFD file"), DocumentTooLarge, "possible zip bomb")
    assert "OFD file" in str(err)


def test_total_size_over_the_limit_gives_the_user_message():
    files = [(f"part{i}.xml", deflated_zeros(40 * MB), zipfile.ZIP_DEFLATED, 40 * MB) for i in range(3)]
    lenient = ZipLimits(max_ratio=10 ** 9)  # only the 100 MB total is exceeded
    refused_quickly(lambda: SafeZip(raw_zip(files), "OFD file", lenient), DocumentTooLarge,
                    r"^the OFD file expands to more than 100 MB: refused as a possible zip bomb$")


def test_a_header_that_understates_the_size_cannot_make_it_read_more():
    bomb = raw_zip([("x.xml", deflated_zeros(GB), zipfile.ZIP_DEFLATED, 10_000)])
    archive = open_zip(bomb)
    refused_quickly(lambda: archive.read("x.xml"), CorruptDocument, "damaged")


def test_streaming_read_stops_at_the_limit_even_without_the_header_checks(monkeypatch):
    monkeypatch.setattr(SafeZip, "_check_declared_size", lambda self, info: None)
    limits = ZipLimits(max_total_bytes=GB + 1, max_member_bytes=5 * MB, max_ratio=10 ** 9)
    archive = SafeZip(raw_zip([("x.xml", deflated_zeros(GB), zipfile.ZIP_DEFLATED, GB)]), "OFD file", limits)
    refused_quickly(lambda: archive.read("x.xml"), DocumentTooLarge, "expands to more than 5 MB")


def test_streaming_read_checks_the_compression_ratio(monkeypatch):
    monkeypatch.setattr(SafeZip, "_check_declared_size", lambda self, info: None)
    archive = SafeZip(raw_zip([("x.xml", deflated_zeros(64 * MB), zipfile.ZIP_DEFLATED, 64 * MB)]))
    refused_quickly(lambda: archive.read("x.xml"), DocumentTooLarge, r"expands [\d,]+ times")


def test_high_ratio_member_is_refused_but_small_repetitive_xml_is_fine():
    with pytest.raises(DocumentTooLarge, match="times"):
        open_zip(zip_of({"a.xml": b" " * (3 * MB)}))
    with open_zip(zip_of({"a.xml": b" " * 100_000})) as archive:  # ratio ~1000:1 but only 100 kB
        assert len(archive.read("a.xml")) == 100_000


def test_too_many_members_is_refused_before_the_directory_is_parsed():
    data = zip_of({f"f{i}.xml": b"" for i in range(3000)}, zipfile.ZIP_STORED)
    err = refused_quickly(lambda: open_zip(data, "zip file"), DocumentTooLarge, "holds 3,000 files")
    assert "2,000" in str(err)


@pytest.mark.parametrize("name", ["../evil.xml", "Doc_0/../../evil.xml", "/etc/passwd", "C:\\evil.xml",
                                  "..\\evil.xml", "a\x00b.xml"])
def test_path_traversal_and_absolute_names_are_refused(name):
    data = raw_zip([("OFD.xml", b"<a/>", zipfile.ZIP_STORED, 4), (name, b"x", zipfile.ZIP_STORED, 1)])
    refused_quickly(lambda: open_zip(data), CorruptDocument, "unsafe member name")


def test_duplicate_member_names_are_refused():
    data = raw_zip([("OFD.xml", b"<a/>", zipfile.ZIP_STORED, 4), ("OFD.xml", b"<b/>", zipfile.ZIP_STORED, 4)])
    with pytest.raises(CorruptDocument, match="twice"):
        open_zip(data)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_zip_is_a_clear_error(cut):
    data = zip_of({"OFD.xml": b"<ofd/>" * 500, "Doc_0/Document.xml": b"<doc/>" * 500})
    truncated = data[: int(len(data) * cut)]

    def open_and_read():
        with open_zip(truncated, "OFD file") as archive:
            for name in archive.file_names():
                archive.read(name)

    refused_quickly(open_and_read, CorruptDocument, "OFD file is damaged")


def test_corrupted_member_data_is_a_clear_error():
    data = bytearray(zip_of({"a.xml": b"<a>" + b"hello " * 2000 + b"</a>"}))
    start = data.index(b"a.xml") + len("a.xml")
    data[start + 10:start + 40] = b"\xff" * 30
    archive = open_zip(bytes(data))
    with pytest.raises(CorruptDocument, match="cannot be read"):
        archive.read("a.xml")


def test_encrypted_and_unsupported_compression_are_refused_when_read():
    encrypted = raw_zip([("a.xml", b"xxxx", zipfile.ZIP_STORED, 4)], flags=0x1)
    with pytest.raises(UnsupportedDocument, match="password"):
        open_zip(encrypted).read("a.xml")
    bzipped = zip_of({"a.xml": b"<a/>"}, zipfile.ZIP_BZIP2)
    with pytest.raises(UnsupportedDocument, match="bzip2"):
        open_zip(bzipped).read("a.xml")


def test_not_a_zip_at_all():
    with pytest.raises(CorruptDocument, match="directory is missing"):
        open_zip(b"PK\x03\x04 but nothing else")


def test_bundle_walks_nested_zips_and_keeps_ofd_files_whole():
    ofd = zip_of({"OFD.xml": b"<ofd/>"})
    inner = zip_of({"b.pdf": b"%PDF-1.7", "c.ofd": ofd})
    outer = zip_of({"a.xml": b"<a/>", "inner.zip": inner, "__MACOSX/._a.xml": b"junk", "._b.pdf": b"junk"})
    found = dict(iter_bundle(outer))
    assert found == {"a.xml": b"<a/>", "inner.zip/b.pdf": b"%PDF-1.7", "inner.zip/c.ofd": ofd}


def test_bundle_nested_too_deep_is_refused():
    data = zip_of({"x.pdf": b"%PDF"})
    for level in range(3):
        data = zip_of({f"level{level}.zip": data})
    with pytest.raises(CorruptDocument, match="more than 3 levels deep"):
        list(iter_bundle(data))
    assert list(iter_bundle(zip_of({"l1.zip": zip_of({"l2.zip": zip_of({"x.pdf": b"%PDF"})})}))) == [
        ("l1.zip/l2.zip/x.pdf", b"%PDF")]


def test_bundle_budget_is_shared_with_nested_archives():
    limits = ZipLimits(max_total_bytes=3 * MB, max_ratio=10 ** 9)
    inner = zip_of({"big.xml": b"x" * (2 * MB)}, zipfile.ZIP_STORED)
    outer = zip_of({"one.zip": inner, "two.zip": inner}, zipfile.ZIP_STORED)
    with pytest.raises(DocumentTooLarge, match="expands to more than 3 MB"):
        list(iter_bundle(outer, "zip file", limits))


def test_member_dir():
    assert safezip.member_dir("Doc_0/Pages/Page_0/Content.xml") == "Doc_0/Pages/Page_0"
    assert safezip.member_dir("OFD.xml") == ""
