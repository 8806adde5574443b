"""The training set is reproducible, seller- and item-disjoint across splits, and consistent with the rules."""

from collections import Counter

import pytest

from models.dataset import (
    _code_rules,
    build_dataset,
    category_of_code,
    trained_categories,
)
from models.features import normalize, parse_item
from models.rules import RuleSet
from models.sources import load_sources
from models.taxonomy import load_taxonomy


@pytest.fixture(scope="module")
def sources():
    return load_sources(None)  # committed data only: the same on every clone


@pytest.fixture(scope="module")
def dataset(sources):
    return build_dataset(sources)


def test_same_inputs_give_the_same_rows_and_hash(sources, dataset):
    again = build_dataset(sources)
    assert again.data_hash == dataset.data_hash
    assert again.rows == dataset.rows
    smaller = build_dataset(sources, scale=0.1)
    assert smaller.data_hash != dataset.data_hash


def test_no_seller_and_no_item_name_in_both_splits(dataset):
    train, held_out = dataset.split("train"), dataset.split("eval")
    assert len(held_out) > 0.15 * len(train)

    def sellers(rows):
        return {normalize(r.seller_name) for r in rows if r.seller_name}

    def names(rows):
        return {parse_item(i)[1] for r in rows for i in r.items}

    def texts(rows):
        return {i for r in rows for i in r.items}

    assert not sellers(train) & sellers(held_out)
    assert not names(train) & names(held_out)
    assert not texts(train) & texts(held_out)


def test_every_trained_category_is_in_both_splits_and_in_the_taxonomy(sources, dataset):
    cats = set(trained_categories(sources))
    assert cats == set(load_taxonomy().model_codes)
    for split in ("train", "eval"):
        counts = Counter(r.label for r in dataset.split(split))
        assert set(counts) == cats
        assert min(counts.values()) >= 0.5 * max(counts.values()) / 1.5  # balanced by construction


def test_rows_carry_both_jiancheng_wordings_and_noise(dataset):
    texts = [i for r in dataset.rows for i in r.items]
    assert any(t.startswith("*运输服务*") for t in texts)  # 2017
    assert any(t.startswith("*交通运输服务*") for t in texts)  # 2026
    assert any(t.startswith("*生产生活服务*") for t in texts)  # 2026
    assert any(not t.startswith("*") for t in texts)  # bare names / lost asterisks
    assert any(r.seller_name is None for r in dataset.rows)
    assert any(not r.items for r in dataset.rows)


def test_deterministic_rules_agree_with_every_label(dataset):
    rules = RuleSet.from_yaml()
    conflicts = [(r.items, r.kind, r.label, d) for r in dataset.rows
                 if (d := rules.decide(r.items, r.kind)) is not None and d != r.label]
    assert conflicts == []


@pytest.mark.parametrize("code,name,expected", [
    ("3070401000000000000", "餐饮服务", "entertainment"),
    ("3070402000000000000", "住宿服务", "travel.lodging"),
    ("3040502020301000000", "高速公路通行服务", "vehicle.toll"),
    ("3040502020200000000", "车辆停放服务", "vehicle.parking"),
    ("1070101010200000000", "车用汽油", "vehicle.fuel"),
    ("1070101110100000000", "液化石油气", "other"),  # prefix matches the fuel row, its name regex does not
    ("3010101010100000000", "国内铁路旅客运输服务", "travel.transport"),
    ("3010101020201000000", "公共电汽车客运服务", "local_transport"),
    ("3010102020100000000", "国内道路货物运输服务", "courier"),
    ("3040409040000000000", "快递服务", "courier"),
    ("1020101000000000000", "原煤", "other"),
])
def test_tax_code_mapping(sources, code, name, expected):
    assert category_of_code(code, [name], _code_rules(sources))[0] == expected
