"""OCR backend ``paddleocr``: PaddleOCR 3.x with local model folders (optional extra ``.[paddle]``).

Contract: registered always, but ``paddleocr`` is imported only when the engine is built. It runs only from local
folders: ``REIMBURSE_PADDLE_MODEL_DIR`` must hold ``det/`` and ``rec/`` model folders, each with the
``inference.yml`` that names its model (``Global.model_name``); the model-hub probe is switched off. Without
paddleocr or without the folders, construction raises ``BackendUnavailable`` saying what to do. When
paddlepaddle itself is not installed the onnxruntime engine is used (the folders must then hold ``.onnx`` files).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path

import numpy as np
import yaml

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.ocr.base import register
from pipeline.types import TextLine

MODEL_DIR_ENV = "REIMBURSE_PADDLE_MODEL_DIR"
_HOW_TO = (f"pip install .[paddle] and set {MODEL_DIR_ENV} to a folder holding det/ and rec/ model folders "
           "(each with its inference.yml); models are never downloaded")


def _model_name(folder: Path) -> str:
    config = folder / "inference.yml"
    if not config.is_file():
        raise BackendUnavailable(f"OCR backend 'paddleocr': {config} is missing; {_HOW_TO}")
    try:
        name = (yaml.safe_load(config.read_text(encoding="utf-8")) or {}).get("Global", {}).get("model_name")
    except (yaml.YAMLError, AttributeError) as exc:
        raise BackendUnavailable(f"OCR backend 'paddleocr': cannot read {config}: {exc}") from None
    if not name:
        raise BackendUnavailable(f"OCR backend 'paddleocr': {config} names no Global.model_name")
    return str(name)


@register("paddleocr")
class PaddleOcrEngine:
    name = "paddleocr"

    def __init__(self, settings: PipelineSettings) -> None:
        if importlib.util.find_spec("paddleocr") is None:
            raise BackendUnavailable(f"OCR backend 'paddleocr' is not installed: {_HOW_TO}")
        root = os.environ.get(MODEL_DIR_ENV)
        if not root:
            raise BackendUnavailable(f"OCR backend 'paddleocr' has no local models: {_HOW_TO}")
        det, rec = Path(root) / "det", Path(root) / "rec"
        names = {folder: _model_name(folder) for folder in (det, rec)}
        os.environ.setdefault("PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK", "True")
        from paddleocr import PaddleOCR

        options = {}
        if importlib.util.find_spec("paddle") is None:
            options["engine"] = "onnxruntime"
        self._ocr = PaddleOCR(
            text_detection_model_name=names[det], text_detection_model_dir=str(det),
            text_recognition_model_name=names[rec], text_recognition_model_dir=str(rec),
            use_doc_orientation_classify=False, use_doc_unwarping=False, use_textline_orientation=False,
            cpu_threads=max(1, int(settings.ocr_threads)), **options)
        self._lock = threading.Lock()  # one page at a time, as rapidocr: the API's request threads share the engine

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        lines: list[TextLine] = []
        with self._lock:
            results = list(self._ocr.predict(image))
        for result in results:
            for text, score, box in zip(result["rec_texts"], result["rec_scores"], result["rec_boxes"],
                                        strict=True):
                if text.strip():
                    x0, y0, x1, y1 = (float(v) for v in box)
                    lines.append(TextLine(text=text, box=(x0, y0, x1, y1), confidence=float(score)))
        return lines
