import importlib.util
from pathlib import Path

import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.ocr import openvino_runtime
from pipeline.ocr.openvino_runtime import resolve_runtime


def test_named_runtimes_are_taken_as_given():
    assert resolve_runtime("onnxruntime") == "onnxruntime"
    assert resolve_runtime("openvino") == "openvino"


@pytest.mark.parametrize(("bf16", "expected"), [(True, "openvino"), (False, "onnxruntime")])
def test_auto_takes_openvino_only_where_it_infers_in_bfloat16(monkeypatch, bf16, expected):
    monkeypatch.setattr(openvino_runtime, "has_bf16", lambda: bf16)
    assert resolve_runtime("auto") == expected


def test_without_the_openvino_package_there_is_no_bfloat16(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "openvino" else real_find_spec(name, *a))
    assert openvino_runtime.has_bf16.__wrapped__() is False


def test_auto_keeps_openvino_only_where_it_reads_the_trial_page_faster(monkeypatch, caplog):
    pytest.importorskip("openvino")
    import logging

    from pipeline.ocr import rapid

    monkeypatch.setattr(openvino_runtime, "has_bf16", lambda: True)
    monkeypatch.setattr(rapid, "_TRIAL_VERDICTS", {})
    timings = iter([0.0, 1.0, 0.0, 0.95])  # onnxruntime 1.0 s, OpenVINO 0.95 s: not the 10% it must win by
    monkeypatch.setattr(rapid, "_clock", lambda: next(timings))
    with caplog.at_level(logging.INFO, logger=rapid.log.name):
        slower = rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="auto"))
    assert slower.runtime == "onnxruntime" and "0.95 s on OpenVINO, 1.00 s on onnxruntime" in caplog.text
    timings = iter([0.0, 1.0, 0.0, 0.7])
    assert rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="auto")).runtime == "onnxruntime"  # decided once
    rapid._TRIAL_VERDICTS.clear()
    assert rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="auto")).runtime == "openvino"
    monkeypatch.setattr(rapid.RapidOcrEngine, "_openvino_wins", lambda *a: pytest.fail("no trial for a named runtime"))
    assert rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="openvino")).runtime == "openvino"


def test_the_trial_page_ships_with_the_engine():
    import cv2

    from pipeline.ocr.rapid import TRIAL_PAGE

    page = cv2.imread(str(TRIAL_PAGE))
    assert page is not None and min(page.shape[:2]) >= 700


def test_auto_is_the_default():
    assert PipelineSettings().ocr_runtime == "auto"


@pytest.fixture(scope="module")
def detector_path():
    pytest.importorskip("openvino")
    from pipeline.ocr.rapid import MODEL_FILES, models_dir

    return models_dir() / MODEL_FILES["Det"]


def test_a_square_session_pads_smaller_inputs_and_cuts_the_map_back(detector_path):
    session = openvino_runtime.OpenVinoSession(detector_path, threads=1, square=256)
    rng = np.random.default_rng(0)
    for shape in [(1, 3, 256, 256), (1, 3, 128, 224), (1, 3, 64, 256)]:
        out = session(rng.random(shape, dtype=np.float32))
        assert out.shape == (1, 1, *shape[2:]) and np.isfinite(out).all()
    assert session._dynamic is None  # all of them fitted the static shape


def test_an_input_larger_than_the_square_goes_to_a_dynamic_model(detector_path):
    session = openvino_runtime.OpenVinoSession(detector_path, threads=1, square=128)
    out = session(np.zeros((1, 3, 96, 320), np.float32))
    assert out.shape == (1, 1, 96, 320) and session._dynamic is not None


def test_the_width_ladder_starts_at_its_base_and_climbs_by_a_quarter():
    from pipeline.ocr.openvino_runtime import ladder_width

    assert [ladder_width(w, 160) for w in (1, 100, 160, 161, 200, 201, 320, 321)] == [8, 104, 160, 200, 200, 256,
                                                                                      320, 400]
    rungs = sorted({ladder_width(w, 160) for w in range(161, 4000)})
    assert all(b % 8 == 0 and 1.2 <= b / a <= 1.3 for a, b in zip(rungs, rungs[1:]))  # few shapes, little padding


def test_a_ladder_session_reads_a_line_as_the_plain_session_does():
    """The recogniser on OpenVINO pads each batch to a rung of the width ladder (the CPU plugin is slow on every new
    input shape): a few more timesteps over the padding, the same reading of a clear line."""
    import cv2

    from pipeline.ocr.rapid import MODEL_FILES, models_dir

    pytest.importorskip("openvino")
    path = models_dir() / MODEL_FILES["Rec"]
    line = np.full((60, 420, 3), 255, np.uint8)
    cv2.putText(line, "NO 33207675", (10, 45), cv2.FONT_HERSHEY_SIMPLEX, 1.3, (0, 0, 0), 3, cv2.LINE_AA)
    width = round(48 * line.shape[1] / line.shape[0])
    batch = (cv2.resize(line, (width, 48)).astype(np.float32).transpose(2, 0, 1)[None] / 255 - 0.5) / 0.5
    plain = openvino_runtime.OpenVinoSession(path, threads=1)(batch)
    laddered = openvino_runtime.OpenVinoSession(path, threads=1, ladder=160)(batch)
    assert laddered.shape[1] > plain.shape[1]  # the line was padded

    def reading(out: np.ndarray) -> list[int]:
        best = out[0].argmax(axis=1)
        return [int(k) for i, k in enumerate(best) if k and (i == 0 or k != best[i - 1])]

    assert len(reading(plain)) >= 10 and reading(laddered) == reading(plain)


def test_a_full_batch_holds_as_many_crops_of_a_width_as_the_batch_width_allows():
    assert openvino_runtime.full_batch(160, 6, 1600) == 6
    assert openvino_runtime.full_batch(400, 6, 1600) == 4
    assert openvino_runtime.full_batch(504, 6, 1600) == 3
    assert openvino_runtime.full_batch(2000, 6, 1600) == 1  # a line wider than the cap goes alone


def test_a_short_batch_is_filled_with_blank_crops_that_are_cut_off_the_output():
    """Filled to a full batch (fewer input shapes for the CPU plugin), the real rows read as they do alone."""
    import cv2

    from pipeline.ocr.rapid import MODEL_FILES, models_dir

    pytest.importorskip("openvino")
    path = models_dir() / MODEL_FILES["Rec"]
    rows = []
    for text in ("NO 33207675", "2025-06-12"):
        line = np.full((48, 300, 3), 255, np.uint8)
        cv2.putText(line, text, (8, 36), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (0, 0, 0), 2, cv2.LINE_AA)
        rows.append((line.astype(np.float32).transpose(2, 0, 1) / 255 - 0.5) / 0.5)
    batch = np.stack(rows)
    seen = []
    session = openvino_runtime.OpenVinoSession(path, threads=1, ladder=160, batch=(6, 1600))
    infer = session._infer
    session._infer = lambda request, padded, rows=None: seen.append(padded.shape) or infer(request, padded, rows)
    filled = session(batch)
    alone = openvino_runtime.OpenVinoSession(path, threads=1, ladder=160)(batch)
    assert seen == [(5, 3, 48, 320)]  # 300 px is padded to the 320 rung, where five crops make a full batch
    assert filled.shape == alone.shape and filled.shape[0] == 2
    assert (filled.argmax(axis=2) == alone.argmax(axis=2)).all()


def test_the_openvino_runtime_replaces_the_detection_and_recognition_sessions(detector_path):
    from pipeline.ocr.rapid import RapidOcrEngine

    engine = RapidOcrEngine(PipelineSettings(ocr_runtime="openvino"))
    assert engine.runtime == "openvino"
    assert isinstance(engine._ocr.text_det.session, openvino_runtime.OpenVinoSession)
    assert isinstance(engine._ocr.text_rec._recognizer.session._session, openvino_runtime.OpenVinoSession)


def _broken_openvino(monkeypatch):
    from pipeline.ocr import rapid

    monkeypatch.setattr(rapid, "_TRIAL_VERDICTS", {})  # no verdict from an earlier engine in this process

    def refuse(*args, **kwargs):
        raise RuntimeError("Exception from src/inference/src/cpp/core.cpp: unsupported CPU")

    monkeypatch.setattr(rapid, "OpenVinoSession", refuse)
    monkeypatch.setattr(openvino_runtime, "has_bf16", lambda: True)
    return rapid


def test_auto_falls_back_to_onnxruntime_when_openvino_cannot_compile(monkeypatch, caplog):
    import cv2

    rapid = _broken_openvino(monkeypatch)
    engine = rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="auto"))
    assert engine.runtime == "onnxruntime" and "using onnxruntime" in caplog.text
    img = np.full((120, 700, 3), 255, np.uint8)
    cv2.putText(img, "INVOICE NO 33207675", (20, 75), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    assert any("33207675" in line.text.replace(" ", "") for line in engine.recognize(img))


def test_openvino_asked_for_by_name_says_why_it_cannot_run(monkeypatch):
    from pipeline.errors import BackendUnavailable

    rapid = _broken_openvino(monkeypatch)
    with pytest.raises(BackendUnavailable, match="OpenVINO cannot run the models here: .*unsupported CPU"):
        rapid.RapidOcrEngine(PipelineSettings(ocr_runtime="openvino"))
