"""The OCR engine contract and the registry of engines by name.

Contract:
* An ``OcrEngine`` has a ``name`` and ``recognize(image) -> list[TextLine]``. ``image`` is a ``uint8`` numpy array,
  BGR ``HxWx3`` (OpenCV's order) or grey ``HxW``. Each returned line carries its text, an axis-aligned box
  ``(x0, y0, x1, y1)`` in the image's pixel coordinates and the engine's confidence in [0, 1]; ``page`` is left
  at 0 (the reader sets it). Lines come in the engine's order; readers sort them.
* ``recognize`` may be called from several threads at once (the API's request threads share one engine): an engine
  whose sessions or state cannot serve two pages at once serialises them (both built-in engines do).
* Engines register with ``@register("name")`` on a class whose constructor takes ``PipelineSettings`` and raises
  ``BackendUnavailable`` (with what to install or which file is missing) when it cannot run.
* ``get_engine(name, settings)`` builds an engine once per process per (name, ``ocr_*`` settings) and reuses it.
  Names are looked up in the registry only: configuration never imports or evaluates code.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.config import PipelineSettings
from pipeline.errors import BackendUnavailable
from pipeline.types import TextLine


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def recognize(self, image: np.ndarray) -> list[TextLine]: ...


EngineFactory = Callable[[PipelineSettings], OcrEngine]

_REGISTRY: dict[str, EngineFactory] = {}
_ENGINES: dict[tuple, OcrEngine] = {}
_LOCK = threading.Lock()


def register(name: str) -> Callable[[EngineFactory], EngineFactory]:
    """Class decorator: make ``factory`` available as OCR backend ``name``."""

    def decorator(factory: EngineFactory) -> EngineFactory:
        if name in _REGISTRY and _REGISTRY[name] is not factory:
            raise ValueError(f"OCR backend {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorator


def registered_engines() -> list[str]:
    return sorted(_REGISTRY)


def get_engine(name: str, settings: PipelineSettings) -> OcrEngine:
    """The process-wide engine ``name``; raises ``BackendUnavailable`` for unknown or unusable backends."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise BackendUnavailable(
            f"unknown OCR backend {name!r}; registered backends: {', '.join(registered_engines()) or 'none'}")
    key = (name, *engine_options(settings))
    engine = _ENGINES.get(key)
    if engine is None:
        with _LOCK:
            engine = _ENGINES.get(key)
            if engine is None:
                engine = factory(settings)
                _ENGINES[key] = engine
    return engine


def engine_options(settings: PipelineSettings) -> tuple:
    """The ``ocr_*`` settings, in a fixed order: engines built with different options are different engines."""
    return tuple((field, getattr(settings, field)) for field in sorted(type(settings).model_fields)
                 if field.startswith("ocr_") and field != "ocr_backend")


def quad_to_box(points: np.ndarray) -> tuple[float, float, float, float]:
    """Axis-aligned ``(x0, y0, x1, y1)`` around a polygon given as an ``Nx2`` array of points."""
    pts = np.asarray(points, dtype=float).reshape(-1, 2)
    return (float(pts[:, 0].min()), float(pts[:, 1].min()), float(pts[:, 0].max()), float(pts[:, 1].max()))


__all__ = ["OcrEngine", "engine_options", "get_engine", "quad_to_box", "register", "registered_engines"]
