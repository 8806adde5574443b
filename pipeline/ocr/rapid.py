"""OCR backend ``rapidocr``: RapidOCR (PP-OCRv6 small det/rec + mobile cls) on onnxruntime.

Contract: the engine is built with explicit model paths into the rapidocr wheel's own ``models/`` folder, so it
never reaches for a model hub; a missing file raises ``BackendUnavailable`` naming it. onnxruntime uses
``settings.ocr_threads`` intra-op threads and one inter-op thread; rapidocr logs at warning level only.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.ocr.base import quad_to_box, register
from pipeline.types import TextLine

MODEL_FILES = {
    "Det": "PP-OCRv6_det_small.onnx",
    "Rec": "PP-OCRv6_rec_small.onnx",
    "Cls": "ch_ppocr_mobile_v2.0_cls_mobile.onnx",
}


def models_dir() -> Path:
    """The ``models/`` folder of the installed rapidocr package (found without importing it)."""
    spec = importlib.util.find_spec("rapidocr")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable("OCR backend 'rapidocr' is not installed: pip install rapidocr onnxruntime")
    return Path(next(iter(spec.submodule_search_locations))) / "models"


@register("rapidocr")
class RapidOcrEngine:
    name = "rapidocr"

    def __init__(self, settings: PipelineSettings) -> None:
        folder = models_dir()
        paths = {section: folder / filename for section, filename in MODEL_FILES.items()}
        for path in paths.values():
            if not path.is_file():
                raise BackendUnavailable(f"OCR backend 'rapidocr': model file {path} is missing; "
                                         "reinstall rapidocr (the models ship inside its wheel)")
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:
            raise BackendUnavailable(f"OCR backend 'rapidocr' cannot be imported: {exc}") from None
        threads = max(1, int(settings.ocr_threads))
        params = {
            "Global.log_level": "warning",
            "Global.model_root_dir": str(folder),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        params.update({f"{section}.model_path": str(path) for section, path in paths.items()})
        self._ocr = RapidOCR(params=params)

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        result = self._ocr(image)
        boxes, texts, scores = (getattr(result, attr, None) for attr in ("boxes", "txts", "scores"))
        if boxes is None or texts is None or scores is None:
            return []
        return [TextLine(text=text, box=quad_to_box(quad), confidence=float(score))
                for quad, text, score in zip(boxes, texts, scores, strict=True) if text.strip()]
