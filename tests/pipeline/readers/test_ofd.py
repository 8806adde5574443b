"""read_ofd: the real OFD invoices against their truth files, synthetic OFDs for the quirks, hostile OFDs."""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
import tracemalloc
import zipfile
import zlib
from decimal import Decimal
from pathlib import Path

import pytest

from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.extract.structured import invoices_from_structured
from pipeline.ingest import ingest_bytes
from pipeline.readers.einvoice_xml import STRUCTURED_FORMAT_KEY
from pipeline.readers.ofd import items_from_page_text, read_ofd
from pipeline.types import DocType, FieldSource, SourceDocument

REAL_OFD = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "real" / "cn_xml_ofd"
REAL_FILES = sorted(REAL_OFD.glob("*.ofd")) if REAL_OFD.is_dir() else []
NS = 'xmlns:ofd="http://www.ofdspec.org/2016"'
MB = 1024 * 1024


def doc_of(data: bytes, name: str = "invoice.ofd") -> SourceDocument:
    return SourceDocument(name, data, hashlib.sha256(data).hexdigest(), DocType.OFD, "application/ofd")


def zip_of(parts: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            zf.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return buf.getvalue()


def text_object(obj_id: int, x: float, y: float, text: str, size: float = 3.175, width: float = 40) -> str:
    return (f'<ofd:TextObject ID="{obj_id}" Boundary="{x} {y} {width} 5" Font="1" Size="{size}">'
            f'<ofd:TextCode X="0" Y="4">{text}</ofd:TextCode></ofd:TextObject>')


def ofd_parts(objects: list[str], custom: dict[str, str] | None = None, tag_xml: str | None = None,
              template: list[str] | None = None, bom: bool = False, page_id: int = 7,
              doc_root: str = "Doc_0/Document.xml", tags_index_loc: str = "Tags/CustomTags.xml",
              tag_file_loc: str = "CustomTag.xml") -> dict[str, str | bytes]:
    """A minimal OFD package: one page (plus an optional template), CustomData, an optional tag file."""
    customs = "".join(f'<ofd:CustomData Name="{k}">{v}</ofd:CustomData>' for k, v in (custom or {}).items())
    ofd_xml = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {NS} DocType="OFD" Version="1.0"><ofd:DocBody>'
               f'<ofd:DocInfo><ofd:DocID>x</ofd:DocID><ofd:CustomDatas>{customs}</ofd:CustomDatas></ofd:DocInfo>'
               f'<ofd:DocRoot>{doc_root}</ofd:DocRoot></ofd:DocBody></ofd:OFD>')
    tpl = '<ofd:TemplatePage ID="2" BaseLoc="Tpls/Tpl_0/Content.xml"/>' if template else ""
    tags = f"<ofd:CustomTags>{tags_index_loc}</ofd:CustomTags>" if tag_xml else ""
    document = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Document {NS}><ofd:CommonData><ofd:MaxUnitID>999'
                f'</ofd:MaxUnitID>{tpl}<ofd:PageArea><ofd:PhysicalBox>0 0 210 140</ofd:PhysicalBox></ofd:PageArea>'
                f'</ofd:CommonData><ofd:Pages><ofd:Page ID="{page_id}" BaseLoc="Pages/Page_0/Content.xml"/>'
                f'</ofd:Pages>{tags}</ofd:Document>')
    use_tpl = '<ofd:Template TemplateID="2" ZOrder="Background"/>' if template else ""
    page = (f'<?xml version="1.0" encoding="UTF-8"?><ofd:Page {NS}>{use_tpl}<ofd:Content><ofd:Layer ID="1">'
            f'{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>')
    bom_bytes = b"\xef\xbb\xbf" if bom else b""
    parts: dict[str, str | bytes] = {
        "OFD.xml": bom_bytes + ofd_xml.encode(), "Doc_0/Document.xml": bom_bytes + document.encode(),
        "Doc_0/Pages/Page_0/Content.xml": page,
    }
    if template:
        parts["Doc_0/Tpls/Tpl_0/Content.xml"] = (f'<?xml version="1.0"?><ofd:Page {NS}><ofd:Content>'
                                                 f'<ofd:Layer ID="3">{"".join(template)}</ofd:Layer></ofd:Content>'
                                                 f'</ofd:Page>')
    if tag_xml:
        parts["Doc_0/Tags/CustomTags.xml"] = (f'<?xml version="1.0"?><ofd:CustomTags {NS}><ofd:CustomTag TypeID="">'
                                              f'<ofd:FileLoc>{tag_file_loc}</ofd:FileLoc></ofd:CustomTag>'
                                              f'</ofd:CustomTags>')
        parts["Doc_0/Tags/CustomTag.xml"] = bom_bytes + tag_xml.encode()
    return parts


def refused_quickly(call, error: type[Exception], match: str) -> str:
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(error, match=match) as info:
            call()
    finally:
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    assert peak < 50 * MB, f"peak memory {peak / MB:.0f} MB"
    return str(info.value)


# ---------------------------------------------------------------- real documents

TRUTH_KEYS = ("invoice_number", "invoice_code", "check_code", "buyer_name", "buyer_tax_id", "seller_name",
              "seller_tax_id")
TRUTH_MONEY = ("total_incl_tax", "amount_excl_tax", "tax_amount")


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_FILES, reason="real data folder ../shared/data/real is absent")
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda p: p.stem)
def test_real_ofd_matches_truth(path: Path):
    truth = json.loads(path.with_suffix(".truth.json").read_text(encoding="utf-8"))["fields"]
    doc = ingest_bytes(path.name, path.read_bytes())
    assert doc.doc_type == DocType.OFD
    read = read_ofd(doc, None)
    assert read.structured[STRUCTURED_FORMAT_KEY] == "ofd"
    invoices = invoices_from_structured(read)
    assert len(invoices) == 1
    inv = invoices[0]
    for key in TRUTH_KEYS:
        if key in truth:
            assert inv.get(key) == truth[key], key
    for key in TRUTH_MONEY:
        assert inv.get(key) == Decimal(truth[key]), key
    assert inv.get("issue_date").isoformat() == truth["issue_date"]
    assert inv.fields["invoice_number"].source == FieldSource.OFD
    assert inv.fields["invoice_number"].confidence == 1.0
    assert not [i for i in inv.issues if i.code.startswith(("source_mismatch", "amount_identity", "items_"))]
    assert inv.kind.value != "unknown"
    # page text: present, boxed, in millimetres inside the page
    assert read.pages and all(p.source == FieldSource.OFD for p in read.pages)
    first = read.pages[0]
    assert 100 < first.width < 300 and 100 < first.height < 300
    texts = [line.text for line in first.lines]
    assert truth["invoice_number"] in texts
    assert all(line.box is not None and 0 <= line.box[0] <= line.box[2] for line in first.lines)


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_FILES, reason="real data folder ../shared/data/real is absent")
def test_real_ofd_kinds_titles_and_qr():
    by_prefix = {}
    for path in REAL_FILES:
        read = read_ofd(ingest_bytes(path.name, path.read_bytes()), None)
        by_prefix[path.name[:2]] = (read, invoices_from_structured(read)[0])
    read, inv = by_prefix["01"]
    assert inv.kind.value == "vat_e_normal" and inv.get("title") == "浙江增值税电子普通发票"
    assert inv.qr_text == "01,10,033002000211,83089647,510.68,20200723,16197833567414507415,0941,"
    assert [q.text for q in read.qr_codes] == [inv.qr_text]
    assert inv.get("check_code") == "16197833567414507415"  # CustomData prints it as "16197 83356 74145 07415"
    assert by_prefix["11"][1].kind.value == "vat_e_special"
    assert by_prefix["04"][1].kind.value == "digital_special"
    assert by_prefix["04"][1].get("title") == "电子发票(增值税专用发票)"  # from the template page
    assert by_prefix["13"][1].kind.value == "digital_special"


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_FILES, reason="real data folder ../shared/data/real is absent")
def test_real_ofd_items():
    items = {}
    for path in REAL_FILES:
        read = read_ofd(ingest_bytes(path.name, path.read_bytes()), None)
        items[path.name[:2]] = invoices_from_structured(read)[0].items
    assert [(i.name, i.amount, i.tax_rate, i.tax_amount) for i in items["04"]] == [
        ("*信息技术服务*技术服务费", Decimal("4197.17"), "0.06", Decimal("251.83"))]  # a name wrapped on 2 refs
    assert len(items["07"]) == 100 and sum(i.amount for i in items["07"]) == Decimal("10000.00")
    assert [i.name for i in items["13"]] == ["*住宿服务*住宿费"]  # not tagged: read from the page text
    assert items["13"][0].amount == Decimal("357.55") and items["13"][0].tax_amount == Decimal("21.45")


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_FILES, reason="real data folder ../shared/data/real is absent")
@pytest.mark.parametrize("prefix", ["01", "04", "11"])
def test_page_text_items_agree_with_the_structured_items(prefix: str):
    path = next(p for p in REAL_FILES if p.name.startswith(prefix))
    read = read_ofd(ingest_bytes(path.name, path.read_bytes()), None)
    structured = [{k: read.structured.get(f"items.{i}.{k}") for k in ("name", "amount", "tax_rate", "tax_amount")}
                  for i in range(100) if f"items.{i}.name" in read.structured]
    from_text = [{k: item.get(k) for k in ("name", "amount", "tax_rate", "tax_amount")}
                 for page in read.pages for item in items_from_page_text(page)]
    assert structured and from_text == structured


@pytest.mark.real_data
@pytest.mark.skipif(not REAL_FILES, reason="real data folder ../shared/data/real is absent")
def test_truncated_real_ofd_is_a_clear_error():
    data = REAL_FILES[0].read_bytes()
    refused_quickly(lambda: read_ofd(doc_of(data[: len(data) // 2]), None), CorruptDocument, "OFD file")


# ---------------------------------------------------------------- synthetic quirks

def digital_objects(ids: list[int]) -> list[str]:
    a, b, c, d, e, f, g, h = ids
    return [text_object(a, 170, 10, "25442000000012341234"), text_object(b, 170, 16, "2025年03月01日"),
            text_object(c, 20, 34, "某某网络科技有限公司"), text_object(d, 54, 43, "91440101MA5CJQ4N59"),
            text_object(e, 120, 34, "某某餐饮管理有限公司"), text_object(f, 155, 97, "¥"),
            text_object(g, 158, 97, "106.00"), text_object(h, 150, 91, "¥100.00")]


def test_tags_with_broken_root_absolute_paths_and_arbitrary_ids():
    ids = random.Random(7).sample(range(100, 90_000), 8)
    a, b, c, d, e, f, g, h = ids
    tag = ('<?xml version="1.0" encoding="UTF-8"?>\n<:eInvoice xmlns:="">'
           f'<InvoiceNo><ofd:ObjectRef PageRef="7">{a}</ofd:ObjectRef></InvoiceNo>'
           f'<IssueDate><ofd:ObjectRef PageRef="7">{b}</ofd:ObjectRef></IssueDate>'
           f'<Buyer><BuyerName><ofd:ObjectRef PageRef="7">{c}</ofd:ObjectRef></BuyerName>'
           f'<BuyerTaxID><ofd:ObjectRef PageRef="7">{d}</ofd:ObjectRef></BuyerTaxID></Buyer>'
           f'<Seller><SellerName><ofd:ObjectRef PageRef="99">{e}</ofd:ObjectRef></SellerName></Seller>'
           f'<TaxInclusiveTotalAmount><ofd:ObjectRef PageRef="7">{f}</ofd:ObjectRef>'
           f'<ofd:ObjectRef PageRef="7">{g}</ofd:ObjectRef></TaxInclusiveTotalAmount>'
           f'<TaxExclusiveTotalAmount><ofd:ObjectRef PageRef="7">{h}</ofd:ObjectRef></TaxExclusiveTotalAmount>'
           '</:eInvoice>')
    template = [text_object(3, 56, 8, "电子发票（普通发票）", size=7), text_object(4, 154, 10, "发票号码：")]
    parts = ofd_parts(digital_objects(ids), tag_xml=tag, template=template, bom=True, doc_root="/Doc_0/Document.xml",
                      tags_index_loc="/Doc_0/Tags/CustomTags.xml", tag_file_loc="/Doc_0/Tags/CustomTag.xml")
    read = read_ofd(doc_of(zip_of(parts)), None)
    s = read.structured
    assert s["invoice_number"] == "25442000000012341234" and s["issue_date"] == "2025年03月01日"
    assert (s["buyer_name"], s["buyer_tax_id"]) == ("某某网络科技有限公司", "91440101MA5CJQ4N59")
    assert s["seller_name"] == "某某餐饮管理有限公司"  # PageRef 99 does not exist: found on the other pages
    assert s["total_incl_tax"] == "¥106.00" and s["amount_excl_tax"] == "¥100.00"
    assert s["title"] == "电子发票(普通发票)"
    assert any("recovery mode" in w for w in read.warnings)
    inv = invoices_from_structured(read)[0]
    assert inv.kind.value == "digital_normal" and inv.get("total_incl_tax") == Decimal("106.00")
    assert [line.text for line in read.pages[0].lines][:2] == ["电子发票（普通发票）", "发票号码："]


def test_fp_prefixed_tag_file_and_spaced_check_code():
    tag = ('<?xml version="1.0"?><fp:eInvoice xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019">'
           '<fp:InvoiceCode><fp:ObjectRef PageRef="7">11</fp:ObjectRef></fp:InvoiceCode>'
           '<fp:InvoiceNo><fp:ObjectRef PageRef="7">12</fp:ObjectRef></fp:InvoiceNo>'
           '<fp:InvoiceCheckCode><fp:ObjectRef PageRef="7">13</fp:ObjectRef></fp:InvoiceCheckCode>'
           '<fp:GoodsInfos><fp:GoodsInfo><fp:Item><fp:ObjectRef PageRef="7">14</fp:ObjectRef></fp:Item>'
           '<fp:Amount><fp:ObjectRef PageRef="7">15</fp:ObjectRef></fp:Amount></fp:GoodsInfo></fp:GoodsInfos>'
           '</fp:eInvoice>')
    objects = [text_object(11, 164, 6, "033002000211"), text_object(12, 164, 12, "83089647"),
               text_object(13, 164, 22, "16197 83356 74145 07415"), text_object(14, 5, 57, "*餐饮服务*餐费"),
               text_object(15, 154, 57, "510.68")]
    read = read_ofd(doc_of(zip_of(ofd_parts(objects, tag_xml=tag))), None)
    inv = invoices_from_structured(read)[0]
    assert inv.get("check_code") == "16197833567414507415"
    assert inv.kind.value == "vat_e_normal"  # from the 发票代码 (no title, no QR)
    assert [(i.name, i.amount) for i in inv.items] == [("*餐饮服务*餐费", Decimal("510.68"))]


def test_custom_data_only_and_source_disagreement_is_reported():
    custom = {"发票号码": "83089647", "发票代码": "033002000211", "价税合计": "526.00", "合计金额": "510.68",
              "合计税额": "15.32", "开票日期": "2020年07月23日", "校验码": "16197 83356 74145 07415"}
    tag = (f'<?xml version="1.0"?><ofd:eInvoice {NS}><ofd:TaxInclusiveTotalAmount>'
           '<ofd:ObjectRef PageRef="7">21</ofd:ObjectRef></ofd:TaxInclusiveTotalAmount>'
           '<ofd:IssueDate><ofd:ObjectRef PageRef="7">22</ofd:ObjectRef></ofd:IssueDate></ofd:eInvoice>')
    objects = [text_object(21, 170, 97, "¥626.00"), text_object(22, 164, 17, "2020-7-23")]
    read = read_ofd(doc_of(zip_of(ofd_parts(objects, custom=custom, tag_xml=tag))), None)
    assert read.structured["total_incl_tax"] == "526.00"  # CustomData comes before the tags
    assert read.structured["mismatch.total_incl_tax"] == "CustomData=526.00; CustomTag=¥626.00"
    assert "mismatch.issue_date" not in read.structured  # same date, printed differently
    assert any("disagree on total_incl_tax" in w for w in read.warnings)
    inv = invoices_from_structured(read)[0]
    assert "source_mismatch.total_incl_tax" in {i.code for i in inv.issues}


def test_ofd_without_structured_data_keeps_its_page_text():
    read = read_ofd(doc_of(zip_of(ofd_parts([text_object(1, 10, 10, "普通文档")]))), None)
    assert read.structured == {}
    assert "no structured invoice data" in read.warnings[-1]
    assert [line.text for line in read.pages[0].lines] == ["普通文档"]
    assert invoices_from_structured(read) == []


def test_items_are_read_from_the_page_when_nothing_tags_them():
    header = [text_object(30, 16, 53, "项目名称", width=15), text_object(31, 143, 53, "金 额", width=10),
              text_object(32, 157, 53, "税率/征收率", width=18), text_object(33, 194, 53, "税 额", width=10),
              text_object(34, 20, 92, "合 计", width=15)]
    rows = [text_object(40, 5, 58, "*餐饮服务*餐费", width=30), text_object(41, 146, 58, "94.34", width=9),
            text_object(42, 165, 58, "6%", width=4), text_object(43, 198, 58, "5.66", width=7),
            text_object(44, 5, 63, "*住宿服务*住宿", width=30), text_object(45, 5, 68, "费", width=5),
            text_object(46, 146, 63, "300.00", width=9), text_object(47, 165, 63, "免税", width=6),
            text_object(48, 198, 63, "***", width=7), text_object(49, 146, 92, "¥394.34", width=12)]
    custom = {"发票号码": "25442000000012341234", "合计金额": "394.34"}
    read = read_ofd(doc_of(zip_of(ofd_parts(header + rows, custom=custom))), None)
    items = invoices_from_structured(read)[0].items
    assert [(i.name, i.amount, i.tax_rate, i.tax_amount) for i in items] == [
        ("*餐饮服务*餐费", Decimal("94.34"), "0.06", Decimal("5.66")),
        ("*住宿服务*住宿费", Decimal("300.00"), "免税", Decimal("0.00"))]


# ---------------------------------------------------------------- hostile or broken packages

def test_ofd_without_ofd_xml_is_refused():
    data = zip_of({"Doc_0/Document.xml": "<ofd:Document/>"})
    refused_quickly(lambda: read_ofd(doc_of(data), None), CorruptDocument, "has no OFD.xml")


def test_ofd_with_a_missing_document_is_refused():
    parts = ofd_parts([text_object(1, 10, 10, "x")])
    del parts["Doc_0/Document.xml"]
    refused_quickly(lambda: read_ofd(doc_of(zip_of(parts)), None), CorruptDocument, "Document.xml is missing")


def test_ofd_zip_bomb_is_refused():
    seg = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = seg.compress(b"\0" * MB) + seg.flush(zlib.Z_FULL_FLUSH)
    payload = block * 1024 + zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # 1 GB of zeros, ~1 MB deflated
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in ofd_parts([text_object(1, 10, 10, "x")]).items():
            zf.writestr(name, content)
    bomb = bytearray(buf.getvalue())
    # append a member by hand whose stored stream is the 1 GB bomb
    end = bomb.rindex(b"PK\x05\x06")
    cd_offset, count = int.from_bytes(bomb[end + 16:end + 20], "little"), int.from_bytes(bomb[end + 10:end + 12],
                                                                                          "little")
    central, body = bytes(bomb[cd_offset:end]), bytes(bomb[:cd_offset])
    name = b"Doc_0/Res/bomb.xml"
    offset = len(body)
    local = (b"PK\x03\x04" + (20).to_bytes(2, "little") + b"\0\0" + (8).to_bytes(2, "little") + b"\0" * 8
             + len(payload).to_bytes(4, "little") + (1024 * MB).to_bytes(4, "little")
             + len(name).to_bytes(2, "little") + b"\0\0" + name)
    entry = (b"PK\x01\x02" + (20).to_bytes(2, "little") * 2 + b"\0\0" + (8).to_bytes(2, "little") + b"\0" * 8
             + len(payload).to_bytes(4, "little") + (1024 * MB).to_bytes(4, "little")
             + len(name).to_bytes(2, "little") + b"\0" * 12 + offset.to_bytes(4, "little") + name)
    body += local + payload
    new_central = central + entry
    eocd = (b"PK\x05\x06" + b"\0" * 4 + (count + 1).to_bytes(2, "little") * 2
            + len(new_central).to_bytes(4, "little") + len(body).to_bytes(4, "little") + b"\0\0")
    data = body + new_central + eocd
    assert len(data) < 3 * MB
    message = refused_quickly(lambda: read_ofd(doc_of(data), None), DocumentTooLarge, "possible zip bomb")
    assert message.startswith("the OFD file")


def test_ofd_with_billion_laughs_in_a_part_is_refused():
    parts = ofd_parts([text_object(1, 10, 10, "x")])
    lol = "".join(f'<!ENTITY l{i} "{"&l" + str(i - 1) + ";" * 1}{("&l" + str(i - 1) + ";") * 9}">'
                  for i in range(1, 10))
    parts["Doc_0/Pages/Page_0/Content.xml"] = (f'<?xml version="1.0"?><!DOCTYPE p [<!ENTITY l0 "lol">{lol}]>'
                                               f'<ofd:Page {NS}><ofd:Content>&l9;</ofd:Content></ofd:Page>')
    refused_quickly(lambda: read_ofd(doc_of(zip_of(parts)), None), CorruptDocument, "billion laughs")


def test_ofd_with_traversal_names_is_refused():
    parts = ofd_parts([text_object(1, 10, 10, "x")])
    parts["../../etc/cron.d/evil"] = "x"
    refused_quickly(lambda: read_ofd(doc_of(zip_of(parts)), None), CorruptDocument, "unsafe member name")


def test_too_many_pages_is_refused(monkeypatch):
    monkeypatch.setattr("pipeline.readers.ofd.MAX_PAGES", 1)
    parts = ofd_parts([text_object(1, 10, 10, "x")])
    parts["Doc_0/Document.xml"] = str(parts["Doc_0/Document.xml"], "utf-8").replace(
        "</ofd:Pages>", '<ofd:Page ID="8" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages>')
    with pytest.raises(DocumentTooLarge, match="2 pages"):
        read_ofd(doc_of(zip_of(parts)), None)
