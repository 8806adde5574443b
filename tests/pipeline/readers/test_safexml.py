"""safexml: hostile XML is refused fast; real-world malformed invoice XML still reads."""

from __future__ import annotations

import time
import tracemalloc

import pytest
from lxml import etree

from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.readers import safexml
from pipeline.readers.safexml import child, child_text, children, iter_local, local_name, parse_xml, text_of

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<EInvoice><Header><EIid>&lol9;</EIid></Header></EInvoice>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE EInvoice [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<EInvoice><Header><EIid>&secret;</EIid></Header></EInvoice>"""

PARAMETER_XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % ext SYSTEM "http://127.0.0.1:9/evil.dtd"> %ext;]><r/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?><!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>"""


def refused_quickly(data: bytes, error: type[Exception], match: str) -> str:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error, match=match) as info:
            parse_xml(data, "XML file")
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0
    assert peak < 50 * 1024 * 1024
    return str(info.value)


def test_billion_laughs_is_refused():
    message = refused_quickly(BILLION_LAUGHS, CorruptDocument, "billion laughs")
    assert message.startswith("the XML file declares XML entities")


def test_billion_laughs_in_utf16_is_refused():
    data = BILLION_LAUGHS.replace(b'version="1.0"', b'version="1.0" encoding="UTF-16"').decode().encode("utf-16")
    refused_quickly(data, CorruptDocument, "entities")


@pytest.mark.parametrize("data", [XXE, PARAMETER_XXE], ids=["general", "parameter"])
def test_external_entity_file_read_is_refused(data):
    message = refused_quickly(data, CorruptDocument, "XXE")
    assert "root:" not in message


def test_external_dtd_is_refused():
    refused_quickly(EXTERNAL_DTD, CorruptDocument, "external DTD")


def test_parser_alone_never_resolves_entities():
    """Defence in depth: even if the pre-scan were bypassed, the parser reads no file and expands nothing."""
    root = etree.fromstring(XXE, safexml._parser(recover=False))
    assert "root:" not in "".join(root.itertext())
    started = time.perf_counter()
    try:
        root = etree.fromstring(BILLION_LAUGHS, safexml._parser(recover=False))
        assert len("".join(root.itertext())) < 1000
    except etree.XMLSyntaxError:
        pass  # libxml2 may also refuse it outright
    assert time.perf_counter() - started < 1.0


def test_deep_nesting_and_huge_text_nodes_are_refused_not_half_read():
    refused_quickly(b"<a>" * 100_000 + b"</a>" * 100_000, CorruptDocument, "safety limits")
    refused_quickly(b"<a>" + b"x" * (11 * 1024 * 1024) + b"</a>", CorruptDocument, "safety limits")


def test_oversized_xml_is_refused_before_parsing():
    refused_quickly(b"<a>" + b" " * safexml.MAX_XML_BYTES + b"</a>", DocumentTooLarge, "more than the 20 MB")


def test_unusual_encodings_that_could_hide_markup_are_refused():
    refused_quickly(b'<?xml version="1.0" encoding="UTF-7"?><a/>', CorruptDocument, "UTF-7")


def test_plain_doctype_without_entities_is_allowed():
    root = parse_xml(b"<!DOCTYPE eInvoice><eInvoice><InvoiceNo>1</InvoiceNo></eInvoice>")
    assert child_text(root, "InvoiceNo") == "1"


def test_bom_is_stripped():
    root = parse_xml(b"\xef\xbb\xbf<?xml version=\"1.0\" encoding=\"UTF-8\"?><a>\xe5\x8f\x91</a>")
    assert root.text == "发"


def test_broken_ofd_tag_root_is_recovered_with_a_warning():
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n<:eInvoice xmlns:=""><InvoiceNo><ofd:ObjectRef PageRef="1">'
            '70</ofd:ObjectRef></InvoiceNo><Buyer><BuyerName><ofd:ObjectRef PageRef="1">65</ofd:ObjectRef>'
            '</BuyerName></Buyer></:eInvoice>').encode()
    warnings: list[str] = []
    root = parse_xml(data, "CustomTag.xml", warnings)
    assert local_name(root) == "eInvoice"
    assert child_text(root, "InvoiceNo", "ObjectRef") == "70"
    assert [local_name(e) for e in iter_local(root, "ObjectRef")] == ["ObjectRef", "ObjectRef"]
    assert warnings and "recovery mode" in warnings[0]
    with pytest.raises(CorruptDocument, match="not valid XML"):
        parse_xml(data, "CustomTag.xml", recover=False)


@pytest.mark.parametrize("data", [b"", b"   ", b"\x00\x01\x02garbage", b"not xml at all"])
def test_garbage_is_a_clear_error(data):
    with pytest.raises(CorruptDocument, match="XML file"):
        parse_xml(data, "XML file")


def test_undeclared_gb18030_text_is_read():
    root = parse_xml("<a><b>餐饮服务</b></a>".encode("gb18030"))
    assert child_text(root, "b") == "餐饮服务"


def test_lookups_ignore_namespaces_and_prefixes():
    root = parse_xml(b'<fp:eInvoice xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019" xmlns:x="urn:x">'
                     b'<fp:Buyer><fp:BuyerName> A </fp:BuyerName></fp:Buyer><x:Item>1</x:Item><Item>2</Item>'
                     b'<!-- comment --><Note><![CDATA[<cdata>]]></Note></fp:eInvoice>')
    assert local_name(root) == "eInvoice"
    assert child_text(root, "Buyer", "BuyerName") == "A"
    assert [text_of(e) for e in children(root, "Item")] == ["1", "2"]
    assert child_text(root, "Note") == "<cdata>"
    assert child(root, "Missing", "Deeper") is None
    assert child_text(root, "Missing") is None
    assert children(None, "Item") == []
