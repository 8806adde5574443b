"""Building the OA adapter from settings: every adapter from JSON options or a YAML file; bad configurations stop
the app at start-up with a message naming the problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from api.app import create_app
from api.oa_config import OaConfigError, build_adapter, describe, resolve
from api.settings import Settings
from oa_emulators.harness import ADAPTERS, SAMPLES, build_harness
from oa_emulators.settings import adapter_name, adapter_options, mapping_file
from pipeline.sync.dingtalk import DingTalkAdapter
from pipeline.sync.weaver import WeaverAdapter
from pipeline.sync.webhook import generate_secret


def settings(**values) -> Settings:
    return Settings(database_url="sqlite://", org_file=None, **values)


@pytest.mark.parametrize("name", ADAPTERS)
def test_every_adapter_builds_from_options(name, tmp_path):
    harness = build_harness(name)
    adapter = build_adapter(settings(oa_adapter=adapter_name(name),
                                     oa_options=adapter_options(name, harness.emulator, "http://oa"),
                                     oa_mapping_file=mapping_file(name), storage_dir=tmp_path,
                                     oa_timeout_seconds=3))
    assert adapter.name == adapter_name(name)
    if name != "generic_webhook":
        assert adapter.mapping.adapter == adapter_name(name) and adapter.attachment_source.storage_dir == tmp_path
    adapter.close()


def test_options_from_the_environment_as_json(monkeypatch, tmp_path):
    monkeypatch.setenv("REIMBURSE_OA_ADAPTER", "dingtalk")
    monkeypatch.setenv("REIMBURSE_OA_OPTIONS", json.dumps({"app_key": "k", "app_secret": "s",
                                                           "base_url": "http://dt"}))
    monkeypatch.setenv("REIMBURSE_OA_MAPPING_FILE", str(SAMPLES / "dingtalk.yaml"))
    adapter = build_adapter(Settings(storage_dir=tmp_path))
    assert isinstance(adapter, DingTalkAdapter) and adapter.app_key == "k" and adapter.http.base_url == "http://dt"


def test_a_yaml_file_with_environment_references(monkeypatch, tmp_path):
    (tmp_path / "forms").mkdir()
    (tmp_path / "forms" / "bx.yaml").write_text((SAMPLES / "weaver.yaml").read_text(encoding="utf-8"),
                                                encoding="utf-8")
    config = tmp_path / "oa.yaml"
    config.write_text(yaml.safe_dump({"adapter": "weaver", "mapping": "forms/bx.yaml", "options": {
        "base_url": "https://oa.example.com", "app_id": "APP", "user_id": 1, "callback_secret": "${E9_HOOK}"}}))
    monkeypatch.setenv("E9_HOOK", "whsec_c2VjcmV0")
    s = settings(oa_config_file=config, oa_options={"app_id": "FROM-ENV"}, oa_timeout_seconds=4)
    adapter = build_adapter(s)
    assert isinstance(adapter, WeaverAdapter)
    assert (adapter.app_id, adapter.callback_secret, adapter.http.base_url) == (
        "FROM-ENV", "whsec_c2VjcmV0", "https://oa.example.com")  # JSON options win over the file's
    shown = describe(resolve(s))
    assert shown["adapter"] == "weaver" and shown["options"]["callback_secret"] == "***"
    assert shown["mapping_file"].endswith("forms/bx.yaml")


def test_the_generic_webhook_keeps_its_old_settings_and_is_optional():
    assert build_adapter(settings()) is None
    secret = generate_secret()
    adapter = build_adapter(settings(oa_webhook_url="http://oa/hook", oa_webhook_secret=secret))
    assert (adapter.url, adapter.secret) == ("http://oa/hook", secret)


WEAVER = {"base_url": "http://oa", "app_id": "A", "user_id": "1"}


@pytest.mark.parametrize("values, message", [
    ({"oa_adapter": "yonyou"}, "unknown OA adapter 'yonyou'"),
    ({"oa_adapter": "weaver", "oa_options": {"base_url": "http://oa"}, "oa_mapping_file": SAMPLES / "weaver.yaml"},
     "needs option(s) ['app_id', 'user_id']"),
    ({"oa_adapter": "weaver", "oa_options": {**WEAVER, "tokn_ttl": 5}, "oa_mapping_file": SAMPLES / "weaver.yaml"},
     "unknown option(s) ['tokn_ttl'] for the weaver adapter"),
    ({"oa_adapter": "weaver", "oa_options": WEAVER}, "needs a field mapping"),
    ({"oa_adapter": "weaver", "oa_options": WEAVER, "oa_mapping_file": SAMPLES / "seeyon.yaml"},
     "is for adapter 'seeyon', not 'weaver'"),
    ({"oa_adapter": "weaver", "oa_options": WEAVER, "oa_mapping_file": Path("/nonexistent/weaver.yaml")},
     "cannot read OA field mapping"),
    ({"oa_adapter": "weaver", "oa_options": {**WEAVER, "body_format": "xml"},
      "oa_mapping_file": SAMPLES / "weaver.yaml"}, "body_format must be 'form' or 'json'"),
    ({"oa_adapter": "wecom", "oa_options": {"corp_id": "c", "corp_secret": "s", "callback_token": "t",
                                            "callback_aes_key": "short"}, "oa_mapping_file": SAMPLES / "wecom.yaml"},
     "EncodingAESKey must be 43 characters"),
    ({"oa_webhook_url": "http://oa/hook"}, "needs option(s) ['secret']"),
])
def test_bad_configurations_stop_the_app_naming_the_problem(values, message):
    with pytest.raises(OaConfigError) as error:
        create_app(settings(**values))
    assert message in str(error.value)


def test_bad_mapping_files_name_the_key(tmp_path):
    broken = yaml.safe_load((SAMPLES / "weaver.yaml").read_text(encoding="utf-8"))
    broken["main"][0]["transform"] = "uppercase"
    path = tmp_path / "weaver.yaml"
    path.write_text(yaml.safe_dump(broken, allow_unicode=True), encoding="utf-8")
    with pytest.raises(OaConfigError) as error:
        build_adapter(settings(oa_adapter="weaver", oa_options=WEAVER, oa_mapping_file=path))
    assert "bad OA field mapping" in str(error.value) and "main[0].transform" in str(error.value)


def test_config_file_problems(monkeypatch, tmp_path):
    config = tmp_path / "oa.yaml"
    config.write_text(yaml.safe_dump({"adapter": "feishu", "options": {"app_secret": "${FEISHU_SECRET}"}}))
    monkeypatch.delenv("FEISHU_SECRET", raising=False)
    with pytest.raises(OaConfigError, match="environment variable FEISHU_SECRET, which is not set"):
        resolve(settings(oa_config_file=config))
    with pytest.raises(OaConfigError, match="REIMBURSE_OA_ADAPTER is 'weaver' but the OA config file"):
        resolve(settings(oa_config_file=config, oa_adapter="weaver"))
    config.write_text(yaml.safe_dump({"adaptor": "feishu"}))
    with pytest.raises(OaConfigError, match=r"unknown keys \['adaptor'\]"):
        resolve(settings(oa_config_file=config))
    with pytest.raises(OaConfigError, match="cannot read the OA config file"):
        resolve(settings(oa_config_file=tmp_path / "missing.yaml"))


def test_the_sample_config_file(monkeypatch, tmp_path):
    monkeypatch.setenv("REIMBURSE_WEAVER_CALLBACK_SECRET", "whsec_c2FtcGxl")
    s = settings(oa_config_file=SAMPLES / "config.example.yaml", storage_dir=tmp_path)
    adapter = build_adapter(s)
    assert isinstance(adapter, WeaverAdapter) and adapter.callback_secret == "whsec_c2FtcGxl"
    assert adapter.mapping.form["workflow_id"] == 123 and resolve(s).mapping_file == SAMPLES / "weaver.yaml"
