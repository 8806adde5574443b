"""What is particular to one OA adapter, against its emulator on loopback: handshakes, URL checks, approver modes,
credentials, attachments and mapping errors at submit time."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import yaml

from oa_emulators.harness import SAMPLES, build_harness, callback_app, sample_document
from pipeline.sync import DeliveryError, OutboundMessage
from pipeline.sync.attachments import MemorySource
from pipeline.sync.http import AuthError, BusinessError
from pipeline.sync.landray import LandrayAdapter
from pipeline.sync.mapping import parse_mapping
from pipeline.sync.weaver import WeaverAdapter
from pipeline.sync.wecom import WeComAdapter

DOC_NO = "BX202603050000042"


def message(document: dict, attempt: int = 1) -> OutboundMessage:
    return OutboundMessage(f"msg_{document['doc_no']}", str(document["doc_no"]), "claim.submitted", document,
                           datetime.now(UTC), attempt)


@contextmanager
def served(serve, name: str, adapter_factory=None):
    document, files = sample_document(DOC_NO)
    harness = build_harness(name, files)
    decisions: list = []
    with serve(harness.emulator.app) as url:
        adapter = (adapter_factory or harness.adapter)(url)
        with serve(callback_app(adapter, decisions)) as receiver:
            harness.emulator.callback_url = receiver + "/callback"
            yield harness, adapter, document, decisions, url
        adapter.close()


# ---------------------------------------------------------------- Weaver

def test_weaver_handshake_registers_once_and_re_registers_when_the_server_forgot(serve):
    with served(serve, "weaver") as (harness, adapter, document, _, _):
        adapter.submit(message(document))
        assert harness.emulator.calls["token"] == 2  # regist + applytoken
        harness.emulator.expire_tokens()
        harness.emulator.secrits.clear()  # e.g. the OA restarted: our registration is gone
        second, _ = sample_document("BX202603050000043", {})
        assert adapter.submit(message(second)).oa_request_id
        assert harness.emulator.calls["token"] == 5  # applytoken refused, regist, applytoken


def test_weaver_json_bodies_work_too(serve):
    harness = build_harness("weaver")
    mapping = parse_mapping(yaml.safe_load((SAMPLES / "weaver.yaml").read_text(encoding="utf-8")))
    mapping.attachments = None
    with serve(harness.emulator.app) as url:
        adapter = WeaverAdapter(url, harness.emulator.app_id, "1", mapping, body_format="json", timeout=5)
        document, _ = sample_document(DOC_NO)
        assert adapter.submit(message(document)).oa_request_id
        [record] = harness.emulator.store.all()
        assert {f["fieldName"]: f["fieldValue"] for f in record.payload["mainData"]}["bxje"] == "700.00"


def test_weaver_with_an_unregistered_app_is_an_auth_error(serve):
    harness = build_harness("weaver")
    with serve(harness.emulator.app) as url:
        adapter = WeaverAdapter(url, "NOT-REGISTERED", "1", SAMPLES / "weaver.yaml", timeout=5)
        document, _ = sample_document(DOC_NO)
        with pytest.raises(AuthError) as info:
            adapter.submit(message(document))
        assert info.value.retryable and "regist" in str(info.value)
        assert harness.emulator.store.count(DOC_NO) == 0


def test_weaver_search_matches_only_our_document_number(serve):
    with served(serve, "weaver") as (harness, adapter, document, _, _):
        first = adapter.submit(message(document))
        assert adapter.lookup(DOC_NO).oa_request_id == first.oa_request_id
        assert adapter.lookup("BX202603059999999") is None


# ---------------------------------------------------------------- WeCom

def test_wecom_approver_modes_survive_the_inverted_codes(serve):
    data = yaml.safe_load((SAMPLES / "wecom.yaml").read_text(encoding="utf-8"))
    data["form"]["process"] = [{"type": 1, "mode": "all", "userids": ["lisi", "wangwu"]},
                               {"type": 1, "mode": "any", "userids": ["zhaoliu", "sunqi"]}]
    document, files = sample_document(DOC_NO)
    harness = build_harness("wecom", files)
    decisions: list = []
    with serve(harness.emulator.app) as url:
        adapter = WeComAdapter(harness.emulator.corp_id, harness.emulator.corp_secret, parse_mapping(data),
                               base_url=url, callback_token=harness.emulator.callback_token,
                               callback_aes_key=harness.emulator.callback_aes_key, timeout=5,
                               attachment_source=MemorySource(files))
        with serve(callback_app(adapter, decisions)) as receiver:
            harness.emulator.callback_url = receiver + "/callback"
            sp_no = adapter.submit(message(document)).oa_request_id
            record = harness.emulator.store.get(sp_no)
            assert [n["apv_rel"] for n in record.extra["nodes"]] == [1, 2]  # sent: 1 会签, 2 或签
            assert [r["approverattr"] for r in harness.emulator._records(record)] == [2, 1]  # echoed: 2 会签, 1 或签
            assert [r["mode"] for r in adapter.status(sp_no).extra["records"]] == ["all", "any"]
            assert harness.emulator.decide(sp_no, "2")
            assert [r["mode"] for r in decisions[-1].extra["records"]] == ["all", "any"]
            assert decisions[-1].extra["change_event"] == "2"


def test_wecom_url_check_echoes_the_decrypted_echostr(serve):
    with served(serve, "wecom") as (harness, _, _, decisions, _):
        assert harness.emulator.send(harness.emulator.url_check(b"5927782489442352469"))
        assert harness.emulator.callbacks[-1] == (200, b"5927782489442352469") and decisions == []


def test_wecom_ignores_other_events_but_acknowledges_them(serve):
    with served(serve, "wecom") as (harness, _, _, decisions, _):
        other = b"<xml><ToUserName>x</ToUserName><MsgType>event</MsgType><Event>change_contact</Event></xml>"
        assert harness.emulator.send(harness.emulator.sealed(other))
        assert harness.emulator.callbacks[-1] == (200, b"success") and decisions == []


# ---------------------------------------------------------------- Feishu

def test_feishu_url_verification_is_answered_with_the_challenge(serve):
    with served(serve, "feishu") as (harness, _, _, decisions, _):
        assert harness.emulator.send(harness.emulator.url_check())
        status, body = harness.emulator.callbacks[-1]
        assert status == 200 and body == b'{"challenge": "ajls384kdjx98XX"}' and decisions == []


def test_feishu_events_need_the_verification_token_and_encryption(serve):
    with served(serve, "feishu") as (harness, adapter, document, decisions, _):
        record = harness.emulator.store.get(adapter.submit(message(document)).oa_request_id)
        harness.emulator.set_status(record.oa_id, "APPROVED")
        assert not harness.emulator.send(harness.emulator.sealed(harness.emulator.event(record, token="wrong")))
        harness.emulator.encrypt_key, key = None, harness.emulator.encrypt_key
        assert not harness.emulator.send(harness.emulator.build_callback(record))  # plain JSON, adapter wants AES
        harness.emulator.encrypt_key = key
        assert [s for s, _ in harness.emulator.callbacks] == [401, 401] and decisions == []
        assert harness.emulator.send(harness.emulator.build_callback(record))
        assert (decisions[-1].decision, decisions[-1].doc_no) == ("approved", DOC_NO)


def test_feishu_resubmitting_the_same_claim_returns_the_first_instance(serve):
    with served(serve, "feishu") as (harness, adapter, document, _, _):
        first = adapter.submit(message(document))
        again = adapter.submit(message(document, attempt=1))  # even without the retry flag: uuid protects
        assert again.oa_request_id == first.oa_request_id and again.deduplicated
        assert harness.emulator.store.count(DOC_NO) == 1


# ---------------------------------------------------------------- DingTalk

def test_dingtalk_check_url_and_delete_events(serve):
    with served(serve, "dingtalk") as (harness, adapter, document, decisions, _):
        assert harness.emulator.send(harness.emulator.sealed_event({"EventType": "check_url"}))
        assert decisions == []
        instance = adapter.submit(message(document)).oa_request_id
        assert harness.emulator.decide(instance, "deleted")
        assert (decisions[-1].decision, decisions[-1].oa_request_id) == ("deleted", instance)
        assert adapter.status(instance) is None  # DingTalk no longer knows it


# ---------------------------------------------------------------- credentials, attachments, mapping at submit

def test_landray_wrong_basic_auth_is_an_auth_error(serve):
    harness = build_harness("landray")
    with serve(harness.emulator.app) as url:
        adapter = LandrayAdapter(url, SAMPLES / "landray.yaml", username="ekp-rest", password="wrong", timeout=5)
        document, _ = sample_document(DOC_NO, {})
        with pytest.raises(AuthError):
            adapter.submit(message(document))


@pytest.mark.parametrize("name", ["weaver", "seeyon", "landray", "wecom"])
def test_changed_evidence_is_a_permanent_error(serve, name):
    document, files = sample_document(DOC_NO)
    harness = build_harness(name, {sha: data + b"changed" for sha, data in files.items()})
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        with pytest.raises(DeliveryError, match="no longer matches its sha256") as info:
            adapter.submit(message(document))
        assert not info.value.retryable and harness.emulator.store.count(DOC_NO) == 0


@pytest.mark.parametrize("name", ["weaver", "dingtalk", "wecom", "feishu"])
def test_an_unmapped_code_is_a_permanent_error_before_anything_is_sent(serve, name):
    document, files = sample_document(DOC_NO)
    document["applicant"]["emp_no"] = "E999"  # not in the OA user code list
    harness = build_harness(name, files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        with pytest.raises(BusinessError, match="E999"):
            adapter.submit(message(document))
        assert harness.emulator.calls["create"] == 0


def test_a_document_without_doc_no_is_refused(serve):
    with served(serve, "landray") as (harness, adapter, document, _, _):
        with pytest.raises(BusinessError, match="no doc_no"):
            adapter.submit(message({**document, "doc_no": None}))
        assert harness.emulator.calls["create"] == 0
