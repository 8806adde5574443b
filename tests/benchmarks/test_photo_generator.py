import json
from datetime import date
from decimal import Decimal

import cv2
import numpy as np
import pytest

from benchmarks.photos import generate
from benchmarks.photos.invoice_data import ITEM_KINDS, KINDS, make_invoice, make_uscc
from benchmarks.photos.render import FontsMissing, find_fonts
from pipeline.money import from_upper, to_upper
from pipeline.qr_payload import parse_invoice_qr
from pipeline.taxid import is_valid_uscc

try:
    find_fonts()
    FONTS = True
except FontsMissing:
    FONTS = False
needs_fonts = pytest.mark.skipif(not FONTS, reason="no CJK font: apt-get install fonts-wqy-zenhei fonts-noto-cjk")


def _money(value: str) -> Decimal:
    return Decimal(value)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("kind", KINDS)
def test_truth_is_consistent(kind, seed):
    data = make_invoice(kind, np.random.default_rng([seed, 99]))
    f = data.fields
    total = _money(f["total_incl_tax"])
    assert total > 0 and total == total.quantize(Decimal("0.01"))
    if "amount_excl_tax" in f:
        amount, tax = _money(f["amount_excl_tax"]), _money(f["tax_amount"])
        assert amount + tax == total
        assert sum(i.amount for i in data.items) == amount and sum(i.tax for i in data.items) == tax
        for item in data.items:
            assert item.name.startswith("*") and item.name.count("*") == 2
            assert abs(item.amount * Decimal(item.rate) - item.tax) <= Decimal("0.005")
    if "total_upper" in f:
        assert from_upper(f["total_upper"]) == total
        assert f["total_upper"] in (to_upper(total, "legacy"), to_upper(total, "digital"))
    for key in ("seller_tax_id", "buyer_tax_id"):
        if key in f:
            assert is_valid_uscc(f[key]), f[key]
    if "issue_date" in f:
        assert date.fromisoformat(f["issue_date"]) <= date(2026, 12, 31)
    if kind in ("taxi", "quota"):
        assert data.qr_text is None and len(f["invoice_code"]) == 12 and f["invoice_code"][0] == "1"
        assert f["invoice_code"][7] != "2" and len(f["invoice_number"]) == 8  # not a 机动车 code
        return
    q = parse_invoice_qr(data.qr_text)
    assert q is not None, data.qr_text
    assert q.invoice_number == f["invoice_number"] and q.issue_date.isoformat() == f["issue_date"]
    if kind == "vat_e_normal":
        assert (q.invoice_code, q.check_code, q.type_code) == (f["invoice_code"], f["check_code"], "10")
        assert f["invoice_code"].endswith("11") and len(f["invoice_number"]) == 8
        assert not q.amount_is_tax_inclusive and q.amount == _money(f["amount_excl_tax"])
    else:
        assert q.invoice_code is None and len(f["invoice_number"]) == 20
        assert f["invoice_number"][:2] == f["issue_date"][2:4]  # 数电 number starts with the year
        assert q.amount_is_tax_inclusive and q.amount == total
        assert q.type_code == {"digital_normal": "32", "digital_special": "31", "rail_e_ticket": "51"}[kind]


def test_uscc_generator_gives_valid_codes_for_many_draws():
    rng = np.random.default_rng(5)
    codes = {make_uscc(rng, "110105") for _ in range(200)}
    assert len(codes) == 200 and all(is_valid_uscc(c) and c.startswith("91110105") for c in codes)


def test_item_catalogue_uses_the_domain_short_names():
    assert {"餐饮服务", "住宿服务", "运输服务", "信息技术服务"} <= {row[0] for row in ITEM_KINDS}


@needs_fonts
def test_same_seed_same_truth_and_bytes():
    a, b = generate.make_sample(7, 3, max_side=900), generate.make_sample(7, 3, max_side=900)
    assert a.truth == b.truth and a.jpeg == b.jpeg and a.name == b.name
    c = generate.make_sample(8, 3, max_side=900)
    assert c.truth["fields"] != a.truth["fields"]


@needs_fonts
@pytest.mark.parametrize("index", [0, 1, 3])  # legacy 电子普票, 数电 普票, rail e-ticket: all carry a QR code
def test_photo_decodes_and_its_qr_agrees_with_the_truth(index):
    from pipeline.readers.cleanup import clean_photo
    from pipeline.readers.qr import decode_qr

    sample = generate.make_sample(21, index, severity="mild", max_side=2000, quality=(85, 85))
    photo = cv2.imdecode(np.frombuffer(sample.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert max(photo.shape[:2]) == 2000
    quad = np.array(sample.truth["photo"]["document_quad"])
    assert quad.shape == (4, 2)
    texts = [c.text for c in decode_qr(photo)] or [c.text for c in decode_qr(clean_photo(photo).image)]
    assert sample.truth["qr"] in texts
    q = parse_invoice_qr(sample.truth["qr"])
    assert q.invoice_number == sample.truth["fields"]["invoice_number"]


@needs_fonts
def test_cli_writes_images_and_truth(tmp_path):
    assert generate.main(["--out", str(tmp_path), "--n", "2", "--seed", "4", "--max-side", "800",
                          "--kinds", "taxi,quota"]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["000_taxi.jpg", "000_taxi.truth.json", "001_quota.jpg", "001_quota.truth.json"]
    truth = json.loads((tmp_path / "001_quota.truth.json").read_text("utf-8"))
    assert truth["kind"] == "quota" and truth["generator"] == {
        "seed": 4, "index": 1, "severity": "mixed", "note": "synthetic invoice generated by benchmarks.photos.generate"}
    assert max(cv2.imread(str(tmp_path / "000_taxi.jpg")).shape[:2]) == 800
