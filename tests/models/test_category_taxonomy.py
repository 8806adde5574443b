"""Taxonomy codes are stable and the account-code hook resolves overrides, company and default mappings."""

import pytest

from models.taxonomy import load_taxonomy

STABLE_CODES = [
    "travel.transport", "travel.lodging", "travel.allowance", "local_transport", "entertainment", "office",
    "telecom", "meeting", "training", "welfare", "courier", "marketing", "software_it", "vehicle.fuel",
    "vehicle.toll", "vehicle.parking", "vehicle.maintenance", "rent_property", "other",
]


def test_codes_are_stable():
    tax = load_taxonomy()
    assert tax.codes == STABLE_CODES
    assert "travel.allowance" not in tax.model_codes
    assert tax.get("entertainment").name_zh == "业务招待费"
    assert tax.get("vehicle.toll").parent == "vehicle"
    with pytest.raises(KeyError):
        tax.get("nope")


def test_account_mapping_hook(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        "categories:\n  - {code: office, name_zh: 办公费, name_en: Office}\n  - {code: other, name_zh: 其他, name_en: Other}\n"
        "accounts:\n  default: {office: '660204', other: '660299'}\n  companies: {acme: {office: '5501'}}\n",
        encoding="utf-8")
    tax = load_taxonomy(path)
    assert tax.account_for("office") == "660204"
    assert tax.account_for("office", company="acme") == "5501"
    assert tax.account_for("other", company="acme") == "660299"
    assert tax.account_for("office", company="acme", overrides={"office": "X1"}) == "X1"
    assert load_taxonomy().account_for("software_it") is not None
