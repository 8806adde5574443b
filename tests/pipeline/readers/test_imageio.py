import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.readers.imageio import decode_image, header_size

RNG = np.random.default_rng(7)
PICTURE = (RNG.random((30, 50, 3)) * 255).astype(np.uint8)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".bmp", ".webp", ".tiff"])
def test_header_size_matches_the_pixels(ext):
    ok, buf = cv2.imencode(ext, PICTURE)
    assert ok
    assert header_size(buf.tobytes()) == (50, 30)


def test_header_size_of_lossless_webp():
    ok, buf = cv2.imencode(".webp", PICTURE, [cv2.IMWRITE_WEBP_QUALITY, 101])
    assert ok and header_size(buf.tobytes()) == (50, 30)


def _png_header_only(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr
            + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr)))


def test_pixel_limit_is_checked_from_the_header_before_decoding():
    with pytest.raises(DocumentTooLarge, match="MP"):
        decode_image(_png_header_only(100_000, 100_000), max_pixels=60_000_000, max_side=2400)


def test_undecodable_bytes_are_corrupt():
    ok, buf = cv2.imencode(".png", PICTURE)
    damaged = buf.tobytes()[:40] + b"\x00" * 60
    with pytest.raises(CorruptDocument):
        decode_image(damaged, max_pixels=60_000_000, max_side=2400)
    with pytest.raises(CorruptDocument):
        decode_image(b"\xff\xd8\xff" + b"junk" * 10, max_pixels=60_000_000, max_side=2400)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_opencv_reference(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    Image.fromarray(PICTURE).save(out, "JPEG", exif=exif.tobytes(), quality=95)
    data = out.getvalue()
    reference = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)  # applies EXIF itself
    got = decode_image(data, max_pixels=60_000_000, max_side=2400)
    assert got.shape == reference.shape
    assert np.array_equal(got, reference)


def test_large_photo_is_scaled_down_and_reduced_jpeg_decode_keeps_orientation():
    big = np.zeros((3000, 5000, 3), np.uint8)
    big[:, :2500] = 255  # left half white
    exif = Image.Exif()
    exif[0x0112] = 6  # stored sideways: upright the white half is on top
    out = io.BytesIO()
    Image.fromarray(big).save(out, "JPEG", exif=exif.tobytes())
    got = decode_image(out.getvalue(), max_pixels=60_000_000, max_side=2400)
    assert max(got.shape[:2]) <= 2400 and got.shape[0] > got.shape[1]
    h = got.shape[0]
    assert got[h // 4].mean() > 200 and got[3 * h // 4].mean() < 50


def test_transparent_png_is_composited_on_white():
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent black
    rgba[5:15, 5:15] = (0, 0, 0, 255)  # opaque black square
    ok, buf = cv2.imencode(".png", rgba)
    got = decode_image(buf.tobytes(), max_pixels=60_000_000, max_side=2400)
    assert got.shape == (20, 20, 3)
    assert got[0, 0].tolist() == [255, 255, 255] and got[10, 10].tolist() == [0, 0, 0]


def test_sixteen_bit_png_becomes_eight_bit():
    deep = np.full((10, 10), 65535, np.uint16)
    ok, buf = cv2.imencode(".png", deep)
    got = decode_image(buf.tobytes(), max_pixels=60_000_000, max_side=2400)
    assert got.dtype == np.uint8 and got.shape == (10, 10, 3) and got.min() == 255
