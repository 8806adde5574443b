"""Settings of the pipeline stages, read from the environment (prefix ``REIMBURSE_``).

The API's settings (``api.settings``) add database and OA settings on top; the pipeline never reads them.
"""

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class PipelineSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REIMBURSE_", extra="ignore")

    ocr_backend: str = "rapidocr"
    ocr_threads: int = 2
    # OCR speed levers (rapidocr), kept by measurement: benchmarks/ocr_speed_bench.py, benchmarks/RESULTS.md.
    # detection input: longer side scaled down to 960 ("max"). Recognition still crops the lines from the full
    # image, so only detection works at the smaller size: on the generated photos and the QR-painted real images it
    # found every key field "min" 736 found (800 lost some), in less time and memory (benchmarks/RESULTS.md)
    ocr_det_limit_side_len: int = 960
    ocr_det_limit_type: str = "max"
    ocr_max_side_len: int = 1600  # OCR input capped to this longer side (rapidocr: 2000); trims peak memory a little
    ocr_use_cls: bool = False  # the 180° line classifier; the clean-up already turns the page upright
    ocr_rec_min_width: int = 160  # recognition pads each crop batch to at least this width (rapidocr: 320)
    ocr_rec_batch_num: int = 6
    ocr_rec_batch_width: int = 1600  # at most this many padded pixels per recognition batch (bounds peak memory)
    ocr_skip_cipher: bool = True  # drop the 密码区 boxes between detection and recognition (4 long lines of noise)
    # leave unread the values labelled 地址、电话 / 开户行及账号 (read the labels first; pipeline.ocr.regions)
    ocr_skip_unneeded: bool = True
    # re-read a taxpayer ID that fails the USCC checks, or a date that is no date, from the recogniser's second
    # choices (pipeline.ocr.repair)
    ocr_repair: bool = True
    # the inference runtime under rapidocr: "onnxruntime" (float32), "openvino" (the `openvino` package; bfloat16 on
    # CPUs with AVX512-BF16 or AMX, float32 elsewhere) or "auto": OpenVINO where it infers in bfloat16 and runs a
    # trial page faster (timed when the engine is built), else onnxruntime
    ocr_runtime: str = "auto"
    # Input limits: a file past these is refused with a clear error, never half-read.
    max_file_bytes: int = 30 * 1024 * 1024
    max_image_pixels: int = 60_000_000
    max_pdf_pages: int = 20
    pdf_render_scale: float = 3.0
    # Cost attribution: below this probability the model abstains and a human decides.
    abstain_threshold: float = 0.6
    model_dir: Path | None = None  # None = the artefacts shipped in models/artefacts


@lru_cache(maxsize=1)
def get_pipeline_settings() -> PipelineSettings:
    return PipelineSettings()
