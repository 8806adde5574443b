"""Readers: a ``SourceDocument`` in, a ``ReadResult`` (pages of text lines, QR codes, structured keys) out.

Contract: ``read_document(doc, settings=None)`` dispatches on ``doc.doc_type`` to the reader registered for it
(``register_reader(doc_type, reader)``; images, PDFs, OFD and e-invoice XML are built in). ZIP bundles hold
several documents and are unpacked by ``pipeline.runner``, not read here; asked for one, this raises
``UnsupportedDocument``. Readers raise only ``pipeline.errors`` for bad input.
"""

from __future__ import annotations

from collections.abc import Callable

from pipeline.config import PipelineSettings, get_pipeline_settings
from pipeline.errors import UnsupportedDocument
from pipeline.readers.einvoice_xml import read_xml
from pipeline.readers.image import read_image
from pipeline.readers.ofd import read_ofd
from pipeline.readers.pdf import read_pdf
from pipeline.types import DocType, ReadResult, SourceDocument

Reader = Callable[[SourceDocument, PipelineSettings], ReadResult]

_READERS: dict[DocType, Reader] = {
    DocType.IMAGE: read_image,
    DocType.PDF: read_pdf,
    DocType.OFD: read_ofd,
    DocType.XML: read_xml,
}

_NOT_YET = {
    DocType.ZIP: "a zip bundle holds several documents: unpack it with pipeline.runner.extract_bytes",
}


def register_reader(doc_type: DocType, reader: Reader) -> None:
    _READERS[doc_type] = reader


def read_document(doc: SourceDocument, settings: PipelineSettings | None = None) -> ReadResult:
    settings = settings or get_pipeline_settings()
    reader = _READERS.get(doc.doc_type)
    if reader is None:
        raise UnsupportedDocument(_NOT_YET.get(doc.doc_type, f"no reader for {doc.doc_type.value} files"))
    return reader(doc, settings)


__all__ = ["Reader", "read_document", "register_reader"]
