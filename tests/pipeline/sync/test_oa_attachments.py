"""Attachments of the DingTalk and Feishu adapters and the Landray SOAP transport, against their emulators on
loopback: what the emulators refuse, that retries do not upload twice, and the SOAP envelope's safety."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import httpx
import pytest

from oa_emulators.core import Fault
from oa_emulators.harness import SAMPLES, build_harness, sample_document
from pipeline.sync import DeliveryError, OutboundMessage, ekp_soap
from pipeline.sync.dingtalk import DingTalkAdapter
from pipeline.sync.http import BusinessError
from pipeline.sync.landray import LandrayAdapter
from pipeline.sync.mapping import load_mapping

DOC_NO = "BX202603050000042"


def message(document: dict, attempt: int = 1) -> OutboundMessage:
    return OutboundMessage(f"msg_{document['doc_no']}", str(document["doc_no"]), "claim.submitted", document,
                           datetime.now(UTC), attempt)


@pytest.mark.parametrize("name", ["dingtalk", "feishu", "landray_soap"])
def test_changed_evidence_is_a_permanent_error(serve, name):
    document, files = sample_document(DOC_NO)
    harness = build_harness(name, {sha: data + b"changed" for sha, data in files.items()})
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        with pytest.raises(DeliveryError, match="no longer matches its sha256") as info:
            adapter.submit(message(document))
        assert not info.value.retryable and harness.emulator.store.count(DOC_NO) == 0
        assert harness.emulator.calls["upload"] == 0


@pytest.mark.parametrize("name", ["dingtalk", "feishu"])
def test_a_retry_that_finds_the_instance_uploads_nothing_again(serve, name):
    document, files = sample_document(DOC_NO)
    harness = build_harness(name, files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url, timeout=2.0)
        harness.emulator.faults.push("create", Fault("timeout", after_commit=True, delay=3.0))
        with pytest.raises(DeliveryError):
            adapter.submit(message(document))
        uploads = harness.emulator.calls["upload"]
        assert uploads > 0
        retry = adapter.submit(message(document, attempt=2))
        assert retry.deduplicated and harness.emulator.calls["upload"] == uploads
        adapter.close()


def test_feishu_emulator_refuses_a_form_naming_a_file_that_was_never_uploaded(serve):
    document, files = sample_document(DOC_NO)
    harness = build_harness("feishu", files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        real_upload = adapter._upload
        adapter._upload = lambda ref, data: real_upload(ref, data) + "-forged"
        with pytest.raises(BusinessError, match="unknown attachment code"):
            adapter.submit(message(document))
        assert harness.emulator.store.count(DOC_NO) == 0
        adapter.close()


def test_feishu_upload_sends_name_type_and_content(serve):
    document, files = sample_document(DOC_NO)
    harness = build_harness("feishu", files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        adapter.submit(message(document))
        [record] = harness.emulator.store.all()
        widgets = {w["id"]: w for w in json.loads(record.payload["form"])}
        codes = widgets["widget_attachments"]["value"]
        assert widgets["widget_attachments"]["type"] == "attachmentV2" and len(codes) == 2
        assert sorted(harness.emulator.files[c][0] for c in codes) == ["hotel.pdf", "rail.pdf"]
        adapter.close()


@pytest.mark.parametrize("tamper", ["fileSize", "fileId", "spaceId"])
def test_dingtalk_emulator_refuses_an_attachment_that_does_not_match_an_uploaded_file(serve, tamper):
    document, files = sample_document(DOC_NO)
    harness = build_harness("dingtalk", files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        real_upload = adapter._upload

        def tampered(*args):
            item = real_upload(*args)
            return {**item, tamper: item[tamper] + "1"}
        adapter._upload = tampered
        with pytest.raises(BusinessError, match="附件"):
            adapter.submit(message(document))
        assert harness.emulator.store.count(DOC_NO) == 0
        adapter.close()


def test_dingtalk_attachment_control_lists_committed_dingpan_files(serve):
    document, files = sample_document(DOC_NO)
    harness = build_harness("dingtalk", files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        adapter.submit(message(document))
        [record] = harness.emulator.store.all()
        values = {c["name"]: c["value"] for c in record.payload["formComponentValues"]}
        items = json.loads(values["附件"])
        assert [set(i) for i in items] == [{"spaceId", "fileName", "fileSize", "fileType", "fileId"}] * 2
        assert {(i["fileName"], i["fileType"], i["spaceId"]) for i in items} == {
            ("rail.pdf", "pdf", harness.emulator.space_id), ("hotel.pdf", "pdf", harness.emulator.space_id)}
        assert harness.emulator.uploads == {}  # every upload key was committed
        adapter.close()


def test_dingtalk_object_storage_checks_the_signed_headers(serve):
    harness = build_harness("dingtalk")
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        info = adapter._call("POST", f"/v1.0/storage/spaces/{harness.emulator.space_id}/files/uploadInfos/query",
                             params={"unionId": "u"}, json={"protocol": "HEADER_SIGNATURE", "multipart": False})
        resource = info["headerSignatureInfo"]["resourceUrls"][0]
        assert httpx.put(resource, content=b"x", headers={"Authorization": "forged"}).status_code == 403
        good = httpx.put(resource, content=b"x", headers=info["headerSignatureInfo"]["headers"])
        assert good.status_code == 200
        adapter.close()


def test_dingtalk_attachments_need_a_union_id():
    mapping = load_mapping(SAMPLES / "dingtalk.yaml")
    mapping.form = {k: v for k, v in mapping.form.items() if k != "union_id_list"}
    with pytest.raises(ValueError, match="unionId"):
        DingTalkAdapter("k", "s", mapping)
    assert DingTalkAdapter("k", "s", mapping, union_id="u").union_id == "u"


# ---------------------------------------------------------------- Landray SOAP

def test_soap_envelope_round_trips_fields_and_files():
    fields = {"docSubject": "费用报销-张三-BX1 <&>", "fdTemplateId": "t1", "formValues": '{"fd_x":"1"}'}
    envelope = ekp_soap.add_review_envelope(fields, [("fd_att", "a.pdf", b"%PDF\x00\xff")])
    assert b"<arg0>" in envelope and b"addReview" in envelope
    parsed, attached = ekp_soap.parse_add_review_request(envelope)
    assert parsed == fields and attached == [("fd_att", "a.pdf", b"%PDF\x00\xff")]


def test_soap_answers_are_parsed_safely():
    env = ekp_soap.SOAP_ENV
    ok = (f'<s:Envelope xmlns:s="{env}"><s:Body><n:addReviewResponse xmlns:n="{ekp_soap.NAMESPACE}">'
          '<return>17433b9ebc7c1a30e2c49764fc380fec</return></n:addReviewResponse></s:Body></s:Envelope>').encode()
    assert ekp_soap.parse_add_review_response(ok) == "17433b9ebc7c1a30e2c49764fc380fec"
    fault = (f'<s:Envelope xmlns:s="{env}"><s:Body><s:Fault><faultcode>s:Server</faultcode>'
             '<faultstring>流程模板不存在</faultstring></s:Fault></s:Body></s:Envelope>').encode()
    with pytest.raises(ekp_soap.SoapFault, match="流程模板不存在"):
        ekp_soap.parse_add_review_response(fault)
    laughs = (b'<?xml version="1.0"?><!DOCTYPE s [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
              + ok.replace(b"17433b9ebc7c1a30e2c49764fc380fec", b"&b;"))
    for hostile in (laughs, b'<!DOCTYPE x SYSTEM "file:///etc/passwd"><x/>', b"<html>502</html>", b"not xml",
                    b'<Envelope xmlns="urn:other"><Body/></Envelope>'):
        with pytest.raises(ekp_soap.SoapMalformed):
            ekp_soap.parse_add_review_response(hostile)


def test_landray_soap_transport_sends_the_files_base64_and_returns_the_fd_id(serve):
    document, files = sample_document(DOC_NO)
    harness = build_harness("landray_soap", files)
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        result = adapter.submit(message(document))
        record = harness.emulator.store.get(result.oa_request_id)
        assert record.payload["fdTemplateId"] == "17433b9ebc7c1a30e2c49764fc380fec"
        assert json.loads(record.payload["docCreator"]) == {"PersonNo": "E001"}
        assert sorted(d for _, d in record.attachments) == sorted(files.values())
        assert harness.emulator.calls["create"] == 1
        assert adapter.status(result.oa_request_id).decision == "pending"  # status over REST
        adapter.close()


def test_landray_soap_needs_credentials_too(serve):
    harness = build_harness("landray_soap")
    with serve(harness.emulator.app) as url:
        adapter = LandrayAdapter(url, SAMPLES / "landray.yaml", username="ekp-rest", password="wrong",
                                 transport="soap", timeout=5)
        document, _ = sample_document(DOC_NO, {})
        with pytest.raises(DeliveryError) as info:
            adapter.submit(message(document))
        assert info.value.retryable and "credentials" in str(info.value)


def test_landray_soap_gateway_errors_stay_retryable_and_an_unknown_transport_is_refused(serve):
    harness = build_harness("landray_soap")
    with serve(harness.emulator.app) as url:
        adapter = harness.adapter(url)
        document, _ = sample_document(DOC_NO, {})
        harness.emulator.faults.push("create", Fault("error", status=500))
        with pytest.raises(DeliveryError) as info:
            adapter.submit(message(document))
        assert info.value.retryable and harness.emulator.store.count(DOC_NO) == 0
    with pytest.raises(ValueError, match="transport"):
        LandrayAdapter("http://ekp", SAMPLES / "landray.yaml", transport="grpc")


def test_soap_attachment_must_be_base64():
    bad = ekp_soap.add_review_envelope({"docSubject": "x"}, [("k", "a.pdf", b"data")])
    bad = bad.replace(base64.b64encode(b"data"), b"not*base64")
    with pytest.raises(ekp_soap.SoapMalformed, match="base64"):
        ekp_soap.parse_add_review_request(bad)
