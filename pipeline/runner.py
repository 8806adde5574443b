"""The runner: one file's bytes in, its invoices out, stage by stage with timings.

``extract_bytes(name, data)`` never raises for bad input: a file that cannot be read comes back as an
``Extraction`` with ``error`` set to a message fit for the user, so a batch goes on with the next file.
Programming errors (bugs) still raise. The stages are plain calls in a fixed order:
ingest -> read -> extract (+ validate). Attribution and checks happen later, per claim.
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import PipelineError
from pipeline.extract import extract_invoices
from pipeline.ingest import ingest_bytes
from pipeline.readers import read_document
from pipeline.types import Extraction


def extract_bytes(name: str, data: bytes, settings: PipelineSettings | None = None) -> Extraction:
    settings = settings or get_pipeline_settings()
    timings: dict[str, float] = {}
    started = time.perf_counter()
    try:
        doc = ingest_bytes(name, data, settings)
        timings["ingest"] = time.perf_counter() - started
        read = read_document(doc, settings)
        timings.update({f"read.{k}": v for k, v in read.timings.items()})
        t0 = time.perf_counter()
        invoices = extract_invoices(read)
        timings["extract"] = time.perf_counter() - t0
    except PipelineError as exc:
        return Extraction(document_name=name, sha256=None, error=str(exc), timings=timings)
    timings["total"] = time.perf_counter() - started
    result = Extraction(document_name=name, sha256=doc.sha256, invoices=invoices,
                        warnings=list(read.warnings), timings=timings)
    if not invoices:
        result.error = "no invoice found in this file" + (f" ({'; '.join(read.warnings)})" if read.warnings else "")
    return result


def extract_file(path: Path, settings: PipelineSettings | None = None) -> Extraction:
    settings = settings or get_pipeline_settings()
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            return Extraction(document_name=str(path), sha256=None,
                              error=f"file is {size // (1024 * 1024)} MB, larger than the "
                                    f"{settings.max_file_bytes // (1024 * 1024)} MB limit")
        data = path.read_bytes()
    except OSError as exc:
        return Extraction(document_name=str(path), sha256=None, error=f"cannot read file: {exc.strerror or exc}")
    return extract_bytes(path.name, data, settings)
