import json
from datetime import date

import pytest

from api.cli import main

from .conftest import POLICY_PATH, REPO

BUYER = {"buyer_name": "武汉市车城物流有限公司", "buyer_tax_id": "914201007483062457"}


def hotel_json(total="1200.00", number="26112000000000000101", **extra):
    return {"kind": "digital_normal", "category": "travel.lodging", **extra,
            "fields": {"invoice_number": number, "issue_date": "2026-03-04", "total_incl_tax": total,
                       "seller_name": "北京某酒店有限公司", "seller_tax_id": "91110105MA00HOTEL1", **BUYER,
                       "items": [{"name": "*住宿服务*住宿费", "amount": "1132.08", "tax_rate": "0.06",
                                  "tax_amount": "67.92"}]},
            "confidence": {"invoice_number": 0.99, "total_incl_tax": 0.98}}


def claim(**overrides):
    data = {"employee": {"emp_no": "E001"}, "submitted_on": "2026-03-10",
            "trip": {"start": "2026-03-02", "end": "2026-03-04", "cities": ["北京"], "purpose": "客户现场实施"},
            "invoices": [hotel_json()]}
    data.update(overrides)
    return data


def run(tmp_path, capsys, data, *extra):
    path = tmp_path / "claim.json"
    path.write_text(json.dumps(data, ensure_ascii=False) if not isinstance(data, str) else data, encoding="utf-8")
    code = main(["check", "--json", str(path), *extra])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if code == 0 else None), err


def test_check_prints_findings_route_and_allowances(tmp_path, capsys):
    code, result, _ = run(tmp_path, capsys, claim())
    assert code == 0
    [r9] = [f for f in result["findings"] if f["rule_id"] == "R9"]
    assert (r9["severity"], r9["suggested_amount"], r9["invoice_key"]) == ("reduce", "1000.00", "26112000000000000101")
    assert r9["message_zh"] and r9["message_en"] and r9["evidence"]["cap"] == "1000.00"
    assert [(a["kind"], a["days"], a["amount"]) for a in result["allowances"]] == [
        ("meal", 3, "300.00"), ("local_transport", 3, "240.00")]
    assert result["route"] == "oa"  # a priced reduction needs no human
    assert result["amounts"] == {"claimed": "1200.00", "after_caps": "1000.00", "allowances": "540.00",
                                 "payable": "1540.00"}


def test_check_saves_nothing(tmp_path, capsys):
    before = sorted(p.name for p in tmp_path.iterdir())
    run(tmp_path, capsys, claim())
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*before, "claim.json"])


def test_inline_employee_and_explicit_policy_and_org(tmp_path, capsys):
    data = claim(employee={"grade": "G2_director", "department": "D02"})
    code, result, _ = run(tmp_path, capsys, data, "--policy", str(POLICY_PATH), "--org",
                          str(REPO / "samples" / "org" / "company.yaml"))
    assert code == 0 and [f for f in result["findings"] if f["rule_id"] == "R9"] == []  # 司局级 cap 650/night


def test_extract_records_with_a_model_category_that_abstained_go_to_review(tmp_path, capsys):
    record = {"file": "x.pdf", "error": None,
              "invoices": [{**hotel_json(), "category": None,
                            "fields": {**hotel_json()["fields"], "category": "travel.lodging",
                                       "category_confidence": 0.31}}]}
    record["invoices"][0].pop("category")
    code, result, _ = run(tmp_path, capsys, claim(invoices=[record]))
    assert code == 0 and result["route"] == "finance_review"
    assert "abstained:26112000000000000101:travel.lodging" in result["route_reasons"]


def test_history_in_the_claim_feeds_the_duplicate_check(tmp_path, capsys):
    data = claim(history=[{"claim_no": "BX20260305000001", "employee": "E002", "invoices": [hotel_json()]}])
    _, result, _ = run(tmp_path, capsys, data)
    [r3] = [f for f in result["findings"] if f["rule_id"] == "R3"]
    assert r3["severity"] == "block" and r3["evidence"]["other_claim"] == "BX20260305000001"
    assert result["route"] == "finance_review" and "block:R3" in result["route_reasons"]


def test_budget_usage_is_checked(tmp_path, capsys):
    data = claim(budget_usage={"cost_center:CC1001": {"consumed": "149500.00"}})
    _, result, _ = run(tmp_path, capsys, data)
    [b] = [f for f in result["findings"] if f["rule_id"] == "BUDGET"]
    assert b["severity"] == "block" and b["evidence"]["code"] == "CC1001"


@pytest.mark.parametrize(("data", "message"), [
    ("{not json", "not valid JSON"),
    ([1, 2], "must be a JSON object"),
    (claim(employee={"emp_no": "E999"}), "E999"),
    (claim(employee={"grade": "G9_ghost"}), "G9_ghost"),
    (claim(employee={}), "emp_no"),
    (claim(invoices=[]), "invoices"),
    (claim(invoices=[{"kind": "napkin", "fields": {}}]), "invoices[0]"),
    (claim(invoices=[{"kind": "digital_normal", "fields": {"total_incl_tax": "12,00"}}]), "invoices[0]"),
    (claim(trip={"start": "2026-03-04", "end": "2026-03-02", "cities": ["北京"]}), "trip"),
    (claim(surprise=1), "surprise"),
])
def test_bad_input_is_a_clear_error_with_exit_code_2(tmp_path, capsys, data, message):
    code, _, err = run(tmp_path, capsys, data if isinstance(data, str) else json.dumps(data))
    assert code == 2 and err.startswith("error: ") and message in err


def test_missing_claim_file_and_bad_policy_exit_2(tmp_path, capsys):
    assert main(["check", "--json", str(tmp_path / "missing.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    bad_policy = tmp_path / "policy.yaml"
    bad_policy.write_text(POLICY_PATH.read_text(encoding="utf-8").replace("  R15: {when:", "  R15: {wen:"),
                          encoding="utf-8")
    code, _, err = run(tmp_path, capsys, claim(), "--policy", str(bad_policy))
    assert code == 2 and "rules.R15.wen" in err and "(rule R15)" in err


def test_the_shipped_demo_claim_checks(capsys):
    assert main(["check", "--json", str(REPO / "samples" / "policy" / "claim_beijing.json")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {f["rule_id"] for f in result["findings"]} >= {"R9", "R10", "R20"}
    assert date.fromisoformat(result["allowances"][0]["start"]) == date(2026, 3, 2)
