"""OCR engines behind one interface, chosen by name (``settings.ocr_backend``).

Use ``get_engine(settings.ocr_backend, settings).recognize(image)``; see ``pipeline.ocr.base`` for the contract.
Backends: ``rapidocr`` (default; models shipped in the rapidocr wheel, never downloads) and ``paddleocr``
(optional extra ``.[paddle]`` with local model folders). Importing this package imports neither OCR library:
each backend loads its library when first constructed.
"""

from pipeline.ocr import paddle as _paddle  # noqa: F401  (registers "paddleocr")
from pipeline.ocr import rapid as _rapid  # noqa: F401  (registers "rapidocr")
from pipeline.ocr.base import OcrEngine, get_engine, register, registered_engines

__all__ = ["OcrEngine", "get_engine", "register", "registered_engines"]
