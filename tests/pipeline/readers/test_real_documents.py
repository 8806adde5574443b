"""Readers over the public real documents in ../shared/data/real (skipped when the folder is absent).

Measured on this data (see the report of the read stage): QR 22/22 images, invoice number in the PDF text layer
6/6, invoice number in the OCR text 25/25 images.
"""

import json
from pathlib import Path

import pytest

from pipeline.config import PipelineSettings
from pipeline.ingest import ingest_bytes
from pipeline.readers import read_document
from pipeline.readers.image import MAX_SIDE
from pipeline.readers.imageio import decode_image
from pipeline.readers.qr import decode_qr
from reader_fixtures import REAL_DATA

pytestmark = [
    pytest.mark.real_data,
    pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real documents not present"),
]


def _cases(folders: tuple[str, ...], suffixes: tuple[str, ...]) -> list[tuple[Path, dict]]:
    if not REAL_DATA.is_dir():
        return []
    found = []
    for folder in folders:
        for path in sorted((REAL_DATA / folder).iterdir()):
            if path.suffix.lower() in suffixes:
                found.append((path, json.loads(path.with_name(path.stem + ".truth.json").read_text("utf-8"))))
    return found


PDFS = _cases(("cn_pdf",), (".pdf",))
IMAGES = _cases(("cn_img", "cn_img_batch"), (".jpg", ".jpeg", ".png"))


def _squash(text: str) -> str:
    return "".join(text.split())


@pytest.mark.parametrize(("path", "truth"), PDFS, ids=[p.name for p, _ in PDFS])
def test_pdf_text_layer_holds_the_invoice_number_and_qr(path, truth):
    result = read_document(ingest_bytes(path.name, path.read_bytes()), PipelineSettings())
    assert result.pages and all(page.lines for page in result.pages)
    number = truth["fields"].get("invoice_number")
    if number:
        assert number in _squash("\n".join(page.text for page in result.pages))
    qr_raw = (truth.get("qr") or {}).get("qr_raw")
    if qr_raw:
        assert qr_raw in [qr.text for qr in result.qr_codes]


def test_qr_decoded_on_every_real_image_that_has_one():
    with_qr = [(path, truth["qr"]["qr_raw"]) for path, truth in IMAGES if (truth.get("qr") or {}).get("qr_raw")]
    assert with_qr
    missed = [path.name for path, raw in with_qr
              if raw not in [qr.text for qr in decode_qr(decode_image(path.read_bytes(), 60_000_000, MAX_SIDE))]]
    assert missed == []  # measured: 22/22


@pytest.mark.slow
def test_ocr_text_holds_the_invoice_number_on_real_images():
    settings = PipelineSettings()
    with_number = [(path, truth["fields"]["invoice_number"]) for path, truth in IMAGES
                   if truth["fields"].get("invoice_number")]
    missed = []
    for path, number in with_number:
        result = read_document(ingest_bytes(path.name, path.read_bytes()), settings)
        if number not in _squash(result.pages[0].text):
            missed.append(path.name)
    assert missed == []  # measured: 25/25
