from typing import ClassVar

import cv2
import numpy as np
import pytest
from reader_fixtures import REAL_DATA

from pipeline.config import PipelineSettings
from pipeline.errors import UnreadableImage
from pipeline.ingest import ingest_bytes
from pipeline.ocr import base
from pipeline.readers import image as image_reader
from pipeline.readers.cleanup import find_document
from pipeline.readers.image import read_image
from pipeline.readers.imageio import decode_image
from pipeline.readers.quality import BLURRED, GLARE, TOO_DARK, TOO_SMALL, assess
from pipeline.types import QrCode, TextLine

PAYLOAD = "01,10,012001800311,33207675,46.62,20190508,76939056883466677916,E1BD,"


def _page(width: int = 1400, height: int = 900) -> np.ndarray:
    img = np.full((height, width, 3), 245, np.uint8)
    for i in range(20):
        cv2.putText(img, f"ITEM {i:02d} INVOICE 1489{i:04d} AMOUNT {120 + i}.50", (60, 50 + 40 * i),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.75, (20, 20, 20), 2, cv2.LINE_AA)
    return img


def _generated(kind_index: int):
    generate = pytest.importorskip("benchmarks.photos.generate")
    from benchmarks.photos.render import FontsMissing

    try:
        sample = generate.make_sample(seed=11, index=kind_index, severity="mild", max_side=1600)
    except FontsMissing as exc:
        pytest.skip(str(exc))
    return decode_image(sample.jpeg, 60_000_000, 2400)


@pytest.mark.parametrize("kind_index", [0, 4])  # legacy 电子普票, taxi slip
def test_generated_photo_passes_and_its_blurred_copy_fails(kind_index):
    photo = _generated(kind_index)
    document = find_document(photo)
    sharp = assess(photo, document)
    assert not sharp.severe and BLURRED not in sharp.problems, sharp
    assert sharp.text_height is not None and sharp.text_height >= 10
    blurred = assess(cv2.GaussianBlur(photo, (0, 0), 0.45 * sharp.text_height), document)
    assert blurred.severe and BLURRED in blurred.problems, blurred


def test_sharp_page_is_fine_and_measures_are_taken():
    q = assess(_page())
    assert q.ok and not q.severe
    assert 12 <= q.text_height <= 22 and q.blur < 0.05 and q.contrast > 150 and q.glare == 0


def test_heavy_blur_is_severe_and_mild_blur_is_not():
    assert assess(cv2.GaussianBlur(_page(), (0, 0), 1.0)).ok
    heavy = assess(cv2.GaussianBlur(_page(), (0, 0), 9))
    assert heavy.severe and heavy.problems == [BLURRED]


def test_tiny_text_is_too_small():
    q = assess(cv2.resize(_page(), None, fx=0.2, fy=0.2, interpolation=cv2.INTER_AREA))
    assert q.severe and TOO_SMALL in q.problems


def test_dark_photo_is_a_warning_and_a_black_one_severe():
    dim = assess((_page() * 0.2).astype(np.uint8))
    assert dim.problems == [TOO_DARK] and not dim.severe
    black = assess((_page() * 0.02).astype(np.uint8))
    assert black.severe and TOO_DARK in black.problems


def test_glare_spot_on_grey_paper():
    page = (_page().astype(np.float32) * 0.8).astype(np.uint8)  # indoor light: paper ~196
    cv2.ellipse(page, (700, 450), (260, 160), 0, 0, 360, (255, 255, 255), -1)
    q = assess(page)
    assert GLARE in q.problems and not q.severe and q.glare > 0.04


def test_a_small_glare_spot_is_enough_to_warn():
    page = (_page().astype(np.float32) * 0.8).astype(np.uint8)
    cv2.circle(page, (500, 400), 135, (255, 255, 255), -1)  # under 2%: a spot like this erased a receipt's number
    q = assess(page)
    assert 0.01 <= q.glare < 0.02 and GLARE in q.problems


def test_blank_white_image_has_nothing_to_complain_about():
    q = assess(np.full((600, 800, 3), 255, np.uint8))
    assert q.ok and q.text_height is None and q.blur is None


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_DATA.is_dir(), reason="real documents not present")
def test_every_real_image_passes_the_gate():
    paths = [p for folder in ("cn_img", "cn_img_batch") for p in sorted((REAL_DATA / folder).iterdir())
             if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    assert len(paths) >= 20
    for path in paths:
        image = decode_image(path.read_bytes(), 60_000_000, 2400)
        q = assess(image, find_document(image))
        assert q.ok, (path.name, q)  # measured: blur 0.00 and text 10–17 px on all of them


# ----------------------------------------------------------------- the gate inside read_image

class _Engine:
    name = "scripted"
    lines: ClassVar[list[TextLine]] = []
    calls = 0

    def __init__(self, settings):
        pass

    def recognize(self, image):
        type(self).calls += 1
        return list(self.lines)


@pytest.fixture
def scripted(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "scripted", _Engine)
    monkeypatch.setattr(base, "_ENGINES", {})
    _Engine.calls = 0
    _Engine.lines = [TextLine("发票号码 33207675", (10, 10, 200, 30), 0.9)]
    return PipelineSettings(ocr_backend="scripted")


def _png(image: np.ndarray) -> bytes:
    ok, buf = cv2.imencode(".png", image)
    assert ok
    return buf.tobytes()


def test_severe_photo_without_qr_is_refused_before_ocr(scripted):
    blurred = cv2.GaussianBlur(_page(), (0, 0), 9)
    with pytest.raises(UnreadableImage, match="blurred, please retake"):
        read_image(ingest_bytes("a.png", _png(blurred)), scripted)
    assert _Engine.calls == 0


def test_a_decoded_qr_code_overrides_the_gate(scripted, monkeypatch):
    # a QR code survives blur that text does not (its modules are large); stand in for that decoder result
    monkeypatch.setattr(image_reader, "decode_qr", lambda image, page=0: [QrCode(PAYLOAD, page, (5, 5, 60, 60))])
    blurred = cv2.GaussianBlur(_page(), (0, 0), 9)
    result = read_image(ingest_bytes("a.png", _png(blurred)), scripted)
    assert [c.text for c in result.qr_codes] == [PAYLOAD]
    assert BLURRED in result.warnings and _Engine.calls == 1


def test_lesser_problems_refuse_only_when_ocr_finds_no_invoice_number(scripted):
    dim = _png((_page() * 0.2).astype(np.uint8))
    result = read_image(ingest_bytes("a.png", dim), scripted)
    assert result.warnings == [TOO_DARK] and result.pages[0].lines
    _Engine.lines = [TextLine("增值税电子普通发票", (10, 10, 200, 30), 0.9)]
    with pytest.raises(UnreadableImage, match="too dark"):
        read_image(ingest_bytes("a.png", dim), scripted)
