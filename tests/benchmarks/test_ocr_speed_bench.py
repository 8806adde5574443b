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


def _record(set_name, case, ocr, marks):
    return {"set": set_name, "case": case, "ocr": ocr, "marks": marks, "wall": ocr, "timings": {}, "error": None}


def test_documents_without_key_fields_are_not_counted_and_speed_ups_pair_the_same_images():
    from benchmarks.ocr_speed_bench import speedups, table

    ours = {"engine": "rapidocr", "peak_rss_mb": 600.0, "records": [
        _record("photos", "a", 0.5, {"invoice_number": True}), _record("photos", "b", 1.0, {"invoice_number": False}),
        _record("photos", "c", 0.4, {})]}
    default = {"engine": "rapidocr-default", "peak_rss_mb": 1200.0, "records": [
        _record("photos", "a", 1.5, {"invoice_number": True}), _record("photos", "b", 2.0, {"invoice_number": True}),
        _record("photos", "c", 0.8, {})]}
    text = table([ours, default])
    assert "| 1/2 | 600 |" in text  # "all 5 right" over the two documents that print a key field
    ratios = speedups([ours, default])
    assert "rapidocr over rapidocr-default on photos: median 2.00x over 3 images" in ratios  # 3x, 2x, 2x


def test_worker_memory_reads_peak_and_resident_memory_of_a_process():
    import os

    from benchmarks.worker_memory import _mb, _status

    status = _status(os.getpid())
    assert _mb(status["VmHWM"]) >= _mb(status["VmRSS"]) > 10


def test_vat_photo_medians_count_vat_invoices_only():
    from benchmarks.ocr_speed_bench import vat_photos

    def rec(case, ocr, set_name="photos"):
        return {"set": set_name, "case": case, "ocr": ocr, "wall": ocr + 0.1}

    ours = {"engine": "rapidocr", "records": [rec("000_vat_e_normal.jpg", 1.0), rec("001_digital_normal.jpg", 0.5),
                                               rec("002_digital_special.jpg", 0.8), rec("004_taxi.jpg", 0.1),
                                               rec("01_vat_e_normal_x.png", 0.1, "real")]}
    plain = {"engine": "rapidocr-default-raw",
             "records": [rec("000_vat_e_normal.jpg", 3.0), rec("001_digital_normal.jpg", 1.0),
                         rec("002_digital_special.jpg", 2.0), rec("004_taxi.jpg", 9.0)]}
    lines = vat_photos([ours, plain]).splitlines()
    assert lines[0].endswith("rapidocr: median OCR 0.80 s, whole read 0.90 s over 3 images; "
                             "OCR speed-up over rapidocr-default-raw: median 2.50x")
    assert lines[1].endswith("rapidocr-default-raw: median OCR 2.00 s, whole read 2.10 s over 3 images")
    assert vat_photos([{"engine": "rapidocr", "records": [rec("004_taxi.jpg", 0.1)]}]) == ""
