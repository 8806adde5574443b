import cv2
import numpy as np

from pipeline.config import PipelineSettings
from pipeline.ocr import get_engine
from pipeline.ocr.rapid import MODEL_FILES, models_dir


def _text_image() -> np.ndarray:
    img = np.full((220, 900, 3), 255, np.uint8)
    cv2.putText(img, "INVOICE NO 33207675", (30, 80), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(img, "TOTAL 52.70", (30, 170), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    return img


def test_models_ship_in_the_wheel():
    assert all((models_dir() / name).is_file() for name in MODEL_FILES.values())


def test_rapidocr_reads_printed_text_with_boxes():
    engine = get_engine("rapidocr", PipelineSettings())
    lines = engine.recognize(_text_image())
    texts = [line.text.replace(" ", "") for line in lines]
    number = next(line for line in lines if "33207675" in line.text.replace(" ", ""))
    assert any("52.70" in t for t in texts), texts
    x0, y0, x1, y1 = number.box
    assert 0 <= x0 < 120 and 30 <= y0 < 80 and 300 < x1 <= 900 and 60 < y1 < 130
    assert 0.5 < number.confidence <= 1.0


def test_rapidocr_on_a_blank_image_returns_nothing():
    engine = get_engine("rapidocr", PipelineSettings())
    assert engine.recognize(np.full((200, 300, 3), 255, np.uint8)) == []


def test_detection_preprocessing_is_rapidocrs_exactly():
    from rapidocr.ch_ppocr_det.utils import DetPreProcess

    engine = get_engine("rapidocr", PipelineSettings())
    detector = engine._ocr.text_det
    ours = detector.get_preprocess()
    assert type(ours) is not DetPreProcess  # the lookup-table version is installed
    theirs = DetPreProcess(detector.limit_side_len, detector.limit_type, detector.mean, detector.std)
    page = np.random.default_rng(3).integers(0, 256, (700, 1100, 3), dtype=np.uint8)
    expected = theirs(page)
    got = ours(page)
    assert got.dtype == expected.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
    assert np.array_equal(got, expected)
