import pytest

from pipeline.errors import UnsupportedDocument
from pipeline.readers import read_document, register_reader
from pipeline.readers import _READERS
from pipeline.types import DocType, ReadResult, SourceDocument


def _doc(doc_type: DocType) -> SourceDocument:
    return SourceDocument(name="x", data=b"x", sha256="0" * 64, doc_type=doc_type, media_type="x/x")


@pytest.mark.parametrize(("doc_type", "message"), [
    (DocType.ZIP, "a zip bundle holds several documents"),
])
def test_types_without_a_reader_get_a_clear_message(doc_type, message):
    with pytest.raises(UnsupportedDocument, match=message):
        read_document(_doc(doc_type))


@pytest.mark.parametrize("doc_type", [DocType.IMAGE, DocType.PDF, DocType.OFD, DocType.XML])
def test_every_invoice_format_has_a_reader(doc_type):
    assert _READERS[doc_type] is not None


def test_registered_reader_is_dispatched_to(monkeypatch):
    monkeypatch.setitem(_READERS, DocType.OFD, None)
    register_reader(DocType.OFD, lambda doc, settings: ReadResult(document=doc, structured={"by": "ofd"}))
    assert read_document(_doc(DocType.OFD)).structured == {"by": "ofd"}
