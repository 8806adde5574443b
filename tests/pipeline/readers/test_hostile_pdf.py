"""Hostile PDFs through the runner: a page tree that claims a million pages, and one that hides its pages behind a
false page count. Each must end in a clear error within a second and a bounded amount of memory.
(Password-protected PDFs are covered in test_pdf_reader.py.)"""

from __future__ import annotations

import time
import tracemalloc

from pipeline.config import PipelineSettings
from pipeline.runner import extract_bytes

MB = 1024 * 1024


def page_tree_pdf(pages: int, claimed: int) -> bytes:
    """A PDF with ``pages`` empty page objects whose page tree says ``/Count claimed``."""
    out = bytearray(b"%PDF-1.4\n")
    offsets: list[int] = []

    def add(body: bytes) -> None:
        offsets.append(len(out))
        out.extend(f"{len(offsets)} 0 obj\n".encode() + body + b"\nendobj\n")

    add(b"<< /Type /Catalog /Pages 2 0 R >>")
    kids = " ".join(f"{i + 3} 0 R" for i in range(pages))
    add(f"<< /Type /Pages /Kids [{kids}] /Count {claimed} >>".encode())
    for _ in range(pages):
        add(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>")
    xref = len(out)
    out.extend(f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode())
    out.extend(b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets))
    out.extend(f"trailer\n<< /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return bytes(out)


def refused(data: bytes) -> tuple[str | None, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = extract_bytes("hostile.pdf", data, PipelineSettings())
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return result.error, elapsed, peak


def test_a_pdf_claiming_a_million_pages_is_refused_at_once():
    error, elapsed, peak = refused(page_tree_pdf(1, 1_000_000))
    assert error is not None and "1000000 pages" in error and "limit" in error
    assert elapsed < 1.0 and peak < 50 * MB


def test_pages_hidden_behind_a_false_page_count_are_refused_at_once():
    error, elapsed, peak = refused(page_tree_pdf(300, 1))
    assert error is not None and "pages" in error and "limit" in error
    assert elapsed < 1.0 and peak < 50 * MB


def test_a_hundred_thousand_hidden_pages_are_not_walked_after_the_refusal():
    data = page_tree_pdf(100_000, 1)  # 10 MB of page objects behind /Count 1
    started = time.perf_counter()  # no tracemalloc here: it slows pdfminer's parsing several times
    error = extract_bytes("hostile.pdf", data, PipelineSettings()).error
    assert error is not None and "more pages than its page count says" in error
    assert time.perf_counter() - started < 7.0  # measured 1.9 s; closing pdfplumber walked every page: 10 s more

