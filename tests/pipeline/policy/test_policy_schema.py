from datetime import date
from decimal import Decimal

import pytest

from pipeline.policy import PolicyError, load_policy, master_data_path, policy_from_dict
from pipeline.policy.engine import CLAIM_RULES, LINE_RULES
from pipeline.policy.expr import ExprError, compile_condition
from pipeline.policy.schema import RULE_IDS, WHEN_VARIABLES

from .conftest import ORG_PATH


def test_the_demo_policy_loads_with_its_master_data(policy):
    assert policy.version == "2026.1" and policy.band_of("G4_staff") == "其余人员"
    assert master_data_path(policy) == ORG_PATH.resolve()


def test_every_configurable_rule_id_has_a_rule():
    assert set(LINE_RULES) | set(CLAIM_RULES) | {"BUDGET"} == set(RULE_IDS)


@pytest.mark.parametrize(("city", "band", "night", "cap"), [
    ("北京", "其余人员", None, "500"), ("上海", "司局级", None, "600"), ("北京", "部级", None, "1100"),
    ("拉萨", "其余人员", date(2026, 7, 10), "530"), ("拉萨", "其余人员", date(2026, 3, 10), "350"),
    ("大连", "司局级", date(2026, 9, 30), "590"), ("大连", "司局级", date(2026, 10, 1), "490"),
    ("武汉", "其余人员", None, "380"),  # a T2 city without its own row
    ("喀什", "部级", None, "600"),  # neither listed nor tiered: the default tier
])
def test_lodging_cap_lookup_by_city_region_tier_and_season(policy, city, band, night, cap):
    assert policy.lodging_cap(city, band, night)[0] == Decimal(cap)


def test_rail_hours_match_station_names_either_way(policy):
    assert policy.rail_hours_between("北京南", "上海虹桥") == Decimal("4.5")
    assert policy.rail_hours_between("上海", "北京") == Decimal("4.5")
    assert policy.rail_hours_between("北京", "拉萨") is None


def _error(data) -> str:
    with pytest.raises(PolicyError) as info:
        policy_from_dict(data, "policy.yaml")
    return str(info.value)


def test_an_unknown_key_fails_naming_the_section_rule(policy_data):
    policy_data["lodging"]["cap_per_nite"] = 1
    message = _error(policy_data)
    assert "lodging.cap_per_nite" in message and "rule R9" in message


def test_a_bad_condition_fails_at_load_naming_the_rule(policy_data):
    policy_data["rules"]["R14"] = {"when": "__import__('os').system('true')"}
    message = _error(policy_data)
    assert "rules.R14.when" in message and "(rule R14)" in message


@pytest.mark.parametrize("condition", ["amount > 'x'", "amonut > 5", "amount +", "category", "amount.real > 1",
                                       "category in [1, 'a']"])
def test_conditions_are_type_checked(policy_data, condition):
    policy_data["rules"]["R12"] = {"when": condition}
    assert "rules.R12.when" in _error(policy_data)


def test_an_unknown_rule_id_fails(policy_data):
    policy_data["rules"]["R99"] = {"enabled": False}
    assert "R99" in _error(policy_data)


def test_an_unknown_band_fails(policy_data):
    policy_data["lodging"]["caps"][0]["caps"]["司局"] = 600
    message = _error(policy_data)
    assert "unknown band '司局'" in message and "rule R9" in message


def test_a_grade_mapped_to_no_band_fails(policy_data):
    policy_data["grades"]["G5_intern"] = "实习"
    assert "grades.G5_intern" in _error(policy_data)


def test_bad_season_and_negative_amount_fail(policy_data):
    policy_data["lodging"]["caps"][8]["season"] = "07-01..13-30"
    policy_data["per_diem"]["meal"] = -5
    message = _error(policy_data)
    assert "season" in message and "per_diem.meal" in message and "rule allowances" in message


def test_an_unknown_invoice_kind_fails_naming_r6(policy_data):
    policy_data["invoice_kinds"]["default"].append("napkin")
    message = _error(policy_data)
    assert "invoice_kinds.default" in message and "rule R6" in message


def test_an_unknown_category_fails(policy_data):
    policy_data["invoice_kinds"]["by_category"]["travel.hotel"] = ["vat_special"]
    message = _error(policy_data)
    assert "travel.hotel" in message and "R6" in message


def test_the_default_tier_must_cap_every_band(policy_data):
    policy_data["lodging"]["caps"] = [c for c in policy_data["lodging"]["caps"] if c["where"] != "T3"]
    assert "default tier" in _error(policy_data)


def test_a_city_in_two_tiers_fails(policy_data):
    policy_data["city_tiers"]["T2"].append("北京")
    assert "北京 is in both T1 and T2" in _error(policy_data)


def test_rates_are_canonical(policy_data):
    policy_data["rate_sanity"] = {"餐饮服务": ["6%", "0.03", "1%", "免税"]}
    assert policy_from_dict(policy_data).rates_for("餐饮服务") == frozenset({"0.06", "0.03", "0.01", "免税"})


def test_missing_file_and_bad_yaml_are_policy_errors(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: [1,\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)


def test_conditions_evaluate_with_decimals_and_unknowns():
    cond = compile_condition("amount >= 1000.5 and category in ['entertainment', 'meeting'] and not in_trip",
                             WHEN_VARIABLES)
    assert cond({"amount": Decimal("1000.50"), "category": "meeting", "in_trip": False})
    assert not cond({"amount": Decimal("1000.49"), "category": "meeting", "in_trip": False})
    assert not cond({"amount": None, "category": "meeting", "in_trip": False})  # unknown amount: false
    assert compile_condition("1 < weekday < 6", WHEN_VARIABLES)({"weekday": Decimal(3)})
    assert compile_condition("'酒店' in seller_name", WHEN_VARIABLES)({"seller_name": "北京某酒店"})


@pytest.mark.parametrize("text", ["open('x')", "amount ** 2 > 1", "lambda: 1", "[1] == [1]", "x if y else z", ""])
def test_anything_but_comparisons_is_refused(text):
    with pytest.raises(ExprError):
        compile_condition(text, WHEN_VARIABLES)
