"""Decoding uploaded images safely: header dimensions first, then a bounded, oriented decode.

Contract:
* ``header_size(data) -> (width, height) | None`` reads the pixel size from a JPEG/PNG/BMP/WebP/TIFF header
  without decoding pixels (``None`` when the header cannot be parsed).
* ``decode_image(data, max_pixels, max_side) -> np.ndarray`` returns a ``uint8`` BGR image whose longer side is
  at most ``max_side`` (larger images are scaled down; JPEGs are decoded at 1/2, 1/4 or 1/8 scale when that is
  enough). JPEG EXIF orientation is applied; transparent pixels are composited onto white; 16-bit images are
  reduced to 8 bits. Raises ``DocumentTooLarge`` when the image has more than ``max_pixels`` pixels (checked
  from the header before decoding when possible) and ``CorruptDocument`` when it cannot be decoded.
"""

from __future__ import annotations

import struct

import cv2
import numpy as np

from pipeline.errors import CorruptDocument, DocumentTooLarge

_JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_REDUCED = ((8, cv2.IMREAD_REDUCED_COLOR_8), (4, cv2.IMREAD_REDUCED_COLOR_4), (2, cv2.IMREAD_REDUCED_COLOR_2))
# EXIF orientation -> the operation that brings the stored pixels upright.
_ORIENT = {
    2: lambda im: cv2.flip(im, 1),
    3: lambda im: cv2.rotate(im, cv2.ROTATE_180),
    4: lambda im: cv2.flip(im, 0),
    5: cv2.transpose,
    6: lambda im: cv2.rotate(im, cv2.ROTATE_90_CLOCKWISE),
    7: lambda im: cv2.flip(cv2.transpose(im), -1),
    8: lambda im: cv2.rotate(im, cv2.ROTATE_90_COUNTERCLOCKWISE),
}


def header_size(data: bytes) -> tuple[int, int] | None:
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            return struct.unpack(">II", data[16:24])
        if data.startswith(b"\xff\xd8"):
            return _jpeg_size(data)
        if data.startswith(b"BM"):
            w, h = struct.unpack("<ii", data[18:26])
            return abs(w), abs(h)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp_size(data)
        if data[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(data)
    except (struct.error, IndexError, ValueError):
        return None
    return None


def decode_image(data: bytes, max_pixels: int, max_side: int) -> np.ndarray:
    size = header_size(data)
    if size is not None:
        _check_pixels(*size, max_pixels)
    buf = np.frombuffer(data, dtype=np.uint8)
    is_jpeg = data.startswith(b"\xff\xd8")
    if _has_alpha_or_depth(data):
        image = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        image = None if image is None else _to_bgr8(image)
    else:
        flag = cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
        if is_jpeg and size is not None:
            for factor, reduced in _REDUCED:
                if max(size) >= factor * max_side:
                    flag = reduced | cv2.IMREAD_IGNORE_ORIENTATION
                    break
        image = cv2.imdecode(buf, flag)
    if image is None or image.size == 0:
        raise CorruptDocument("the image cannot be decoded: the file is damaged or incomplete")
    if size is None:
        _check_pixels(image.shape[1], image.shape[0], max_pixels)
    if is_jpeg:
        image = _apply_orientation(image, _exif_orientation(data))
    h, w = image.shape[:2]
    if max(h, w) > max_side:
        scale = max_side / max(h, w)
        image = cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return image


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise DocumentTooLarge(f"image is {width}x{height} pixels ({width * height / 1e6:.0f} MP), "
                               f"more than the {max_pixels / 1e6:.0f} MP limit")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            i += 2
            continue
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in _JPEG_SOF:
            h, w = struct.unpack(">HH", data[i + 5:i + 9])
            return w, h
        if marker == 0xDA:  # start of scan before any frame header
            return None
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8 ":
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    if chunk == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    endian = "<" if data[:2] == b"II" else ">"
    (ifd,) = struct.unpack(endian + "I", data[4:8])
    (count,) = struct.unpack(endian + "H", data[ifd:ifd + 2])
    dims: dict[int, int] = {}
    for k in range(count):
        entry = data[ifd + 2 + 12 * k: ifd + 14 + 12 * k]
        tag, typ = struct.unpack(endian + "HH", entry[:4])
        if tag in (256, 257):
            dims[tag] = struct.unpack(endian + ("H" if typ == 3 else "I"), entry[8:10] if typ == 3 else entry[8:12])[0]
    return (dims[256], dims[257]) if len(dims) == 2 else None


def _has_alpha_or_depth(data: bytes) -> bool:
    """PNGs with an alpha channel or 16-bit samples need an unchanged decode to be converted properly."""
    return data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 25 and (data[25] in (4, 6) or data[24] == 16)


def _to_bgr8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint16:
        image = (image >> 8).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        white = np.full_like(image[:, :, :3], 255, dtype=np.float32)
        return (image[:, :, :3].astype(np.float32) * alpha + white * (1.0 - alpha)).astype(np.uint8)
    return image[:, :, :3]


def _exif_orientation(data: bytes) -> int:
    i = 2
    while i + 4 < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        length = struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker == 0xE1 and data[i + 4:i + 10] == b"Exif\x00\x00":
            return _tiff_orientation(data[i + 10:i + 2 + length])
        if marker == 0xDA:
            break
        i += 2 + length
    return 1


def _tiff_orientation(tiff: bytes) -> int:
    try:
        endian = "<" if tiff[:2] == b"II" else ">"
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        (count,) = struct.unpack(endian + "H", tiff[ifd:ifd + 2])
        for k in range(count):
            entry = tiff[ifd + 2 + 12 * k: ifd + 14 + 12 * k]
            if struct.unpack(endian + "H", entry[:2])[0] == 0x0112:
                return struct.unpack(endian + "H", entry[8:10])[0]
    except struct.error:
        pass
    return 1


def _apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    op = _ORIENT.get(orientation)
    return image if op is None else op(image)


__all__ = ["decode_image", "header_size"]
