"""VAT invoices from page text: legacy 电子普票 (OCR), 数电 普票 (OCR), legacy 电子专票 (text layer), OCR quirks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pipeline.extract import extract_invoices
from pipeline.types import FieldSource, InvoiceKind, LineItem

from . import layouts as L


def extract_one(layout, size, source=FieldSource.OCR, qr=None):
    invoices = extract_invoices(L.read_result((layout, *size), source=source, qr=qr))
    assert len(invoices) == 1
    return invoices[0]


def test_legacy_e_invoice_from_ocr():
    inv = extract_one(L.LEGACY_E_NORMAL_OCR, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.kind == InvoiceKind.VAT_E_NORMAL
    assert inv.get("title") == "天津增值税电子普通发票"
    assert inv.get("invoice_code") == "012001800311"
    assert inv.get("invoice_number") == "33207675"
    assert inv.get("issue_date") == date(2019, 5, 8)  # '开票日期：2019' + '05 08'
    assert inv.get("check_code") == "76939056883466677916"  # printed in groups of five
    assert inv.get("machine_no") == "661619942171"
    assert inv.get("buyer_name") == "个人"  # '名' + '称：个人'
    assert "buyer_tax_id" not in inv.fields  # printed empty; the 密码区 next to it is not a value
    assert inv.get("seller_name") == "天津瑞佳讯贸易有限公司"
    assert inv.get("seller_tax_id") == "91120222079642398Y"
    assert inv.get("amount_excl_tax") == Decimal("46.62")
    assert inv.get("tax_amount") == Decimal("6.08")
    assert inv.get("total_incl_tax") == Decimal("52.70")  # '(小写)¥52.70'
    assert inv.get("total_upper") == "伍拾贰圆柒角"  # the ⊗ mark dropped
    assert inv.get("remark") == "订单号:94859303935"  # the seal's tax ID next to it is not part of it
    assert inv.items == [LineItem("(详见销货清单)", Decimal("46.62"), "0.13", Decimal("6.08"))]
    assert inv.issues == []
    number = inv.fields["invoice_number"]
    assert number.source == FieldSource.OCR and number.confidence == 0.99 and number.page == 0
    assert number.box is not None and number.box[0] >= 624
    assert not any(c in str(v.value) for v in inv.fields.values() for c in "<>+*/")


def test_a_code_one_province_digit_off_the_title_is_repaired_and_reported():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "发票代码:012001800311", "发票代码:013001800311")  # 2 read as 3
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("title") == "天津增值税电子普通发票"
    assert inv.get("invoice_code") == "012001800311"
    assert inv.fields["invoice_code"].confidence == 0.5  # below the routing threshold: finance looks at it
    [issue] = inv.issues
    assert issue.code == "code_region_repaired"
    assert issue.evidence == {"invoice_code_read": "013001800311", "invoice_code": "012001800311",
                              "title": "天津增值税电子普通发票"}
    two_off = extract_one(L.replaced(L.LEGACY_E_NORMAL_OCR, "发票代码:012001800311", "发票代码:034001800311"),
                          L.LEGACY_E_NORMAL_OCR_SIZE)
    assert two_off.get("invoice_code") == "034001800311"  # left as read: validation reports the mismatch
    assert [i.code for i in two_off.issues] == ["code_region_mismatch"]


def test_digital_invoice_from_ocr():
    inv = extract_one(L.DIGITAL_NORMAL_OCR, L.DIGITAL_NORMAL_OCR_SIZE)
    assert inv.kind == InvoiceKind.DIGITAL_NORMAL  # '电子发' + '（普通发票）'
    assert inv.get("invoice_number") == "24922000000078112547"
    assert inv.get("issue_date") == date(2024, 12, 28)
    assert inv.get("buyer_name") == "姜浩然"
    assert "buyer_tax_id" not in inv.fields  # a person: the label is printed, the value is not
    assert inv.get("seller_name") == "青岛惠郡餐饮管理有限公司"
    assert inv.get("seller_tax_id") == "91370283MACQY48L1U"
    assert (inv.get("amount_excl_tax"), inv.get("tax_amount"), inv.get("total_incl_tax")) == (
        Decimal("201.89"), Decimal("12.11"), Decimal("214.00"))
    assert inv.items == [LineItem("*餐饮服务*餐费", Decimal("201.89"), "0.06", Decimal("12.11"))]
    for absent in ("invoice_code", "check_code", "machine_no", "remark"):
        assert absent not in inv.fields  # 数电 invoices print none of these
    assert inv.issues == []


def test_legacy_special_invoice_from_text_layer():
    inv = extract_one(L.LEGACY_SPECIAL_TEXT, L.LEGACY_SPECIAL_TEXT_SIZE, source=FieldSource.TEXT_LAYER)
    assert inv.kind == InvoiceKind.VAT_E_SPECIAL
    assert (inv.get("invoice_code"), inv.get("invoice_number"), inv.get("issue_date")) == (
        "052002100113", "00008006", date(2022, 5, 5))
    assert inv.get("check_code") == "18001801513030862041"  # '校 验 码：18001 80151 30308 62041'
    assert inv.get("buyer_tax_id") == "91522701709696623X"
    assert inv.get("seller_name") == "独山县城南网格刘梦阳通讯店"  # the seller's 名 merged with '销'
    assert inv.get("seller_tax_id") == "92522726MA7GNHJ07M"
    assert inv.get("total_incl_tax") == Decimal("25254.62")
    assert inv.items == [LineItem("*经纪代理服务*经纪代理服务", Decimal("24519.05"), "0.03", Decimal("735.57"))]
    assert all(fv.source == FieldSource.TEXT_LAYER and fv.confidence == 1.0 for fv in inv.fields.values())


def test_total_from_upper_when_lower_is_missing():
    layout = L.without(L.LEGACY_E_NORMAL_OCR, "(小写)¥52.70")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("total_incl_tax") == Decimal("52.70")
    assert inv.fields["total_incl_tax"].box == (283.0, 402.0, 375.0, 420.0)  # read from the 大写 box


def test_garbled_lower_loses_to_upper_confirmed_by_amount_plus_tax():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "(小写)¥52.70", "(小写)¥32.70")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("total_incl_tax") == Decimal("52.70")
    assert inv.fields["total_incl_tax"].confidence < 1.0


def test_lower_kept_when_nothing_confirms_the_upper():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "⊗伍拾贰圆柒角", "⊗伍拾叁圆柒角")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("total_incl_tax") == Decimal("52.70")
    assert [i.code for i in inv.issues] == ["upper_mismatch"]


def test_upper_with_ocr_lookalikes_is_repaired():
    layout = L.without(L.replaced(L.DIGITAL_NORMAL_OCR, "贰佰壹拾肆圆整", "贰佰查拾肆圆整"), "(小写)¥214.00")
    inv = extract_one(layout, L.DIGITAL_NORMAL_OCR_SIZE)
    assert inv.get("total_upper") == "贰佰壹拾肆圆整"
    assert inv.get("total_incl_tax") == Decimal("214.00")


def test_yen_read_as_a_letter():
    layout = L.replaced(L.DIGITAL_NORMAL_OCR, "(小写)¥214.00", "(小写)V214.00")
    assert extract_one(layout, L.DIGITAL_NORMAL_OCR_SIZE).get("total_incl_tax") == Decimal("214.00")


def test_total_computed_when_neither_lower_nor_upper_is_read():
    layout = L.without(L.LEGACY_E_NORMAL_OCR, "(小写)¥52.70", "⊗伍拾贰圆柒角")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    total = inv.fields["total_incl_tax"]
    assert total.value == Decimal("52.70")
    assert total.source == FieldSource.COMPUTED
    assert total.confidence < inv.fields["amount_excl_tax"].confidence


def test_missing_sum_amount_is_computed_from_total_and_tax():
    layout = L.without(L.DIGITAL_NORMAL_OCR, "¥201.89")
    inv = extract_one(layout, L.DIGITAL_NORMAL_OCR_SIZE)
    assert inv.get("amount_excl_tax") == Decimal("201.89")
    assert inv.fields["amount_excl_tax"].source == FieldSource.COMPUTED
    assert inv.get("tax_amount") == Decimal("12.11")


def test_ocr_quirks_in_labels():
    layout = L.replaced(L.DIGITAL_NORMAL_OCR, "发票号码：24922000000078112547", "票号码：24922000000078112547")
    layout = L.replaced(layout, "开票日期：2024年12月28日", "开1期：2024年12月28日")
    layout = L.replaced(layout, "统一社会信用代码/纳税人识别号：91370283MACQY48L1U",
                        "统一社会信用代码/纳税人识制号：91370283MACQY48L1U")
    inv = extract_one(layout, L.DIGITAL_NORMAL_OCR_SIZE)
    assert inv.get("invoice_number") == "24922000000078112547"
    assert inv.get("issue_date") == date(2024, 12, 28)
    assert inv.get("seller_tax_id") == "91370283MACQY48L1U"


def test_misread_tax_id_letters_are_repaired_only_when_that_validates():
    layout = L.replaced(L.LEGACY_E_NORMAL_OCR, "纳税人识别号:91120222079642398Y", "纳税人识别号:9112O222079642398Y")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("seller_tax_id") == "91120222079642398Y"


def test_nothing_is_guessed_for_fields_not_printed():
    layout = L.without(L.LEGACY_E_NORMAL_OCR, "机器编号：661619942171", "校验码:76939 05688 34666 77916",
                       "订单号:94859303935")
    inv = extract_one(layout, L.LEGACY_E_NORMAL_OCR_SIZE)
    for absent in ("machine_no", "check_code", "remark", "buyer_tax_id"):
        assert absent not in inv.fields


SELLER_ID_LINE = "统一社会信用代码/纳税人识别号：91370283MACQY48L1U"


def _seller_id_split(layout, label: str) -> tuple:
    """The seller's tax-ID line as a photo gives it: the label and the value in two boxes."""
    layout = L.without(layout, SELLER_ID_LINE)
    return layout + ((label, (631, 247, 860, 270), 0.97), ("91370283MACQY48L1U", (880, 247, 1137, 270), 0.99))


def test_tax_id_labels_garbled_by_ocr_still_find_the_seller_id():
    for label in ("统一社会信用代码/纳税人同期号：", "社会信用代购的权人职留号"):
        inv = extract_one(_seller_id_split(L.DIGITAL_NORMAL_OCR, label), L.DIGITAL_NORMAL_OCR_SIZE)
        assert inv.get("seller_tax_id") == "91370283MACQY48L1U", label
        assert "buyer_tax_id" not in inv.fields, label


def test_a_valid_id_whose_label_is_unreadable_goes_to_the_side_it_is_printed_on():
    layout = _seller_id_split(L.DIGITAL_NORMAL_OCR, "城一")
    inv = extract_one(layout, L.DIGITAL_NORMAL_OCR_SIZE)
    assert inv.get("seller_tax_id") == "91370283MACQY48L1U"
    assert "buyer_tax_id" not in inv.fields  # the buyer's empty label does not reach across to the seller's ID
    # no 购买方信息 / 销售方信息 headers and no items table read: the 数电 page's right column is still the seller's
    bare = L.without(layout, "销售方信息", "购买方信息", "项目名称", "规格型号", "单位", "数量", "单价", "金额",
                     "税率/征收率", "税额")
    inv = extract_one(bare, L.DIGITAL_NORMAL_OCR_SIZE)
    assert (inv.get("seller_name"), inv.get("seller_tax_id")) == ("青岛惠郡餐饮管理有限公司", "91370283MACQY48L1U")
    assert inv.get("buyer_name") == "姜浩然"


def test_a_misread_id_is_corrected_from_the_seal_only_when_one_valid_id_is_that_close():
    layout = L.without(L.LEGACY_E_NORMAL_OCR, "91120222079642398Y")  # the seal's own line, replaced below
    misread = L.replaced(layout, "纳税人识别号:91120222079642398Y", "纳税人识别号:91120222O796A2398Y")
    seal = (("91120222079642398Y", (716, 480, 800, 492), 0.9),)
    assert extract_one(misread + seal, L.LEGACY_E_NORMAL_OCR_SIZE).get("seller_tax_id") == "91120222079642398Y"
    unrelated = (("91370283MACQY48L1U", (716, 480, 800, 492), 0.9),)  # a valid ID, but far from the misread one
    inv = extract_one(misread + unrelated, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert inv.get("seller_tax_id") == "91120222O796A2398Y"  # kept as read: validation flags it


def test_sums_whose_labels_are_unreadable_come_from_the_amount_identity():
    blurred = L.without(L.LEGACY_E_NORMAL_OCR, "计", "合", "价税合计(大写)", "⊗伍拾贰圆柒角", "(小写)¥52.70")
    blurred += (("¥52.70", (680, 402, 735, 420), 0.9),)
    inv = extract_one(blurred, L.LEGACY_E_NORMAL_OCR_SIZE)
    assert (inv.get("amount_excl_tax"), inv.get("tax_amount"), inv.get("total_incl_tax")) == (
        Decimal("46.62"), Decimal("6.08"), Decimal("52.70"))
    ambiguous = blurred + (("¥40.00", (300, 300, 340, 312), 0.9), ("¥12.70", (350, 300, 390, 312), 0.9))
    assert "total_incl_tax" not in extract_one(ambiguous, L.LEGACY_E_NORMAL_OCR_SIZE).fields  # two triples: no guess


def test_the_buyer_header_does_not_claim_the_seller_column_when_ocr_lost_the_seller_header():
    inv = extract_one(L.without(L.DIGITAL_NORMAL_OCR, "销售方信息"), L.DIGITAL_NORMAL_OCR_SIZE)
    assert (inv.get("seller_name"), inv.get("seller_tax_id")) == ("青岛惠郡餐饮管理有限公司", "91370283MACQY48L1U")
    assert inv.get("buyer_name") == "姜浩然" and "buyer_tax_id" not in inv.fields


# A blurred legacy photo as OCR read it (generated photo set, seed 2024, 006's twin 000): the seller's 名称 and
# 纳税人识别号 labels are garbled or lost, there is no 销售方 header and no items-table header.
BLURRED_LEGACY = (
    ("发群代源：", (796, 43, 874, 68), 0.57), ("051001727411", (876, 42, 998, 66), 0.99),
    ("四川增值税电子普通发票", (382, 61, 763, 107), 0.97), ("发要号码", (793, 70, 869, 96), 0.74),
    ("82786232", (874, 70, 961, 96), 0.97), ("开禁日期", (794, 99, 867, 125), 0.56),
    ("2017年12月13日", (878, 99, 1010, 124), 0.95), ("广州恒明科技有限公司", (218, 204, 385, 232), 0.94),
    ("的税人的响号", (91, 233, 194, 258), 0.65), ("91440106JQKY3FHM68", (216, 232, 397, 257), 0.8),
    ("地址，电话", (89, 259, 185, 285), 0.84), ("¥47.33", (861, 474, 923, 501), 0.96),
    ("V2.84", (1093, 475, 1148, 501), 0.9), ("V50.17", (923, 517, 990, 544), 0.82),
    ("书称", (90, 566, 168, 596), 0.6), ("成都卓安酒店管理有限公司", (219, 565, 419, 593), 0.89),
    ("91510107255WB85EXF", (219, 601, 398, 625), 0.15),
)


def test_an_unlabelled_valid_id_below_the_buyers_is_the_sellers():
    inv = extract_one(BLURRED_LEGACY, (1201, 786))
    assert inv.get("buyer_tax_id") == "91440106JQKY3FHM68"
    assert inv.get("seller_tax_id") == "91510107255WB85EXF"
    above = tuple(line for line in BLURRED_LEGACY if line[0] != "91510107255WB85EXF") + (
        ("91510107255WB85EXF", (219, 100, 398, 124), 0.9),)  # printed above the buyer's: not the seller's
    assert "seller_tax_id" not in extract_one(above, (1201, 786)).fields
