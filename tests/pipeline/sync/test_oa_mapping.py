"""Declarative OA field mappings: validation at load time, rendering, per-OA payload shapes and the dry run."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from api.cli import main as cli_main
from pipeline.money import from_upper
from pipeline.sync.mapping import MappingError, load_mapping, parse_mapping, render_form, render_payload

SAMPLES = Path(__file__).resolve().parents[3] / "samples" / "oa"
ADAPTERS = ["weaver", "seeyon", "landray", "dingtalk", "wecom", "feishu"]


def document() -> dict:
    return json.loads((SAMPLES / "claim.example.json").read_text(encoding="utf-8"))


def sample(adapter: str) -> dict:
    return yaml.safe_load((SAMPLES / f"{adapter}.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_every_sample_mapping_loads_and_renders(adapter):
    mapping = load_mapping(SAMPLES / f"{adapter}.yaml")
    payload = render_payload(adapter, document(), mapping)
    text = json.dumps(payload, ensure_ascii=False)
    assert "BX202603050000042" in text and "700.00" in text


@pytest.mark.parametrize("adapter,change,message", [
    ("weaver", lambda m: m["form"].pop("workflow_id"), "form.workflow_id is required"),
    ("weaver", lambda m: m["main"].append({"field": "requestname", "value": "x"}), "reserved in E9"),
    ("weaver", lambda m: m.update(title="报销-{applicant.name}"), "title must contain {doc_no}"),
    ("weaver", lambda m: m["details"][0].update(table="dt1"), "formtable_main_88_dt1"),
    ("seeyon", lambda m: m["form"].update(main_table="main"), "formmain_0018"),
    ("seeyon", lambda m: m["details"][0].update(table="明细"), "formson_0019"),
    ("landray", lambda m: m["form"].pop("template_id"), "form.template_id is required"),
    ("dingtalk", lambda m: m.pop("doc_no_field"), "doc_no_field is required for dingtalk"),
    ("wecom", lambda m: m["main"][0].pop("type"), "needs a type"),
    ("wecom", lambda m: m["main"][0].update(type="Txt"), "type 'Txt' is not one of"),
    ("feishu", lambda m: m["details"][0]["fields"][0].pop("type"), "needs a type"),
    ("feishu", lambda m: m["main"][2].update(code_list="nope"), "code_list 'nope' is not defined"),
    ("feishu", lambda m: m["main"][1].update(value="x"), "exactly one of source, value or template"),
    ("feishu", lambda m: m["main"][1].update(transform="uppercase"), "main[1].transform"),
    ("feishu", lambda m: m["main"][1].update(format="%Y"), "format only applies to transform: date"),
    ("feishu", lambda m: m["main"].append(dict(m["main"][0])), "mapped twice"),
    ("feishu", lambda m: m.update(doc_no_field="widget_reason"), "must be a main field with source: doc_no"),
    ("feishu", lambda m: m.update(status_map={"PENDING": "waiting"}), "status_map.PENDING"),
    ("feishu", lambda m: m.update(colour="blue"), "colour: Extra inputs are not permitted"),
    ("feishu", lambda m: m.update(adapter="kingdee"), "adapter 'kingdee' has no field mapping"),
])
def test_invalid_mappings_fail_at_start_up_with_a_clear_message(adapter, change, message):
    data = sample(adapter)
    change(data)
    with pytest.raises(MappingError) as info:
        parse_mapping(data, f"{adapter}.yaml")
    assert message in str(info.value) and f"{adapter}.yaml" in str(info.value)


def test_unreadable_or_non_yaml_files_are_mapping_errors(tmp_path):
    with pytest.raises(MappingError, match="cannot read"):
        load_mapping(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("main: [ {field: a, source: lines[0]} ]\n", encoding="utf-8")
    with pytest.raises(MappingError, match="not valid YAML"):
        load_mapping(bad)
    bad.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(MappingError, match="must be a YAML mapping"):
        load_mapping(bad)


def mini(**rule) -> dict:
    return {"adapter": "landray", "form": {"template_id": "t"}, "title": "{doc_no}", "main": [{"field": "f", **rule}]}


@pytest.mark.parametrize("rule,value", [
    ({"source": "amount_approved", "transform": "upper"}, "柒佰圆整"),
    ({"source": "amount_claimed", "transform": "upper", "upper_style": "legacy"}, "柒佰叁拾陆圆整"),
    ({"source": "lines[1].amount", "transform": "upper"}, "陆佰零陆圆整"),
    ({"source": "lines[0].invoice.date", "transform": "date", "format": "%Y年%m月%d日"}, "2026年03月13日"),
    ({"source": "lines[0].invoice.date", "transform": "timestamp"}, "1773331200"),
    ({"source": "lines[0].invoice.date", "transform": "rfc3339"}, "2026-03-13T00:00:00+08:00"),
    ({"source": "attachment_count", "transform": "text"}, "2"),
    ({"source": "amount_claimed", "transform": "amount"}, "736.00"),
    ({"source": "lines[0].tax_rate", "transform": "json"}, '"0.09"'),
    ({"template": "{applicant.name}（{dept.name}）"}, "张三（运输部）"),
    ({"value": 7}, 7),
    ({"source": "project.code", "default": "P-NONE"}, "P-NONE"),
])
def test_field_rules_resolve_and_transform(rule, value):
    form = render_form(document(), parse_mapping(mini(**rule)))
    assert form.main_value("f") == value


def test_upper_amounts_read_back_to_the_number():
    form = render_form(document(), parse_mapping(mini(source="amount_approved", transform="upper")))
    assert str(from_upper(form.main_value("f"))) == document()["amount_approved"]


def test_missing_values_are_left_out_unless_required():
    assert render_form(document(), parse_mapping(mini(source="project.code"))).main == []
    with pytest.raises(MappingError, match="field 'f': project.code has no value in BX202603050000042"):
        render_form(document(), parse_mapping(mini(source="project.code", required=True)))


def test_codes_must_be_in_their_list():
    data = mini(source="dept.code", code_list="depts")
    data["code_lists"] = {"depts": {"D01": "835"}}
    assert render_form(document(), parse_mapping(data)).main_value("f") == "835"
    other = document()
    other["dept"]["code"] = "D99"
    with pytest.raises(MappingError, match="'D99' is not in code list 'depts'"):
        render_form(other, parse_mapping(data))


def test_amounts_refuse_floats():
    other = document()
    other["amount_approved"] = 700.0
    with pytest.raises(MappingError, match="floats"):
        render_form(other, parse_mapping(mini(source="amount_approved", transform="amount")))


def test_detail_rows_can_reach_the_document_root():
    data = mini(source="doc_no")
    data["details"] = [{"table": "t", "fields": [{"field": "no", "source": "$.doc_no"},
                                                 {"field": "amount", "source": "amount"}]}]
    [table] = render_form(document(), parse_mapping(data)).details
    assert [[f.value for f in row] for row in table.rows] == [["BX202603050000042", "130.00"],
                                                             ["BX202603050000042", "606.00"]]


# ---------------------------------------------------------------- payload shapes

def test_weaver_payload_has_main_and_detail_data_and_inline_files():
    payload = render_payload("weaver", document(), load_mapping(SAMPLES / "weaver.yaml"))
    assert payload["workflowId"] == 123 and payload["requestName"] == "差旅报销-张三-BX202603050000042"
    main = {f["fieldName"]: f["fieldValue"] for f in payload["mainData"]}
    assert main["bxje"] == "700.00" and main["dxje"] == "柒佰圆整" and main["bxr"] == "2978"
    assert [f["fileName"] for f in main["fj"]] == ["rail-26329116804002389322.pdf", "hotel-26422000000123456789.pdf"]
    [table] = payload["detailData"]
    assert table["tableDBName"] == "formtable_main_88_dt1"
    rows = [{f["fieldName"]: f["fieldValue"] for f in r["workflowRequestTableFields"]}
            for r in table["workflowRequestTableRecords"]]
    assert [(r["fylx"], r["je"]) for r in rows] == [("0", "130.00"), ("1", "570.00")]
    assert "bz" not in rows[1]  # no remark on that line: left out, not sent empty


def test_seeyon_payload_keys_fields_by_display_name_under_formmain_and_formson():
    payload = render_payload("seeyon", document(), load_mapping(SAMPLES / "seeyon.yaml"))
    data = payload["data"]
    assert payload["appName"] == "collaboration" and data["templateCode"] == "BX_001" and data["draft"] == "0"
    assert data["data"]["formmain_0018"]["报销金额"] == "700.00"
    assert [row["金额"] for row in data["data"]["formson_0019"]] == ["130.00", "570.00"]


def test_landray_payload_sends_detail_tables_column_wise():
    payload = render_payload("landray", document(), load_mapping(SAMPLES / "landray.yaml"))
    values = json.loads(payload["formValues"])
    assert values["fd_38e05de223c508.fd_3927c70a50237e"] == ["130.00", "570.00"]
    assert json.loads(payload["docCreator"]) == {"PersonNo": "E001"} and payload["docStatus"] == "20"
    assert payload["attachmentForms[1].fdKey"] == "fd_3731bf4852e8fe"


def test_dingtalk_payload_puts_detail_rows_in_a_two_dimensional_json_array():
    payload = render_payload("dingtalk", document(), load_mapping(SAMPLES / "dingtalk.yaml"))
    components = {c["name"]: c["value"] for c in payload["formComponentValues"]}
    assert all(isinstance(v, str) for v in components.values())
    rows = json.loads(components["费用明细"])
    assert [[c["name"] for c in row] for row in rows][0] == ["费用类型", "发票号码", "发生日期", "金额"]
    assert payload["originatorUserId"] == "manager4220" and payload["deptId"] == 1


def test_feishu_payload_serialises_the_form_to_a_string_and_uses_doc_no_as_uuid():
    payload = render_payload("feishu", document(), load_mapping(SAMPLES / "feishu.yaml"))
    widgets = json.loads(payload["form"])
    assert payload["uuid"] == "BX202603050000042" and isinstance(payload["form"], str)
    assert widgets[-1]["type"] == "fieldList" and len(widgets[-1]["value"]) == 2


def test_wecom_payload_encodes_approval_modes_as_apv_rel():
    data = sample("wecom")
    data["form"]["process"] = [{"type": 1, "mode": "all", "userids": ["lisi", "wangwu"]},
                               {"type": 1, "mode": "any", "userids": ["zhaoliu"]}]
    payload = render_payload("wecom", document(), parse_mapping(data))
    assert payload["use_template_approver"] == 0
    assert [n["apv_rel"] for n in payload["process"]["node_list"]] == [1, 2]  # 1 会签, 2 或签
    assert payload["summary_list"][0]["summary_info"][0]["text"] == "报销金额: 700.00"


def test_a_mapping_for_another_adapter_is_refused():
    with pytest.raises(MappingError, match="is for adapter 'weaver', not 'seeyon'"):
        render_payload("seeyon", document(), SAMPLES / "weaver.yaml")


# ---------------------------------------------------------------- the dry-run command

def test_dry_run_prints_the_payload(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(SAMPLES.parents[1])
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(document(), ensure_ascii=False), encoding="utf-8")
    assert cli_main(["oa", "dry-run", "--adapter", "wecom", "--claim-json", str(claim)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["template_id"] == "3Tka1eD6v6JfzhDMqPd3aMkFdxqtJMc2ZRioeFXkaaa"


def test_dry_run_reports_mapping_errors(tmp_path, capsys):
    data = copy.deepcopy(sample("weaver"))
    del data["form"]["workflow_id"]
    mapping = tmp_path / "weaver.yaml"
    mapping.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    claim = tmp_path / "claim.json"
    claim.write_text(json.dumps(document(), ensure_ascii=False), encoding="utf-8")
    assert cli_main(["oa", "dry-run", "--adapter", "weaver", "--claim-json", str(claim),
                     "--mapping", str(mapping)]) == 2
    assert "form.workflow_id is required" in capsys.readouterr().err
