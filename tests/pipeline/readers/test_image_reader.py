import cv2
import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.errors import CorruptDocument, DocumentTooLarge, UnreadableImage
from pipeline.ingest import ingest_bytes
from pipeline.ocr import base
from pipeline.readers.image import MAX_SIDE, read_image
from pipeline.types import FieldSource, TextLine
from reader_fixtures import qr_image, text_image


class _FixedEngine:
    """Returns fixed lines (in scrambled order) and remembers the image it was given."""

    name = "fixed"
    seen: list[np.ndarray] = []

    def __init__(self, settings):
        pass

    def recognize(self, image):
        self.seen.append(image)
        return [TextLine("B", (200, 10, 260, 30), 0.9), TextLine("C", (10, 60, 90, 80), 0.8),
                TextLine("A", (10, 12, 90, 32), 0.95)]


@pytest.fixture
def fixed_settings(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "fixed", _FixedEngine)
    monkeypatch.setattr(base, "_ENGINES", {})
    _FixedEngine.seen = []
    return PipelineSettings(ocr_backend="fixed")


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def test_one_ocr_page_in_reading_order_with_page_numbers_and_timings(fixed_settings):
    doc = ingest_bytes("a.png", _png(np.full((300, 400, 3), 255, np.uint8)))
    result = read_image(doc, fixed_settings)
    [page] = result.pages
    assert page.source is FieldSource.OCR and (page.width, page.height) == (400.0, 300.0)
    assert [line.text for line in page.lines] == ["A", "B", "C"]
    assert all(line.page == 0 for line in page.lines)
    assert set(result.timings) == {"decode", "qr", "cleanup", "quality", "ocr"} and result.qr_codes == []


def test_qr_code_and_ocr_run_on_the_same_decoded_image(fixed_settings):
    page = np.full((800, 1200, 3), 255, np.uint8)
    code = qr_image("01,10,012001800311,33207675,46.62,20190508,76939056883466677916,E1BD,")
    page[20:20 + code.shape[0], 20:20 + code.shape[1]] = code[:, :, None]
    result = read_image(ingest_bytes("a.jpg", _png(page)), fixed_settings)
    assert [qr.text for qr in result.qr_codes] == [
        "01,10,012001800311,33207675,46.62,20190508,76939056883466677916,E1BD,"]
    assert _FixedEngine.seen[0].shape == (800, 1200, 3)


def test_large_photo_is_downscaled_for_ocr(fixed_settings):
    ok, buf = cv2.imencode(".jpg", np.full((3000, 4000, 3), 255, np.uint8))
    result = read_image(ingest_bytes("a.jpg", buf.tobytes()), fixed_settings)
    assert max(_FixedEngine.seen[0].shape[:2]) <= MAX_SIDE
    assert (result.pages[0].width, result.pages[0].height) == (2400.0, 1800.0)


def test_pixel_limit_and_corrupt_and_tiny_images(fixed_settings):
    data = _png(np.full((300, 400, 3), 255, np.uint8))
    with pytest.raises(DocumentTooLarge):
        read_image(ingest_bytes("a.png", data), PipelineSettings(ocr_backend="fixed", max_image_pixels=100_000))
    with pytest.raises(CorruptDocument):
        read_image(ingest_bytes("a.png", data[:60] + bytes(200)), fixed_settings)
    with pytest.raises(UnreadableImage, match="too small"):
        read_image(ingest_bytes("a.png", _png(np.full((20, 300, 3), 255, np.uint8))), fixed_settings)


def test_rapidocr_reads_a_rendered_image():
    # at least 736 px tall: rapidocr upscales shorter images for detection, which only costs time here
    image = text_image(["INVOICE NO 14892315", "DATE 2022-01-10"], min_height=760)
    result = read_image(ingest_bytes("a.png", _png(image)), PipelineSettings(ocr_backend="rapidocr"))
    texts = [line.text.replace(" ", "") for line in result.pages[0].lines]
    assert any("14892315" in t for t in texts) and any("2022-01-10" in t for t in texts), texts
    assert texts.index(next(t for t in texts if "14892315" in t)) < texts.index(
        next(t for t in texts if "2022-01-10" in t))


def test_the_gate_accepts_a_receipt_with_a_date_and_an_amount_but_no_long_number():
    from pipeline.readers.image import _has_invoice_evidence
    from pipeline.types import TextLine

    def lines(*texts):
        return [TextLine(text=t, box=(0, 0, 1, 1), confidence=0.9, page=0) for t in texts]

    assert _has_invoice_evidence(lines("MR. D.I.Y.", "18-10-17 15:16", "TOTAL RM 5.90"))
    assert _has_invoice_evidence(lines("发票号码：24922000000078112547"))
    assert not _has_invoice_evidence(lines("MR. D.I.Y.", "TOTAL RM 5.90"))
    assert not _has_invoice_evidence(lines("18-10-17", "blurred noise"))


def test_a_page_the_orientation_guess_left_sideways_is_turned_and_read_again(monkeypatch):
    from pipeline.readers import image as image_reader
    from pipeline.readers.cleanup import Cleaned

    monkeypatch.setattr(image_reader, "clean_photo", lambda img: Cleaned(image=img.copy()))  # a missed guess
    lines = ["INVOICE NO 14892315", "DATE 2022-01-10", "TOTAL 52.70", "SELLER ACME TRADING", "TAX 6.08",
             "AMOUNT 46.62"]
    page = cv2.rotate(text_image(lines, min_height=760), cv2.ROTATE_90_COUNTERCLOCKWISE)
    result = read_image(ingest_bytes("a.png", _png(page)), PipelineSettings(ocr_backend="rapidocr"))
    [read] = result.pages
    assert (read.width, read.height) == (page.shape[0], page.shape[1])  # turned a quarter
    texts = [line.text.replace(" ", "") for line in read.lines]
    assert any("14892315" in t for t in texts) and any("52.70" in t for t in texts), texts
    assert not image_reader._mostly_vertical(read.lines)


def test_text_running_vertically_is_told_by_the_recognisers_own_ratio():
    """Boxes 1.5 times as tall as wide are vertical text to the recogniser (it turns such crops); a sideways taxi
    receipt's short fields (times, fares) come out between 1.5 and 2 times as tall as wide."""
    from pipeline.readers.image import _mostly_vertical

    def lines(*sizes):
        return [TextLine(text="16:34", box=(0, 0, w, h), confidence=0.9, page=0) for w, h in sizes]

    assert _mostly_vertical(lines((82, 125), (80, 140), (64, 150), (90, 180), (70, 110), (60, 300)))
    assert not _mostly_vertical(lines((82, 110), (80, 100), (64, 90), (90, 180), (70, 110), (60, 300)))
    assert not _mostly_vertical(lines((300, 40), (500, 45), (120, 30), (200, 38), (80, 130), (400, 44)))
