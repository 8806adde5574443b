"""Helpers for reader tests: small PDFs and images generated in the test, never downloaded."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REAL_DATA = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real"


@dataclass
class PdfPage:
    texts: list[tuple[float, float, str]] = field(default_factory=list)  # (x, y from the top, ASCII text)
    size: float = 12
    image: np.ndarray | None = None  # grey uint8, drawn at image_box
    image_box: tuple[float, float, float, float] = (0, 0, 0, 0)  # x0, top, width, height in points
    width: float = 595
    height: float = 842


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def build_pdf(pages: list[PdfPage], info: dict[str, str] | None = None,
              extra_dict: dict[str, str] | None = None) -> bytes:
    """A minimal PDF: Helvetica text runs and optional grey images; ``info`` goes into the Info dictionary,
    ``extra_dict`` into a separate dictionary object referenced from the catalog."""
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # filled in below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    kids = []
    for page in pages:
        ops = []
        resources = f"/Font << /F1 {font} 0 R >>"
        if page.image is not None:
            h, w = page.image.shape
            data = zlib.compress(page.image.tobytes())
            img = add(f"<< /Type /XObject /Subtype /Image /Width {w} /Height {h} /ColorSpace /DeviceGray "
                      f"/BitsPerComponent 8 /Filter /FlateDecode /Length {len(data)} >>\nstream\n".encode()
                      + data + b"\nendstream")
            resources += f" /XObject << /Im1 {img} 0 R >>"
            x0, top, bw, bh = page.image_box
            ops.append(f"q {bw} 0 0 {bh} {x0} {page.height - top - bh} cm /Im1 Do Q")
        for x, y, text in page.texts:
            ops.append(f"BT /F1 {page.size} Tf {x} {page.height - y} Td ({_escape(text)}) Tj ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream")
        kids.append(add(f"<< /Type /Page /Parent {pages_obj} 0 R /MediaBox [0 0 {page.width} {page.height}] "
                        f"/Resources << {resources} >> /Contents {content} 0 R >>".encode()))
    extra = ""
    if extra_dict:
        entries = " ".join(f"/{k} ({_escape(v)})" for k, v in extra_dict.items())
        extra = f" /InvoiceData {add(f'<< {entries} >>'.encode())} 0 R"
    objects[catalog - 1] = f"<< /Type /Catalog /Pages {pages_obj} 0 R{extra} >>".encode()
    objects[pages_obj - 1] = (f"<< /Type /Pages /Kids [{' '.join(f'{k} 0 R' for k in kids)}] "
                              f"/Count {len(kids)} >>").encode()
    info_ref = ""
    if info:
        entries = " ".join(f"/{k} ({_escape(v)})" for k, v in info.items())
        info_ref = f" /Info {add(f'<< {entries} >>'.encode())} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{off:010d} 00000 n \n".encode() for off in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root {catalog} 0 R{info_ref} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def qr_image(text: str, module_px: int = 6, border: int = 4) -> np.ndarray:
    """A grey QR code image of ``text``, ``module_px`` pixels per module, with a white quiet zone."""
    code = cv2.QRCodeEncoder.create().encode(text)
    code = cv2.resize(code, None, fx=module_px, fy=module_px, interpolation=cv2.INTER_NEAREST)
    pad = border * module_px
    return cv2.copyMakeBorder(code, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)


def text_image(lines: list[str], width: int = 900, scale: float = 1.2, min_height: int = 0) -> np.ndarray:
    """A white BGR image with ``lines`` of ASCII text printed one under another from the top."""
    img = np.full((max(80 + 60 * len(lines), min_height), width, 3), 255, np.uint8)
    for i, line in enumerate(lines):
        cv2.putText(img, line, (30, 70 + 60 * i), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2, cv2.LINE_AA)
    return img
