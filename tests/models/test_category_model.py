"""The shipped model loads, answers realistic lines sensibly, abstains on nonsense and keeps its contract."""

import dataclasses
import re
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from models.category import ARTEFACT_DIR, CURRENT_FILE, load_model
from models.dataset import build_dataset
from models.sources import load_sources
from pipeline.errors import BackendUnavailable
from pipeline.types import Classification, InvoiceKind, LineItem


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.mark.parametrize("seller,items,kind,expected", [
    ("北京XX餐饮管理有限公司", ["*餐饮服务*餐费"], "digital_normal", "entertainment"),
    ("上海XX酒店管理有限公司XX分公司", ["*住宿服务*住宿费"], "digital_special", "travel.lodging"),
    ("湖北XX高速公路有限公司", ["*经营租赁*通行费"], "vat_e_normal", "vehicle.toll"),
    ("北京XX科技有限公司", ["*信息技术服务*技术服务费"], "digital_special", "software_it"),
    ("中国石化销售股份有限公司浙江杭州石油分公司", ["*汽油*92号车用汽油"], "vat_roll", "vehicle.fuel"),
])
def test_lines_from_the_brief(model, seller, items, kind, expected):
    result = model.classify(seller, items, kind=kind, amount=Decimal("268.00"))
    assert isinstance(result, Classification)
    assert (result.category, result.abstained) == (expected, False)


@pytest.mark.parametrize("seller,items,expected", [
    ("北京XX餐饮管理有限公司", ["餐费"], "entertainment"),  # no 简称 printed
    ("杭州XX餐饮有限公司", ["餐饮服务餐费"], "entertainment"),  # asterisks lost by OCR
    ("阿里云计算有限公司", ["*生产生活服务*云服务器续费"], "software_it"),
    ("中国联合网络通信有限公司深圳市分公司", ["*生产生活服务*月租费"], "telecom"),
    ("顺丰速运有限公司", ["*生产生活服务*寄件费"], "courier"),
    ("深圳市XX物业管理有限公司", ["*生产生活服务*物业管理费"], "rent_property"),
    ("XX汽车销售服务有限公司", ["*修理修配服务*车辆保养"], "vehicle.maintenance"),
    ("北京XX广告有限公司", ["*生产生活服务*广告发布费"], "marketing"),
    ("上海XX教育科技有限公司", ["*生产生活服务*培训费"], "training"),
    ("天津京东达业贸易有限公司", ["*纸制品*A4复印纸"], "office"),
    ("上海携程商务有限公司", ["*经纪代理服务*代订机票款"], "travel.transport"),
])
def test_the_model_generalises_beyond_the_rules(model, seller, items, expected):
    result = model.classify(seller, items, kind="digital_normal")
    assert result.source == "model"
    assert result.category == expected
    assert not result.abstained


def test_seller_only_gives_the_likely_category_with_lower_confidence(model):
    # A hotel also invoices meals and meeting rooms: without item lines the model may abstain, but its guess is lodging.
    hotel = model.classify("青岛XX酒店管理有限公司", [], kind="digital_special")
    with_item = model.classify("青岛XX酒店管理有限公司", ["*生产生活服务*客房费"], kind="digital_special")
    assert hotel.category == with_item.category == "travel.lodging"
    assert hotel.confidence < with_item.confidence


@pytest.mark.parametrize("seller,items", [
    ("asdf qwer", ["zzzz xxxx"]),
    ("lorem ipsum", ["####"]),
    (None, []),
])
def test_abstains_on_nonsense(model, seller, items):
    result = model.classify(seller, items)
    assert result.abstained
    assert result.confidence < model.threshold


def test_ride_in_a_trip_is_travel_transport(model):
    line = ("滴滴出行科技有限公司", ["*运输服务*客运服务费"])
    assert model.classify(*line).category == "local_transport"
    assert model.classify(*line, in_trip=False).category == "local_transport"
    assert model.classify(*line, in_trip=True).category == "travel.transport"
    assert model.classify(None, [], kind="taxi", in_trip=True).category == "travel.transport"


@pytest.fixture(scope="module")
def held_out_sample():
    rows = build_dataset(load_sources(None), scale=0.1).split("eval")
    return [{"seller_name": r.seller_name, "items": list(r.items), "kind": r.kind, "amount": r.amount}
            for r in rows[::3]]


def test_batch_equals_single_and_confidence_is_a_probability(model, held_out_sample):
    batch = model.classify_batch(held_out_sample)
    single = [model.classify(r["seller_name"], r["items"], kind=r["kind"], amount=r["amount"])
              for r in held_out_sample]
    assert batch == single
    assert all(0.0 <= c.confidence <= 1.0 for c in batch)
    assert {c.source for c in batch} == {"rule", "model"}
    assert all(c.model_version == model.model_version for c in batch)
    from models.features import Line
    proba = model.predict_proba([Line(r["seller_name"], tuple(r["items"]), r["kind"], r["amount"])
                                 for r in held_out_sample])
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_a_higher_threshold_abstains_more(model, held_out_sample):
    strict = dataclasses.replace(model, threshold=0.99)
    n_default = sum(c.abstained for c in model.classify_batch(held_out_sample))
    n_strict = sum(c.abstained for c in strict.classify_batch(held_out_sample))
    assert n_strict > n_default
    assert model.threshold == pytest.approx(0.6) or model.threshold > 0  # from PipelineSettings


def test_accepts_pipeline_types_and_loose_inputs(model):
    a = model.classify("北京XX餐饮管理有限公司", [LineItem("*餐饮服务*餐费", Decimal(100))],
                       kind=InvoiceKind.DIGITAL_NORMAL, amount="100.00")
    b = model.classify("北京XX餐饮管理有限公司", ["*餐饮服务*餐费"], kind="digital_normal", amount=Decimal(100))
    assert a == b


def test_artefact_pointer_version_and_cache(model):
    name = (ARTEFACT_DIR / CURRENT_FILE).read_text(encoding="utf-8").strip()
    assert name == f"category-{model.model_version}.joblib"
    assert re.fullmatch(r"cat-\d{8}-[0-9a-f]{8}", model.model_version)
    assert model.model_version.endswith(model.meta["data_hash"][:8])
    assert (ARTEFACT_DIR / name).stat().st_size < 10_000_000
    assert load_model() is model
    assert load_model(ARTEFACT_DIR / name) is model


def test_missing_artefact_says_run_make_train(tmp_path: Path):
    with pytest.raises(BackendUnavailable, match="make train"):
        load_model(tmp_path / "nope.joblib")
    from models.category import current_artefact
    with pytest.raises(BackendUnavailable, match="make train"):
        current_artefact(tmp_path)
