"""read_xml: 数电 EInvoice, legacy e-invoice XML, rail XBRL and label dialects, built here from DOMAIN §5.3/§1.4."""

from __future__ import annotations

import hashlib

import pytest

from pipeline.errors import CorruptDocument
from pipeline.ingest import ingest_bytes
from pipeline.readers.einvoice_xml import STRUCTURED_FORMAT_KEY, read_xml
from pipeline.types import DocType, FieldSource, SourceDocument


def xml_doc(text: str, bom: bool = False) -> SourceDocument:
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    doc = ingest_bytes("invoice.xml", data)
    assert doc.doc_type == DocType.XML
    return doc


def digital_xml(number: str = "24312000000358032546", label: str = "增值税专用发票", blue: str = "Y",
                total: str = "633.00", prefix: str = "") -> str:
    p = prefix
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<{p}EInvoice{' xmlns:' + p[:-1] + '="urn:einvoice"' if p else ''}>
  <{p}Header>
    <{p}EIid>{number}</{p}EIid><{p}EInvoiceTag>SWEI3200</{p}EInvoiceTag><{p}Version>0.32</{p}Version>
    <{p}InherentLabel>
      <{p}InIssuType><{p}LabelCode>{blue}</{p}LabelCode><{p}LabelName>是否蓝字发票标志</{p}LabelName></{p}InIssuType>
      <{p}EInvoiceType><{p}LabelCode>01</{p}LabelCode><{p}LabelName>电子发票</{p}LabelName></{p}EInvoiceType>
      <{p}GeneralOrSpecialVAT><{p}LabelCode>01</{p}LabelCode>
        <{p}LabelName>{label}</{p}LabelName></{p}GeneralOrSpecialVAT>
    </{p}InherentLabel>
  </{p}Header>
  <{p}EInvoiceData>
    <{p}SellerInformation>
      <{p}SellerIdNum>91350200MA2YJ1XR9G</{p}SellerIdNum><{p}SellerName>厦门某某酒店管理有限公司</{p}SellerName>
      <{p}SellerAddr>厦门市思明区某路1号</{p}SellerAddr><{p}SellerTelNum>0592-1234567</{p}SellerTelNum>
      <{p}SellerBankName>中国银行厦门分行</{p}SellerBankName><{p}SellerBankAccNum>4100 0000 0001</{p}SellerBankAccNum>
    </{p}SellerInformation>
    <{p}BuyerInformation>
      <{p}BuyerIdNum>91110000600037341L</{p}BuyerIdNum><{p}BuyerName>北京某某科技有限公司</{p}BuyerName>
    </{p}BuyerInformation>
    <{p}BasicInformation>
      <{p}TotalAmWithoutTax>597.17</{p}TotalAmWithoutTax><{p}TotalTaxAm>35.83</{p}TotalTaxAm>
      <{p}TotalTax-includedAmount>{total}</{p}TotalTax-includedAmount>
      <{p}TotalTax-includedAmountInChinese>陆佰叁拾叁圆整</{p}TotalTax-includedAmountInChinese>
      <{p}Drawer>张三</{p}Drawer><{p}RequestTime>2024-11-18 09:30:00</{p}RequestTime>
    </{p}BasicInformation>
    <{p}IssuItemInformation>
      <{p}ItemName>*住宿服务*住宿费</{p}ItemName><{p}MeaUnits>天</{p}MeaUnits><{p}Quantity>2</{p}Quantity>
      <{p}UnPrice>283.018867924528</{p}UnPrice><{p}Amount>566.04</{p}Amount><{p}TaxRate>0.06</{p}TaxRate>
      <{p}ComTaxAm>33.96</{p}ComTaxAm><{p}TotaltaxIncludedAmount>600.00</{p}TotaltaxIncludedAmount>
    </{p}IssuItemInformation>
    <{p}IssuItemInformation>
      <{p}ItemName>*餐饮服务*早餐</{p}ItemName><{p}Amount>31.13</{p}Amount><{p}TaxRate>0.060000</{p}TaxRate>
      <{p}ComTaxAm>1.87</{p}ComTaxAm><{p}TotaltaxIncludedAmount>33.00</{p}TotaltaxIncludedAmount>
    </{p}IssuItemInformation>
    <{p}AdditionalInformation><{p}Remark>入住 2024-11-16 至 2024-11-18</{p}Remark></{p}AdditionalInformation>
  </{p}EInvoiceData>
  <{p}TaxSupervisionInfo>
    <{p}InvoiceNumber>{number}</{p}InvoiceNumber><{p}IssueTime>2024-11-18 09:31:05</{p}IssueTime>
    <{p}TaxBureauCode>13200000000</{p}TaxBureauCode><{p}TaxBureauName>国家税务总局江苏省税务局</{p}TaxBureauName>
  </{p}TaxSupervisionInfo>
</{p}EInvoice>"""


LEGACY_XML = """<?xml version="1.0" encoding="utf-8"?>
<eInvoice xmlns:fp="http://www.edrm.org.cn/schema/e-invoice/2019" Version="1.0">
<fp:DocID>01</fp:DocID><fp:InvoiceCode>011001600211</fp:InvoiceCode><fp:InvoiceNo>25236205</fp:InvoiceNo>
<fp:TypeCode>0</fp:TypeCode><fp:IssueDate>2017年07月01日</fp:IssueDate>
<fp:InvoiceCheckCode>70438474151372413936</fp:InvoiceCheckCode><fp:MachineNo>661616310003</fp:MachineNo>
<fp:TaxControlCode>03&lt;*/+-9</fp:TaxControlCode>
<fp:Buyer><fp:BuyerName>北京某某科技有限公司</fp:BuyerName><fp:BuyerTaxID>91110000600037341L</fp:BuyerTaxID>
<fp:BuyerAddrTel></fp:BuyerAddrTel><fp:BuyerFinancialAccount> </fp:BuyerFinancialAccount></fp:Buyer>
<fp:Tpvn></fp:Tpvn>
<fp:Seller><fp:SellerName>北京某某餐饮有限公司</fp:SellerName><fp:SellerTaxID>911201163409833307</fp:SellerTaxID>
<fp:SellerAddrTel>北京市朝阳区某路2号 010-12345678</fp:SellerAddrTel>
<fp:SellerFinancialAccount>工商银行 0200 0000</fp:SellerFinancialAccount></fp:Seller>
<fp:TaxInclusiveTotalAmount>36.00</fp:TaxInclusiveTotalAmount><fp:Note>备注 一</fp:Note>
<fp:InvoiceClerk>李四</fp:InvoiceClerk><fp:Payee>王五</fp:Payee><fp:Checker>赵六</fp:Checker>
<fp:TaxTotalAmount>2.04</fp:TaxTotalAmount><fp:TaxExclusiveTotalAmount>33.96</fp:TaxExclusiveTotalAmount>
<fp:GraphCode>01,10,011001600211,25236205,33.96,20170701,70438474151372413936,AD3C,</fp:GraphCode>
<fp:Signature>MIIB</fp:Signature>
<fp:GoodsInfos>
 <fp:GoodsInfo><fp:Item>*餐饮服务*餐费</fp:Item><fp:Specification></fp:Specification>
  <fp:MeasurementDimension>次</fp:MeasurementDimension><fp:Price>33.962264</fp:Price><fp:Quantity>1</fp:Quantity>
  <fp:Amount>33.96</fp:Amount><fp:TaxScheme>6%</fp:TaxScheme><fp:TaxAmount>2.04</fp:TaxAmount></fp:GoodsInfo>
</fp:GoodsInfos>
</eInvoice>"""

RAIL_XBRL = """<?xml version="1.0" encoding="UTF-8"?>
<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance" xmlns:rai="http://example.invalid/rai"
            xmlns:iso4217="http://www.xbrl.org/2003/iso4217">
  <xbrli:context id="c1"><xbrli:entity><xbrli:identifier scheme="urn:x">1</xbrli:identifier></xbrli:entity>
    <xbrli:period><xbrli:instant>2026-03-06</xbrli:instant></xbrli:period></xbrli:context>
  <xbrli:unit id="CNY"><xbrli:measure>iso4217:CNY</xbrli:measure></xbrli:unit>
  <rai:TypeOfVoucher contextRef="c1">电子发票（铁路电子客票）</rai:TypeOfVoucher>
  <rai:ElectronicInvoiceRailwayETicketNumber contextRef="c1">26339132621000219582
  </rai:ElectronicInvoiceRailwayETicketNumber>
  <rai:DateOfIssue contextRef="c1">2026-03-08</rai:DateOfIssue>
  <rai:TypeOfBusiness contextRef="c1">售票</rai:TypeOfBusiness>
  <rai:DepartureStation contextRef="c1">上海虹桥站</rai:DepartureStation>
  <rai:DestinationStation contextRef="c1">杭州东</rai:DestinationStation>
  <rai:TrainNumber contextRef="c1">G7501</rai:TrainNumber>
  <rai:TravelDate contextRef="c1">2026-03-06</rai:TravelDate>
  <rai:DepartureTime contextRef="c1">19:54</rai:DepartureTime>
  <rai:SeatLevel contextRef="c1">二等座</rai:SeatLevel><rai:Carriage contextRef="c1">03</rai:Carriage>
  <rai:Seat contextRef="c1">12A</rai:Seat>
  <rai:Fare contextRef="c1" unitRef="CNY" decimals="2">73.00</rai:Fare>
  <rai:ElectronicTicketNum contextRef="c1">E123456789012345</rai:ElectronicTicketNum>
  <rai:IDNumber contextRef="c1">3201061982****0417</rai:IDNumber><rai:Name contextRef="c1">曹某</rai:Name>
  <rai:NameOfPurchaser contextRef="c1">北京某某科技有限公司</rai:NameOfPurchaser>
  <rai:UnifiedSocialCreditCodeOfPurchaser contextRef="c1">91110000600037341L</rai:UnifiedSocialCreditCodeOfPurchaser>
</xbrli:xbrl>"""


def test_digital_einvoice_xml():
    result = read_xml(xml_doc(digital_xml()), None)
    s = result.structured
    assert s[STRUCTURED_FORMAT_KEY] == "xml.digital"
    assert s["invoice_number"] == "24312000000358032546"
    assert s["issue_date"] == "2024-11-18 09:31:05"  # TaxSupervisionInfo/IssueTime wins over RequestTime
    assert (s["seller_tax_id"], s["seller_name"]) == ("91350200MA2YJ1XR9G", "厦门某某酒店管理有限公司")
    assert (s["buyer_tax_id"], s["buyer_name"]) == ("91110000600037341L", "北京某某科技有限公司")
    assert (s["amount_excl_tax"], s["tax_amount"], s["total_incl_tax"]) == ("597.17", "35.83", "633.00")
    assert s["total_upper"] == "陆佰叁拾叁圆整"
    assert s["seller_addr_tel"] == "厦门市思明区某路1号 0592-1234567"
    assert s["seller_bank"] == "中国银行厦门分行 4100 0000 0001"
    assert s["vat_label"] == "增值税专用发票"
    assert s["title"] == "电子发票(增值税专用发票)"
    assert s["drawer"] == "张三" and s["remark"] == "入住 2024-11-16 至 2024-11-18"
    assert s["items.0.name"] == "*住宿服务*住宿费" and s["items.0.amount"] == "566.04"
    assert s["items.0.tax_rate"] == "0.06" and s["items.0.tax_amount"] == "33.96" and s["items.0.unit"] == "天"
    assert s["items.1.name"] == "*餐饮服务*早餐" and s["items.1.tax_rate"] == "0.060000"
    assert "items.2.name" not in s
    assert "600.00" not in s.values() or s["total_incl_tax"] == "633.00"  # line total never becomes the total
    assert "red_letter" not in s
    assert result.pages == [] and result.warnings == []


def test_digital_red_letter_and_namespace_prefix_and_bom():
    result = read_xml(xml_doc(digital_xml(blue="N", total="-633.00", prefix="ei:"), bom=True), None)
    s = result.structured
    assert s["red_letter"] == "true"
    assert s["total_incl_tax"] == "-633.00"
    assert s["invoice_number"] == "24312000000358032546"


def test_legacy_einvoice_xml():
    result = read_xml(xml_doc(LEGACY_XML), None)
    s = result.structured
    assert s[STRUCTURED_FORMAT_KEY] == "xml.legacy"
    assert (s["invoice_code"], s["invoice_number"]) == ("011001600211", "25236205")
    assert s["issue_date"] == "2017年07月01日" and s["check_code"] == "70438474151372413936"
    assert s["machine_no"] == "661616310003"
    assert (s["amount_excl_tax"], s["tax_amount"], s["total_incl_tax"]) == ("33.96", "2.04", "36.00")
    assert (s["drawer"], s["payee"], s["reviewer"]) == ("李四", "王五", "赵六")
    assert "buyer_addr_tel" not in s and "buyer_bank" not in s  # blank elements are absent
    assert s["items.0.name"] == "*餐饮服务*餐费" and s["items.0.tax_rate"] == "6%"
    assert s["items.0.unit"] == "次" and s["items.0.price"] == "33.962264"
    assert s["qr_text"].startswith("01,10,011001600211,25236205,33.96,")
    assert [q.text for q in result.qr_codes] == [s["qr_text"]]


def test_rail_xbrl():
    s = read_xml(xml_doc(RAIL_XBRL), None).structured
    assert s[STRUCTURED_FORMAT_KEY] == "xml.xbrl_rail"
    assert s["invoice_number"] == "26339132621000219582" and s["issue_date"] == "2026-03-08"
    assert (s["from_station"], s["to_station"], s["train_no"]) == ("上海虹桥", "杭州东", "G7501")
    assert s["depart_datetime"] == "2026-03-06 19:54"
    assert (s["seat_class"], s["seat_no"]) == ("二等座", "03车12A号")
    assert s["total_incl_tax"] == "73.00" and s["passenger_name"] == "曹某"
    assert s["e_ticket_no"] == "E123456789012345"
    assert (s["buyer_name"], s["buyer_tax_id"]) == ("北京某某科技有限公司", "91110000600037341L")
    assert s["title"] == "电子发票(铁路电子客票)"
    assert not any("3201061982" in v for v in s.values())  # the ID number is not copied


def test_xbrl_that_is_not_a_rail_ticket_is_not_guessed():
    result = read_xml(xml_doc('<xbrli:xbrl xmlns:xbrli="http://www.xbrl.org/2003/instance">'
                              '<x:Foo xmlns:x="urn:x">1</x:Foo></xbrli:xbrl>'), None)
    assert result.structured == {}
    assert result.warnings and result.pages[0].lines[0].text == "Foo: 1"


def test_chinese_label_dialect():
    s = read_xml(xml_doc('<?xml version="1.0" encoding="UTF-8"?>'
                         "<发票><发票代码>033002000211</发票代码><发票号码>83089647</发票号码>"
                         "<开票日期>2020年07月23日</开票日期><价税合计>526.00</价税合计><合计金额>510.68</合计金额>"
                         "<合计税额>15.32</合计税额><项目><项目名称>*餐饮服务*餐费</项目名称><金额>510.68</金额>"
                         "<税率>3%</税率><税额>15.32</税额></项目></发票>"), None).structured
    assert s[STRUCTURED_FORMAT_KEY] == "xml.labels"
    assert (s["invoice_code"], s["invoice_number"], s["total_incl_tax"]) == ("033002000211", "83089647", "526.00")
    assert (s["items.0.name"], s["items.0.amount"], s["items.0.tax_rate"]) == ("*餐饮服务*餐费", "510.68", "3%")


def test_pinyin_dialect():
    s = read_xml(xml_doc("<FPXX><FPDM>033002000211</FPDM><FPHM>83089647</FPHM><KPRQ>20200723</KPRQ>"
                         "<GMF_MC>甲公司</GMF_MC><GMF_NSRSBH>91110000600037341L</GMF_NSRSBH><XSF_MC>乙公司</XSF_MC>"
                         "<HJJE>510.68</HJJE><HJSE>15.32</HJSE><JSHJ>526.00</JSHJ>"
                         "<XMXX><XMMC>*餐饮服务*餐费</XMMC><XMSL>1</XMSL><XMJE>510.68</XMJE><SL>0.03</SL>"
                         "<SE>15.32</SE></XMXX></FPXX>"), None).structured
    assert s[STRUCTURED_FORMAT_KEY] == "xml.labels"
    assert (s["buyer_name"], s["buyer_tax_id"], s["seller_name"]) == ("甲公司", "91110000600037341L", "乙公司")
    assert (s["items.0.quantity"], s["items.0.tax_rate"], s["items.0.tax_amount"]) == ("1", "0.03", "15.32")


def test_unknown_xml_is_passed_on_as_text_lines():
    result = read_xml(xml_doc("<order><id>42</id><customer>Someone</customer><empty/></order>"), None)
    assert result.structured == {}
    assert "not an invoice format we know" in result.warnings[0]
    page = result.pages[0]
    assert page.source == FieldSource.XML
    assert [line.text for line in page.lines] == ["id: 42", "customer: Someone"]


def test_hostile_xml_is_refused():
    data = b'<!DOCTYPE EInvoice [<!ENTITY x SYSTEM "file:///etc/passwd">]><EInvoice><Header><EIid>&x;</EIid>' \
           b'</Header></EInvoice>'
    doc = SourceDocument("x.xml", data, hashlib.sha256(data).hexdigest(), DocType.XML, "application/xml")
    with pytest.raises(CorruptDocument, match="XXE"):
        read_xml(doc, None)
