import importlib.util

import numpy as np
import pytest

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.ocr import OcrEngine, base, get_engine, registered_engines
from pipeline.ocr import rapid
from pipeline.types import TextLine


class _CountingEngine:
    name = "counting"
    built = 0

    def __init__(self, settings: PipelineSettings) -> None:
        type(self).built += 1
        self.threads = settings.ocr_threads

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        return [TextLine("x", (0, 0, 1, 1), 0.5)]


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setitem(base._REGISTRY, "counting", _CountingEngine)
    monkeypatch.setattr(base, "_ENGINES", {})
    _CountingEngine.built = 0
    return _CountingEngine


def test_both_backends_are_registered():
    assert {"rapidocr", "paddleocr"} <= set(registered_engines())


def test_unknown_backend_lists_the_registered_ones():
    with pytest.raises(BackendUnavailable) as err:
        get_engine("easyocr", PipelineSettings())
    assert "easyocr" in str(err.value) and "rapidocr" in str(err.value) and "paddleocr" in str(err.value)


def test_backend_names_are_never_imported_as_code():
    with pytest.raises(BackendUnavailable):
        get_engine("os.system", PipelineSettings())


def test_engines_are_built_once_per_process_and_thread_count(counting):
    one = get_engine("counting", PipelineSettings(ocr_threads=1))
    assert get_engine("counting", PipelineSettings(ocr_threads=1)) is one
    two = get_engine("counting", PipelineSettings(ocr_threads=2))
    assert two is not one and two.threads == 2
    assert counting.built == 2
    assert isinstance(one, OcrEngine)


def test_registering_a_name_twice_is_refused(counting):
    with pytest.raises(ValueError, match="already registered"):
        base.register("counting")(type("Other", (), {}))


def test_quad_to_box_is_axis_aligned():
    quad = np.array([[10, 5], [50, 8], [49, 20], [9, 17]])
    assert base.quad_to_box(quad) == (9.0, 5.0, 50.0, 20.0)


def test_rapidocr_missing_model_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setattr(rapid, "models_dir", lambda: tmp_path)
    with pytest.raises(BackendUnavailable, match="PP-OCRv6_det_small.onnx"):
        rapid.RapidOcrEngine(PipelineSettings())


@pytest.mark.skipif(importlib.util.find_spec("paddleocr") is not None, reason="paddleocr is installed")
def test_paddleocr_without_the_package_says_how_to_install(monkeypatch):
    monkeypatch.setattr(base, "_ENGINES", {})
    with pytest.raises(BackendUnavailable, match=r"pip install \.\[paddle\].*REIMBURSE_PADDLE_MODEL_DIR"):
        get_engine("paddleocr", PipelineSettings())
