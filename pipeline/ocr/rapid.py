"""OCR backend ``rapidocr``: RapidOCR (PP-OCRv6 small det/rec + mobile cls) on onnxruntime.

Contract: the engine is built with explicit model paths into the rapidocr wheel's own ``models/`` folder, so it
never reaches for a model hub; a missing file raises ``BackendUnavailable`` naming it. onnxruntime uses
``settings.ocr_threads`` intra-op threads and one inter-op thread; rapidocr logs at warning level only.

Speed settings (defaults chosen by ``benchmarks/ocr_speed_bench.py``): ``ocr_max_side_len`` caps the image's longer
side before OCR (trims peak memory), ``ocr_det_limit_side_len`` /
``ocr_det_limit_type`` size the detection input, ``ocr_use_cls`` runs the 180° text-line classifier (off by
default: the image reader's clean-up has already turned the page upright), ``ocr_rec_min_width`` is the width
every recognition batch is padded to at least (rapidocr pads to 320, so short labels cost as much as a long line)
and ``ocr_rec_batch_num`` the recognition batch size. ``ocr_skip_cipher`` drops the boxes of a VAT invoice's
密码区 between detection and recognition (``pipeline.ocr.regions.cipher_rows``), so they are never recognised.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.ocr.base import quad_to_box, register
from pipeline.ocr.regions import cipher_rows
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


def rapidocr_params(settings: PipelineSettings) -> dict[str, object]:
    """rapidocr config keys for the speed settings; raises ``ValueError`` for values it cannot use."""
    if settings.ocr_det_limit_type not in {"max", "min"}:
        raise ValueError(f"ocr_det_limit_type must be 'max' or 'min', not {settings.ocr_det_limit_type!r}")
    if settings.ocr_max_side_len < 64 or settings.ocr_det_limit_side_len < 32 or settings.ocr_rec_min_width < 16 or settings.ocr_rec_batch_num < 1:
        raise ValueError("ocr_det_limit_side_len >= 32, ocr_rec_min_width >= 16 and ocr_rec_batch_num >= 1")
    return {
        "Global.max_side_len": int(settings.ocr_max_side_len),
        "Det.limit_side_len": int(settings.ocr_det_limit_side_len),
        "Det.limit_type": settings.ocr_det_limit_type,
        "Rec.rec_img_shape": [3, 48, int(settings.ocr_rec_min_width)],
        "Rec.rec_batch_num": int(settings.ocr_rec_batch_num),
    }


def _without_cipher(detect_and_crop):
    """Wrap rapidocr's detection step (``(img, op_record) -> (crops, det_output)``) to drop 密码区 boxes."""

    def detect(img: np.ndarray, op_record: dict):
        crops, det = detect_and_crop(img, op_record)
        if det.boxes is None or not len(det.boxes):
            return crops, det
        h, w = img.shape[:2]
        drop = cipher_rows([quad_to_box(quad) for quad in det.boxes], w, h)
        if drop and len(drop) < len(crops):
            keep = [i for i in range(len(crops)) if i not in drop]
            det.boxes = det.boxes[keep]
            det.scores = [det.scores[i] for i in keep] if det.scores is not None else None
            crops = [crops[i] for i in keep]
        return crops, det

    return detect


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
        params.update(rapidocr_params(settings))
        self._use_cls = bool(settings.ocr_use_cls)
        self._ocr = RapidOCR(params=params)
        if settings.ocr_skip_cipher:
            self._ocr.detect_and_crop = _without_cipher(self._ocr.detect_and_crop)

    def recognize(self, image: np.ndarray) -> list[TextLine]:
        result = self._ocr(image, use_cls=self._use_cls)
        boxes, texts, scores = (getattr(result, attr, None) for attr in ("boxes", "txts", "scores"))
        if boxes is None or texts is None or scores is None:
            return []
        return [TextLine(text=text, box=quad_to_box(quad), confidence=float(score))
                for quad, text, score in zip(boxes, texts, scores, strict=True) if text.strip()]
