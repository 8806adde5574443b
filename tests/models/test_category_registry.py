"""Learning from corrections: weighted examples change the model for that seller, the runtime store swaps
atomically behind a quality gate, rolls back, and ``load_model()`` follows ``CURRENT``."""

import json
import shutil
from decimal import Decimal

import pytest

from models import registry
from models.category import ARTEFACT_DIR, CURRENT_FILE, load_model, resolve_model_dir
from models.corrections import (
    LabelledExample,
    combined_hash,
    examples_hash,
    rule_overrides,
    training_rows,
)
from models.dataset import build_dataset
from models.rules import RuleSet
from models.sources import load_sources

SCALE = 0.05
KINGSOFT = "北京金山办公软件股份有限公司"  # sells WPS memberships: software, which the model takes for meetings
CANTEEN = "武汉光谷职工食堂餐饮管理有限公司"  # the staff canteen: welfare by company policy, entertainment by rule


def example(seller, item, label, amount="100.00", **kw) -> LabelledExample:
    return LabelledExample(seller, (item,), "digital_normal", Decimal(amount), label, **kw)


CORRECTIONS = [
    example(KINGSOFT, "*生产生活服务*会员费", "software_it", "89.00", ref="correction:1"),
    example(KINGSOFT, "*现代服务*会员服务费", "software_it", "179.00", ref="correction:2"),
    example(KINGSOFT, "*生产生活服务*超级会员", "software_it", "299.00", ref="correction:3"),
    example(CANTEEN, "*餐饮服务*工作餐", "welfare", "560.00", ref="correction:4"),
    example(CANTEEN, "*餐饮服务*员工午餐", "welfare", "1200.00", ref="correction:5"),
    example(CANTEEN, "*餐饮服务*餐费", "welfare", "830.00", ref="correction:6"),
]


def probe(model):
    membership = model.classify(KINGSOFT, ["*生产生活服务*年度会员费"], kind="digital_normal", amount="128.00")
    canteen = model.classify(CANTEEN, ["*餐饮服务*餐费"], kind="digital_normal", amount="640.00")
    restaurant = model.classify("北京全聚德烤鸭股份有限公司", ["*餐饮服务*餐费"], kind="digital_normal", amount="640.00")
    return membership, canteen, restaurant


@pytest.fixture
def store(tmp_path, monkeypatch):
    folder = tmp_path / "models"
    monkeypatch.setenv("REIMBURSE_MODEL_RUNTIME_DIR", str(folder))
    monkeypatch.setenv("REIMBURSE_MODEL_RETRAIN_SCALE", str(SCALE))
    return folder


@pytest.fixture(scope="module")
def small_baseline_store(tmp_path_factory):
    folder = tmp_path_factory.mktemp("baseline") / "models"
    outcome = registry.retrain([], runtime_dir=folder, shared=None, scale=SCALE, force=True)
    assert outcome.status == "promoted"
    return folder, outcome.version


@pytest.fixture
def small_baseline(store, small_baseline_store):
    """A store whose current model is the small-scale model without corrections (a fair gate for SCALE)."""
    template, version = small_baseline_store
    shutil.copytree(template, store)
    return version


# ---------------------------------------------------------------- examples


def test_examples_hash_ignores_provenance_and_order_and_skips_trip_rides():
    a = [example(KINGSOFT, "*生产生活服务*会员费", "software_it", ref="correction:1", actor="f1")]
    b = [example(KINGSOFT, "*生产生活服务*会员费", "software_it", ref="correction:9", actor="f2")]
    assert examples_hash(a) == examples_hash(b) != ""
    assert examples_hash(CORRECTIONS) == examples_hash(list(reversed(CORRECTIONS)))
    ride = example("滴滴出行科技有限公司", "*运输服务*客运服务费", "travel.transport", in_trip=True)
    assert training_rows([ride]) == [] and examples_hash([ride]) == ""
    assert combined_hash("base", []) == combined_hash("base", [ride]) == "base"
    assert combined_hash("base", a) != "base"
    assert LabelledExample.from_json(json.loads(json.dumps(a[0].to_json()))) == a[0]


def test_a_correction_contradicting_a_rule_leaves_that_seller_to_the_model():
    rules = RuleSet.from_yaml()
    assert rule_overrides(CORRECTIONS, rules) == {CANTEEN}  # the Kingsoft lines were the model's, not a rule's
    overridden = RuleSet.from_dict({**rules.to_dict(), "seller_overrides": sorted(rule_overrides(CORRECTIONS, rules))})
    assert overridden.decide(["*餐饮服务*餐费"], "digital_normal", CANTEEN) is None
    assert overridden.decide(["*餐饮服务*餐费"], "digital_normal", "北京全聚德烤鸭股份有限公司") == "entertainment"


# ---------------------------------------------------------------- retrain, swap, rollback


def test_corrected_sellers_are_labelled_right_after_retraining(store, small_baseline):
    before = load_model()
    assert before.model_version == small_baseline and resolve_model_dir() == store
    membership, canteen, restaurant = probe(before)
    # Not labelled right: a wrong category, or the right guess too unsure to be used (abstained).
    assert (membership.category, membership.abstained) != ("software_it", False)
    assert canteen.category != "welfare"

    outcome = registry.retrain(CORRECTIONS, shared=None)
    assert outcome.status == "promoted", outcome.reason
    assert outcome.previous == small_baseline and outcome.corrections == outcome.corrections_reproduced == 6
    assert outcome.macro_f1 >= outcome.previous_macro_f1 - 0.01

    after = load_model()  # CURRENT changed: the next call loads the new model
    assert after.model_version == outcome.version != small_baseline
    membership, canteen, restaurant = probe(after)
    assert (membership.category, membership.abstained) == ("software_it", False)
    assert (canteen.category, canteen.abstained, canteen.source) == ("welfare", False, "model")
    assert (restaurant.category, restaurant.source) == ("entertainment", "rule")  # other sellers keep the rule

    meta = after.meta
    assert meta["corrections"]["used"] == 6 and meta["data_hash"] == combined_hash(meta["base_data_hash"], CORRECTIONS)
    assert outcome.version.endswith(meta["data_hash"][:8])
    card = (store / f"category-{outcome.version}.card.md").read_text(encoding="utf-8")
    assert meta["data_hash"] in card and "6 finance corrections" in card and meta["trained_at"] in card
    metrics = json.loads((store / f"category-{outcome.version}.metrics.json").read_text(encoding="utf-8"))
    assert metrics["gate"]["passed"] and metrics["gate"]["previous_version"] == small_baseline

    again = registry.retrain(CORRECTIONS, shared=None)
    assert (again.status, again.version) == ("unchanged", outcome.version)


def test_rollback_and_promote_move_current_and_load_model_follows(store, small_baseline):
    shipped = (ARTEFACT_DIR / CURRENT_FILE).read_text(encoding="utf-8").strip().removeprefix("category-") \
        .removesuffix(".joblib")
    learnt = registry.retrain(CORRECTIONS, shared=None).version
    assert [e["event"] for e in registry.history()] == ["adopt", "promote", "promote"]

    assert registry.rollback() == (learnt, small_baseline)
    assert load_model().model_version == small_baseline
    assert registry.rollback() == (small_baseline, shipped)  # back to the adopted shipped model
    assert load_model().model_version == shipped
    with pytest.raises(registry.UnknownVersion):
        registry.rollback()

    assert registry.promote(learnt) == shipped
    assert load_model().model_version == learnt
    listed = {v.version: v for v in registry.versions()}
    assert set(listed) == {shipped, small_baseline, learnt}
    assert listed[learnt].current and listed[learnt].corrections == 6
    with pytest.raises(registry.UnknownVersion):
        registry.promote("cat-19990101-deadbeef")
    assert (store / CURRENT_FILE).read_text(encoding="utf-8").strip() == f"category-{learnt}.joblib"


def test_the_gate_refuses_a_model_that_got_worse_and_force_overrides(store, small_baseline):
    # Finance "corrects" forty welfare lines to entertainment: the held-out welfare class collapses.
    rows = [r for r in build_dataset(load_sources(None), SCALE).split("train") if r.label == "welfare"][:40]
    poison = [LabelledExample(r.seller_name, r.items, r.kind, r.amount, "entertainment") for r in rows]
    refused = registry.retrain(poison, shared=None)
    assert refused.status == "refused" and refused.macro_f1 < refused.previous_macro_f1 - 0.01
    assert registry.current_version() == small_baseline and load_model().model_version == small_baseline
    assert (store / f"category-{refused.version}.joblib").is_file()  # kept for inspection, not used
    assert registry.history()[-1]["event"] == "refuse"
    assert registry.last_attempt_hash() == examples_hash(poison)

    forced = registry.retrain(poison, shared=None, force=True)
    assert forced.status == "promoted" and registry.current_version() == refused.version


def test_a_busy_store_refuses_a_second_retrain(store):
    with registry.locked():
        with pytest.raises(registry.StoreBusy):
            registry.retrain(CORRECTIONS, shared=None)
        with pytest.raises(registry.StoreBusy):
            registry.rollback()


def test_the_pinned_model_dir_wins_over_the_runtime_store(store, small_baseline, monkeypatch):
    from pipeline import config

    monkeypatch.setenv("REIMBURSE_MODEL_DIR", str(ARTEFACT_DIR))
    config.get_pipeline_settings.cache_clear()
    try:
        assert resolve_model_dir() == ARTEFACT_DIR and load_model().model_version != small_baseline
    finally:
        monkeypatch.delenv("REIMBURSE_MODEL_DIR")
        config.get_pipeline_settings.cache_clear()
    assert load_model().model_version == small_baseline


def test_train_cli_learns_from_a_corrections_file(tmp_path):
    from models.corrections import write_jsonl
    from models.train import main

    path = tmp_path / "corrections.jsonl"
    write_jsonl(path, CORRECTIONS)
    out = tmp_path / "out"
    assert main(["--no-shared", "--scale", str(SCALE), "--out", str(out), "--card", str(out / "CARD.md"),
                 "--corrections", str(path), "--quiet"]) == 0
    model = load_model(out / (out / CURRENT_FILE).read_text(encoding="utf-8").strip())
    assert probe(model)[0].category == "software_it" and model.meta["corrections"]["used"] == 6


def test_only_corrected_sellers_get_an_indicator_feature_and_old_featurizers_still_work():
    from models.features import Featurizer, Line

    lines = [Line("北京某某餐饮有限公司", ("*餐饮服务*餐费",)), Line(CANTEEN, ("*餐饮服务*工作餐",)),
             Line("北京某某餐饮有限公司", ("*餐饮服务*餐费",))]
    plain = Featurizer(min_df=1).fit(lines)
    marked = Featurizer(min_df=1, exact_sellers=(CANTEEN, ""), exact_seller_weight=3.0).fit(lines)
    a, b = plain.transform(lines), marked.transform(lines)
    assert b.shape[1] == a.shape[1] + 1 == marked.n_features
    assert (b[:, :-1] != a).nnz == 0 and b[:, -1].toarray().ravel().tolist() == [0.0, 3.0, 0.0]
    del marked.exact_  # an artefact pickled before the indicator existed
    assert (marked.transform(lines) != a).nnz == 0
