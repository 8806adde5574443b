import cv2
import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.ingest import ingest_bytes
from pipeline.ocr import base
from pipeline.readers.deblur import Motion, deconvolve, motion_candidates, nearby_lengths
from pipeline.readers.image import read_image
from pipeline.readers.qr import decode_qr
from pipeline.types import TextLine
from reader_fixtures import qr_image, text_image

PAYLOAD = "01,10,033001900111,12345678,1234.50,20250110,12345678901234567890,ABCD,"


def _page() -> np.ndarray:
    page = text_image([f"INVOICE {n} 2025-01-10 AMOUNT {n * 137.5:.2f} SELLER 91330106MA2XXXXX{n % 10}"
                       for n in range(1, 15)], width=1400, scale=1.0, min_height=1100)
    code = cv2.cvtColor(qr_image(PAYLOAD, module_px=3), cv2.COLOR_GRAY2BGR)
    page[900:900 + code.shape[0], 60:60 + code.shape[1]] = code
    return page


def _shake(image: np.ndarray, length: int, angle: float) -> np.ndarray:
    """Linear motion blur drawn independently of the module: an anti-aliased line on a 4x canvas, shrunk."""
    size = 4 * (length + 2) + 1
    canvas = np.zeros((size, size), np.float32)
    c, d = size // 2, 2 * length  # a line of `length` px at 1x
    dx, dy = d * np.cos(np.radians(angle)), d * np.sin(np.radians(angle))
    cv2.line(canvas, (int(round(c - dx)), int(round(c - dy))), (int(round(c + dx)), int(round(c + dy))), 1.0, 4,
             cv2.LINE_AA)
    kernel = cv2.resize(canvas, (length + 2, length + 2), interpolation=cv2.INTER_AREA)
    return cv2.filter2D(image, -1, kernel / kernel.sum(), borderType=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("length,angle", [(7, 30.0), (6, 120.0), (8, 0.0)])
def test_the_shake_is_estimated_from_the_page_itself(length, angle):
    grey = cv2.cvtColor(_shake(_page(), length, angle), cv2.COLOR_BGR2GRAY)
    found = motion_candidates(grey)
    assert found, "no candidate at all"
    best = found[0]
    assert abs(best.length - length) <= 1.5, found
    assert min(abs(best.angle - angle), 180 - abs(best.angle - angle)) <= 8, found


def test_undoing_the_estimated_shake_brings_back_the_qr_code_it_hid():
    blurred = _shake(_page(), 9, 30.0)
    assert decode_qr(blurred) == []  # the premise: the blur hides the code
    grey = cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY)
    decoded = [code.text for m in motion_candidates(grey)[:1] for n in nearby_lengths(m)
               for code in decode_qr(deconvolve(grey, n), upscale=False)]
    assert PAYLOAD in decoded


@pytest.mark.parametrize("size", [None, (397, 1193)])  # the page, and an awkward size (primes: padded for the DFT)
def test_deconvolution_keeps_shape_and_type_and_sharpens(size):
    page = _page() if size is None else _page()[:size[0], :size[1]]
    blurred = _shake(page, 7, 30.0)
    restored = deconvolve(blurred, Motion(7.0, 30.0, -3.0))
    assert restored.shape == page.shape and restored.dtype == np.uint8
    error = lambda a: float(np.mean((a.astype(np.float32) - page) ** 2))  # noqa: E731
    assert error(restored) < 0.6 * error(blurred)
    grey = deconvolve(cv2.cvtColor(blurred, cv2.COLOR_BGR2GRAY), Motion(7.0, 30.0, -3.0))
    assert grey.ndim == 2


def test_tiny_or_flat_images_give_no_candidates_and_lengths_stay_in_range():
    assert motion_candidates(np.zeros((40, 40), np.uint8)) == []
    assert motion_candidates(np.full((800, 600), 250, np.uint8)) == []  # blank paper: no tile to measure
    assert [m.length for m in nearby_lengths(Motion(3.2, 10.0, -2.0))] == [3.0, 4.0]
    assert [m.length for m in nearby_lengths(Motion(7.6, 10.0, -2.0))] == [8.0, 7.0, 9.0]


class _TitledEngine:
    """Reads the title it is told to, plus an invoice number, whatever the image."""

    name = "titled"
    title = ""

    def __init__(self, settings):
        pass

    def recognize(self, image):
        return [TextLine(self.title, (300, 20, 900, 60), 0.9), TextLine("发票号码：12345678", (900, 80, 1300, 110), 0.9)]


def _read(monkeypatch, title: str, image: np.ndarray):
    monkeypatch.setitem(base._REGISTRY, "titled", _TitledEngine)
    monkeypatch.setattr(base, "_ENGINES", {})
    monkeypatch.setattr(_TitledEngine, "title", title)
    ok, data = cv2.imencode(".png", image)
    return read_image(ingest_bytes("photo.png", data.tobytes()), PipelineSettings(ocr_backend="titled"))


def test_a_shaken_vat_photo_is_sharpened_when_its_qr_code_then_decodes(monkeypatch):
    result = _read(monkeypatch, "浙江增值税电子普通发票", _shake(_page(), 9, 30.0))
    assert [code.text for code in result.qr_codes] == [PAYLOAD]
    assert any("camera shake" in w for w in result.warnings) and result.timings["deblur"] > 0


def test_no_sharpening_is_tried_for_a_kind_without_a_qr_code_or_when_the_code_decodes(monkeypatch):
    taxi = _read(monkeypatch, "出租汽车发票", _shake(_page(), 9, 30.0))
    assert taxi.qr_codes == [] and "deblur" not in taxi.timings
    sharp = _read(monkeypatch, "浙江增值税电子普通发票", _page())
    assert [code.text for code in sharp.qr_codes] == [PAYLOAD] and "deblur" not in sharp.timings
