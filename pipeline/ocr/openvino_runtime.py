"""The OpenVINO runtime under rapidocr's models: lean inference sessions and the ``auto`` runtime choice.

Contract: ``resolve_runtime(name)`` turns the ``ocr_runtime`` setting into the runtime to use: ``onnxruntime`` and
``openvino`` as given; ``auto`` is ``openvino`` when the package is installed and the CPU infers in bfloat16
(``has_bf16()``: AVX512-BF16 or AMX), else ``onnxruntime`` (measured: on an AVX2-only CPU OpenVINO runs in float32,
no faster than onnxruntime and with more memory). Where ``auto`` gives ``openvino``, the rapidocr engine keeps it
only if it reads a trial page faster than onnxruntime (``pipeline.ocr.rapid``): bfloat16 CPUs differ.
``OpenVinoSession(path, threads)`` compiles one ONNX model and is called like rapidocr's own sessions:
``session(batch) -> np.ndarray``. With ``ladder`` (the recogniser; the value is its minimum width) every input is
zero-padded on the right to ``ladder_width(width, ladder)``, as rapidocr itself pads every batch narrower than its
minimum width: the output has a few more timesteps, read over the padding; and a batch with fewer crops than
``full_batch(rung, batch_num, batch_width)`` (what ``pipeline.ocr.rapid.width_batches`` puts in a full batch of that
width) is filled up with blank crops, whose rows are cut off the output. Why: the CPU plugin pays 20–40 ms for an
input shape it has not cached (measured warm: 5 ms for a 1×160 batch), and a page's recognition batches come in
nearly as many shapes as batches; on the ladder, filled, most shapes repeat within the ``RUNTIME_CACHE_CAPACITY``
shapes kept (simulated over the 40 photos' 327 batches: 25 cold widths instead of 204, for 7% more padded pixels;
in paired runs of the whole pipeline 3–5% less OCR time per VAT invoice page). Filled, a page's batches come in
about one shape per rung, whose oneDNN kernels all fit in ``PRIMITIVE_CACHE_CAPACITY``; with fewer kernels kept,
batches that alternate between shapes re-create theirs (on an AMX CPU a 6×160 batch took 67 ms instead of 33 ms,
and recognition 0.65 s per VAT photo against 0.41 s filled with the larger cache, in the same peak memory).

Why not rapidocr's own OpenVINO session: it keeps the source model beside the compiled one and leaves the CPU
plugin's caches at their defaults, which keep the compiled kernels and buffers of every input shape ever seen (a
page's recognition batches come in many widths): 1,173 MB peak over 40 photos against 572–605 MB with the bounded
caches and the static detector below (``benchmarks/RESULTS.md``).
"""

from __future__ import annotations

import functools
import importlib.util
import math
import os
from pathlib import Path

import numpy as np

RUNTIME_CACHE_CAPACITY = 16  # executors kept for this many input shapes (default 5000; 32 before batches were filled)
PRIMITIVE_CACHE_CAPACITY = 1024  # oneDNN kernels kept (its default); read from the environment when the plugin loads
LADDER_STEP = 1.25  # recognition input widths are rounded up to a ladder of widths this far apart


def ladder_width(width: int, base: int) -> int:
    """The smallest rung at least ``width`` of the ladder that starts at ``base`` (rounded up to a multiple of 8)
    and climbs by ``LADDER_STEP`` (160, 200, 256, 320, 400, 504 …); below ``base``, the next multiple of 8."""
    rung = math.ceil(base / 8) * 8
    if width <= rung:
        return math.ceil(width / 8) * 8
    while rung < width:
        rung = math.ceil(rung * LADDER_STEP / 8) * 8
    return rung


def full_batch(rung: int, batch_num: int, batch_width: int) -> int:
    """How many crops of padded width ``rung`` a full recognition batch holds (at least one)."""
    return max(1, min(batch_num, batch_width // rung))


def _core():
    os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", str(PRIMITIVE_CACHE_CAPACITY))
    import openvino

    return openvino.Core()


@functools.lru_cache(maxsize=1)
def has_bf16() -> bool:
    """Does OpenVINO's CPU plugin infer in bfloat16 on this machine?"""
    if importlib.util.find_spec("openvino") is None:
        return False
    try:
        return "BF16" in _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    except RuntimeError:  # no usable CPU plugin
        return False


def resolve_runtime(name: str) -> str:
    if name != "auto":
        return name
    return "openvino" if has_bf16() else "onnxruntime"


class OpenVinoSession:
    """One compiled model and its infer request: ``session(batch) -> output`` (a copy: the request reuses its
    output buffer on the next call).

    With ``square`` (the detector, whose output map has its input's height and width) the model is compiled for one
    ``square``×``square`` image and every smaller input is padded to it and its map cut back: with one static shape
    OpenVINO plans its buffers once (91 MB for a 960×960 input, against 200 MB as dynamic shapes come and go) and
    runs faster. The padding mirrors the page: the detector pools over the whole image (8 squeeze-and-excitation
    blocks: GlobalAveragePool + HardSigmoid), so what fills the padding shifts every box a little; over 160
    generated photos mirrored padding missed exactly the fields the unpadded detector missed; repeated edge pixels
    missed 2 more (and white, on the first 40, 2 more). An input larger than the square goes to a dynamic-shape
    model compiled when first needed.
    """

    def __init__(self, path: Path, threads: int, square: int | None = None, ladder: int | None = None,
                 batch: tuple[int, int] | None = None) -> None:
        """``batch``: the recogniser's (``batch_num``, ``batch_width``), for filling batches (with ``ladder``)."""
        self._core = _core()
        self._core.set_property("CPU", {"INFERENCE_NUM_THREADS": str(threads),
                                        "CPU_RUNTIME_CACHE_CAPACITY": str(RUNTIME_CACHE_CAPACITY)})
        self._path, self._square, self._ladder, self._batch = path, square, ladder, batch
        model = self._core.read_model(str(path))
        if square:
            model.reshape([1, 3, square, square])
        self._request = self._core.compile_model(model, "CPU").create_infer_request()
        self._dynamic = None

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if self._ladder:
            n, c, h, w = batch.shape
            rung = ladder_width(w, self._ladder)
            rows = max(n, full_batch(rung, *self._batch)) if self._batch else n
            padded = np.zeros((rows, c, h, rung), dtype=np.float32)
            padded[:n, ..., :w] = batch
            return self._infer(self._request, padded, rows=n)
        if not self._square:
            return self._infer(self._request, batch)
        n, _, h, w = batch.shape
        if n == 1 and h <= self._square and w <= self._square:
            padded = np.pad(batch, ((0, 0), (0, 0), (0, self._square - h), (0, self._square - w)), mode="reflect")
            return self._infer(self._request, padded)[..., :h, :w].copy()
        if self._dynamic is None:
            self._dynamic = self._core.compile_model(str(self._path), "CPU").create_infer_request()
        return self._infer(self._dynamic, batch)

    @staticmethod
    def _infer(request, batch: np.ndarray, rows: int | None = None) -> np.ndarray:
        """The output (its first ``rows`` rows), copied: the request reuses its buffer on the next call."""
        request.infer([batch])
        return request.get_output_tensor().data[:rows].copy()


__all__ = ["OpenVinoSession", "full_batch", "has_bf16", "ladder_width", "resolve_runtime"]
