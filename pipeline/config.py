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
    # detection input: shorter side scaled up to 736 ("min"); "max" 1280 was faster but lost small-print tax IDs
    ocr_det_limit_side_len: int = 736
    ocr_det_limit_type: str = "min"
    ocr_max_side_len: int = 1600  # OCR input capped to this longer side (rapidocr: 2000); trims peak memory a little
    ocr_use_cls: bool = False  # the 180° line classifier; the clean-up already turns the page upright
    ocr_rec_min_width: int = 160  # recognition pads each crop batch to at least this width (rapidocr: 320)
    ocr_rec_batch_num: int = 6
    ocr_skip_cipher: bool = False  # drop the 密码区 boxes between detection and recognition
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
