import io

import numpy as np
import pdfplumber
import pypdf
import pypdfium2 as pdfium
import pytest
from reader_fixtures import REAL_DATA, PdfPage, build_pdf, qr_image, text_image

from pipeline.config import PipelineSettings
from pipeline.errors import CorruptDocument, DocumentTooLarge
from pipeline.ingest import ingest_bytes
from pipeline.readers.pdf import (
    collapse_doubled,
    pdfium_words,
    read_pdf,
    render_scale,
    text_lines,
)
from pipeline.types import FieldSource

INVOICE_PAGE = PdfPage(texts=[
    (300, 60, "Invoice No: 33207675"),
    (40, 100, "Buyer: ACME Ltd"), (330, 100, "Seller: Widget Co"),
    (300, 40, "Invoice Code: 012001800311"),
    (40, 140, "TToottaall"), (200, 140, "1100"),
])


def _read(data: bytes, settings: PipelineSettings | None = None):
    return read_pdf(ingest_bytes("a.pdf", data), settings or PipelineSettings())


def test_text_layer_lines_rows_columns_and_boxes_in_points():
    result = _read(build_pdf([INVOICE_PAGE]))
    [page] = result.pages
    assert page.source is FieldSource.TEXT_LAYER and (page.width, page.height) == (595.0, 842.0)
    assert [line.text for line in page.lines] == [
        "Invoice Code: 012001800311", "Invoice No: 33207675",
        "Buyer: ACME Ltd", "Seller: Widget Co",  # one row, cut at the column gap
        "Total", "1100",  # the doubled-glyph artefact collapses, the number does not
    ]
    number = page.lines[1]
    x0, top, x1, bottom = number.box
    assert x0 == pytest.approx(300, abs=1) and 49 < top < 60 < bottom < 65 and x1 > 400
    assert number.page == 0 and number.confidence == 1.0
    assert set(result.timings) == {"text", "render", "qr", "ocr"} and result.warnings == []


def test_collapse_doubled_only_touches_fully_doubled_non_numeric_text():
    assert collapse_doubled("开开票票日日期期") == "开票日期"
    assert collapse_doubled("发发票票 号号码码") == "发票 号码"
    assert collapse_doubled("开开票票日日期期 2020年") == "开开票票日日期期 2020年"
    assert collapse_doubled("1100") == "1100" and collapse_doubled("¥¥1100..0000") == "¥¥1100..0000"
    assert collapse_doubled("哈哈") == "哈哈"


def test_pages_are_numbered_and_qr_codes_found_on_the_render():
    code = qr_image("01,32,,25372000000029403827,287.76,20250131,,6544", module_px=1, border=4)
    with_qr = PdfPage(texts=[(200, 40, "Second page with a QR code")], image=code,
                      image_box=(20, 20, 90, 90))
    result = _read(build_pdf([INVOICE_PAGE, with_qr]))
    assert [p.page_no for p in result.pages] == [0, 1]
    assert all(line.page == 1 for line in result.pages[1].lines)
    [qr] = result.qr_codes
    assert qr.text == "01,32,,25372000000029403827,287.76,20250131,,6544" and qr.page == 1
    x0, y0, x1, y1 = qr.box  # points: the code's modules sit inside the 90 pt image at (20, 20)
    assert 20 <= x0 < 40 and 20 <= y0 < 40 and 80 < x1 <= 110 and 80 < y1 <= 110


def test_page_without_text_is_rendered_and_ocred():
    scan = text_image(["INVOICE NO 87594058"], width=700)[:, :, 0]
    page = PdfPage(image=np.ascontiguousarray(scan), image_box=(50, 50, 350, 70), width=450, height=260)
    result = _read(build_pdf([page]))
    [content] = result.pages
    assert content.source is FieldSource.OCR
    assert any("87594058" in line.text.replace(" ", "") for line in content.lines), content.text
    x0, y0, x1, y1 = content.lines[0].box  # mapped back to points, inside the drawn image
    assert 45 <= x0 and 45 <= y0 and x1 <= 405 and y1 <= 125
    assert "page 1 has no usable text layer" in result.warnings[0]
    assert result.timings["ocr"] > 0


def test_structured_keys_from_info_and_from_another_dictionary():
    keys = {"InvoiceNumber": "25372000000029403827", "TotalTax-includedAmount": "287.76", "Other": "x"}
    assert _read(build_pdf([INVOICE_PAGE], info=keys)).structured == {
        "InvoiceNumber": "25372000000029403827", "TotalTax-includedAmount": "287.76"}
    found = _read(build_pdf([INVOICE_PAGE], extra_dict={"SellerIdNum": "91120110MA06J3WLX8"})).structured
    assert found == {"SellerIdNum": "91120110MA06J3WLX8"}
    assert _read(build_pdf([INVOICE_PAGE])).structured == {}


def test_page_limit_is_checked():
    data = build_pdf([INVOICE_PAGE] * 3)
    with pytest.raises(DocumentTooLarge, match="3 pages"):
        _read(data, PipelineSettings(max_pdf_pages=2))


def test_damaged_pdf_is_corrupt():
    data = build_pdf([INVOICE_PAGE])
    with pytest.raises(CorruptDocument, match="damaged"):
        _read(data[: len(data) // 3])
    with pytest.raises(CorruptDocument):
        _read(b"%PDF-1.4\n" + b"garbage " * 50)


def _encrypted(data: bytes, user_password: str) -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf_is_refused_but_permission_only_encryption_is_read():
    data = build_pdf([INVOICE_PAGE])
    with pytest.raises(CorruptDocument, match="password"):
        _read(_encrypted(data, "secret"))
    result = _read(_encrypted(data, ""))
    assert "Invoice No: 33207675" in result.pages[0].text


def test_render_scale_is_capped_for_huge_pages():
    settings = PipelineSettings(pdf_render_scale=3.0, max_image_pixels=60_000_000)
    assert render_scale(595, 842, settings) == 3.0
    assert render_scale(1653, 1102, settings) * 1653 <= 3200.5
    assert render_scale(595, 842, PipelineSettings(max_image_pixels=1_000_000)) ** 2 * 595 * 842 <= 1_000_001


def _both_readings(data: bytes) -> list[tuple[list, list, list | None]]:
    """Per page: the lines read by pdfplumber alone, the lines read through pdfium, pdfium's words."""
    out = []
    document = pdfium.PdfDocument(data)
    with pdfplumber.open(io.BytesIO(data)) as plumber:
        for number, page in enumerate(plumber.pages):
            fast = document[number]
            out.append((text_lines(page, number), text_lines(page, number, fast), pdfium_words(fast, page)))
    document.close()
    return out


def test_pdfium_text_layer_matches_pdfplumber_with_duplicates_blank_runs_and_column_gaps():
    tricky = PdfPage(texts=[
        (40, 60, "Seller:  ACME   Ltd"), (40.4, 60.3, "Seller:  ACME   Ltd"),  # an overlapping duplicate run
        (105, 60, "Inc"),
        (300, 60, "Tax No: 91120110MA06J3WLX8"),
        (40, 90, "TToottaall"), (200, 90, "1100"), (40, 120, "a b  c   d"),
        (40, 150, "fine print"), (100, 152, "shifted"),
    ], size=7)
    for plumber_lines, pdfium_lines, words in _both_readings(build_pdf([INVOICE_PAGE, tricky])):
        assert words is not None  # pdfium read the page, pdfplumber was not the fallback
        _assert_same_lines(pdfium_lines, plumber_lines, "fixture")
    [_, (lines, _, _)] = _both_readings(build_pdf([INVOICE_PAGE, tricky]))
    assert "Seller: ACME Ltd Inc" in [line.text for line in lines]  # the duplicate run was dropped


def test_pdfium_stands_aside_on_a_page_without_text():
    scan = text_image(["INVOICE NO 87594058"], width=700)[:, :, 0]
    page = PdfPage(image=np.ascontiguousarray(scan), image_box=(50, 50, 350, 70), width=450, height=260)
    [(plumber_lines, pdfium_lines, words)] = _both_readings(build_pdf([page]))
    assert words is None and pdfium_lines == plumber_lines == []


@pytest.mark.skipif(not (REAL_DATA / "cn_pdf").is_dir(), reason="real documents not present")
def test_pdfium_text_layer_matches_pdfplumber_on_real_invoices():
    files = sorted((REAL_DATA / "cn_pdf").glob("*.pdf"))
    assert files
    for path in files:
        for plumber_lines, pdfium_lines, words in _both_readings(path.read_bytes()):
            assert words is not None, path.name
            _assert_same_lines(pdfium_lines, plumber_lines, path.name)


def _assert_same_lines(fast: list, slow: list, name: str) -> None:
    assert [line.text for line in fast] == [line.text for line in slow], name
    for one, other in zip(fast, slow, strict=True):  # pdfium's widths are single precision
        assert one.box == pytest.approx(other.box, abs=0.05), (name, one.text)
        assert (one.page, one.confidence) == (other.page, other.confidence)
