"""The runner: one file's bytes in, its invoices out, stage by stage with timings.

``extract_bytes(name, data)`` never raises for bad input: a file that cannot be read comes back as an
``Extraction`` with ``error`` set to a message fit for the user, so a batch goes on with the next file.
Programming errors (bugs) still raise. The stages are plain calls in a fixed order:
ingest -> read -> extract (+ validate). Attribution and checks happen later, per claim.

A photo the quality gate found fault with (glare, blur, ...) that has no QR code and whose invoices all lack the
number that identifies them (``duplicate_keys``: invoice number, or a ticket's e-ticket number / train seat) is
refused (``UnreadableImage``, the gate's words plus what is missing) rather than
turned into claim lines nobody can check for duplicates: the user is asked to retake it.

A ZIP bundle (e.g. the tax platform's 发票批量下载 zip) is unpacked with zip-bomb limits and each member runs
through the same stages; the same invoice found in several formats (XML, OFD, PDF, image) is kept once, from
the most trusted format (DOMAIN §5: XML > OFD > PDF > image).
"""

from __future__ import annotations

import time
from pathlib import Path

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import PipelineError, UnreadableImage
from pipeline.extract import extract_invoices
from pipeline.ingest import ingest_bytes
from pipeline.policy.facts import duplicate_keys
from pipeline.readers import read_document
from pipeline.readers.safezip import iter_bundle
from pipeline.types import DocType, Extraction, FieldSource, Invoice, InvoiceKind, ReadResult, SourceDocument

# Lower is more trusted: the source of an invoice's number tells which format it was read from.
_TRUST = {FieldSource.XML: 0, FieldSource.OFD: 1, FieldSource.QR: 2, FieldSource.TEXT_LAYER: 2, FieldSource.OCR: 3}


def _trust(inv: Invoice) -> int:
    fv = inv.fields.get("invoice_number")
    return _TRUST.get(fv.source, 4) if fv else 5


def merge_same_invoices(invoices: list[Invoice]) -> list[Invoice]:
    """One invoice per business key, from the most trusted format; invoices without a key are all kept."""
    best: dict[str, Invoice] = {}
    order: list[str | Invoice] = []
    for inv in invoices:
        key = inv.business_key
        if key is None:
            order.append(inv)
        elif key not in best:
            best[key] = inv
            order.append(key)
        elif _trust(inv) < _trust(best[key]):
            best[key] = inv
    return [best[item] if isinstance(item, str) else item for item in order]


def _extract_document(doc: SourceDocument, settings: PipelineSettings, timings: dict[str, float],
                      warnings: list[str]) -> list[Invoice]:
    if doc.doc_type is DocType.ZIP:
        return _extract_bundle(doc.data, doc.name, settings, timings, warnings)
    read = read_document(doc, settings)
    for stage, seconds in read.timings.items():
        timings[f"read.{stage}"] = timings.get(f"read.{stage}", 0.0) + seconds
    warnings.extend(read.warnings)
    t0 = time.perf_counter()
    invoices = extract_invoices(read)
    timings["extract"] = timings.get("extract", 0.0) + time.perf_counter() - t0
    _refuse_unidentified_photo(read, invoices)
    return invoices


_NUMBERLESS = {InvoiceKind.RECEIPT, InvoiceKind.TRIP_TABLE}  # kinds that print no invoice number


def _refuse_unidentified_photo(read: ReadResult, invoices: list[Invoice]) -> None:
    if not read.quality_problems or read.qr_codes or not invoices:
        return
    if all(inv.kind not in _NUMBERLESS and not duplicate_keys(inv) for inv in invoices):
        raise UnreadableImage(f"this photo cannot be read: the invoice number is not legible; "
                              f"{'; '.join(read.quality_problems)}")


def _extract_bundle(data: bytes, name: str, settings: PipelineSettings, timings: dict[str, float],
                    warnings: list[str]) -> list[Invoice]:
    invoices: list[Invoice] = []
    for member, content in iter_bundle(data, what=f"zip file {name!r}"):
        try:
            invoices.extend(_extract_document(ingest_bytes(member, content, settings), settings, timings, warnings))
        except PipelineError as exc:  # one bad member does not sink the bundle
            warnings.append(f"{member}: {exc}")
    return merge_same_invoices(invoices)


def extract_bytes(name: str, data: bytes, settings: PipelineSettings | None = None) -> Extraction:
    settings = settings or get_pipeline_settings()
    timings: dict[str, float] = {}
    warnings: list[str] = []
    started = time.perf_counter()
    try:
        doc = ingest_bytes(name, data, settings)
        invoices = _extract_document(doc, settings, timings, warnings)
    except PipelineError as exc:
        return Extraction(document_name=name, sha256=None, error=str(exc), warnings=warnings, timings=timings)
    timings["total"] = time.perf_counter() - started
    result = Extraction(document_name=name, sha256=doc.sha256, invoices=invoices, warnings=warnings, timings=timings)
    if not invoices:
        result.error = "no invoice found in this file" + (f" ({'; '.join(warnings)})" if warnings else "")
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
