import shutil

import cv2
import numpy as np
import pytest

from benchmarks.ocr_speed_bench import paint_qr, register_bench_engines
from pipeline.config import PipelineSettings
from pipeline.ocr import get_engine
from pipeline.readers.qr import decode_qr


def _page_with_qr() -> bytes:
    page = np.full((700, 1000, 3), 255, np.uint8)
    code = cv2.QRCodeEncoder.create().encode("01,10,033001800211,23456789,100.00,20240105,,1234,")
    big = cv2.resize(code, None, fx=6, fy=6, interpolation=cv2.INTER_NEAREST)
    page[40:40 + big.shape[0], 40:40 + big.shape[1]] = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
    cv2.putText(page, "NO 23456789", (500, 400), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2)
    ok, buf = cv2.imencode(".png", page)
    assert ok
    return buf.tobytes()


def test_painting_removes_the_qr_and_keeps_the_text():
    data = _page_with_qr()
    assert decode_qr(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))
    painted, count = paint_qr(data)
    image = cv2.imdecode(np.frombuffer(painted, np.uint8), cv2.IMREAD_COLOR)
    assert count == 1 and decode_qr(image) == []
    assert image[380:405, 500:700].min() < 100  # the printed number is still there


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="apt-get install tesseract-ocr tesseract-ocr-chi-sim")
def test_tesseract_baseline_returns_lines_with_boxes():
    register_bench_engines()
    img = np.full((160, 900, 3), 255, np.uint8)
    cv2.putText(img, "INVOICE 33207675", (30, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (0, 0, 0), 3, cv2.LINE_AA)
    lines = get_engine("tesseract", PipelineSettings()).recognize(img)
    line = next(line for line in lines if "33207675" in line.text.replace(" ", ""))
    assert line.box[0] < 80 and line.box[2] > 400 and 0 <= line.confidence <= 1
