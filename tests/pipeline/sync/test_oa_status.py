"""Status normalisation across OAs, WeCom's inverted approver codes, and the protocol's optional members."""

from __future__ import annotations

import pytest

from pipeline.sync import (
    OA_STATUSES, BaseOaAdapter, CallbackRejected, CallbackRequest, OaDecision, handle_callback, lookup, poll_status,
)
from pipeline.sync.status import (
    TABLES, UnknownStatus, check_overrides, dingtalk_key, normalise, wecom_apv_rel, wecom_mode_from_approver_attr,
    wecom_mode_from_apv_rel,
)


@pytest.mark.parametrize("oa,raw,expected", [
    ("weaver", "3", "approved"), ("weaver", 0, "rejected"), ("weaver", "1", "pending"),
    ("seeyon", "0", "approved"), ("seeyon", "15", "rejected"), ("seeyon", "7", "withdrawn"),
    ("landray", "30", "approved"), ("landray", "11", "rejected"), ("landray", "40", "withdrawn"),
    ("wecom", "6", "reverted"), ("wecom", 7, "deleted"), ("wecom", "10", "paid"),
    ("feishu", "CANCELED", "withdrawn"), ("feishu", "OVERTIME_CLOSE", "withdrawn"),
    ("feishu", "OVERTIME_RECOVER", "pending"), ("feishu", "REVERTED", "reverted"),
])
def test_oa_codes_map_to_the_internal_set(oa, raw, expected):
    assert normalise(oa, raw) == expected


@pytest.mark.parametrize("status,result,expected", [
    ("COMPLETED", "agree", "approved"), ("COMPLETED", "refuse", "rejected"), ("RUNNING", "", "pending"),
    ("TERMINATED", None, "withdrawn"), ("finish", "AGREE", "approved"), ("finish", "refuse", "rejected"),
    ("start", None, "pending"), ("terminate", "refuse", "withdrawn"), ("delete", None, "deleted"),
])
def test_dingtalk_needs_status_and_result_together(status, result, expected):
    assert normalise("dingtalk", dingtalk_key(status, result)) == expected


def test_every_table_maps_into_the_internal_set_only():
    assert all(set(table.values()) <= OA_STATUSES for table in TABLES.values())


def test_an_unknown_code_is_an_error_not_pending():
    with pytest.raises(UnknownStatus, match="wecom reported status '5'"):
        normalise("wecom", "5")
    with pytest.raises(UnknownStatus):
        normalise("dingtalk", dingtalk_key("COMPLETED", None))


def test_per_form_overrides_win():
    assert normalise("weaver", "0", {"0": "withdrawn"}) == "withdrawn"
    with pytest.raises(ValueError, match="status_map values"):
        check_overrides({"0": "maybe"})


def test_wecom_approver_codes_are_inverted_between_submit_and_callback():
    assert wecom_apv_rel("all") == 1 and wecom_apv_rel("any") == 2 and wecom_apv_rel("sequential") == 3
    assert wecom_mode_from_apv_rel(1) == "all" and wecom_mode_from_apv_rel("2") == "any"
    assert wecom_mode_from_approver_attr(1) == "any" and wecom_mode_from_approver_attr("2") == "all"
    for mode in ("all", "any"):  # what we send as apv_rel comes back as the other code, meaning the same mode
        sent = wecom_apv_rel(mode)
        assert wecom_mode_from_approver_attr(3 - sent) == mode


@pytest.mark.parametrize("status,decision", [
    ("pending", None), ("approved", "approved"), ("paid", "approved"), ("rejected", "rejected"),
    ("withdrawn", "withdrawn"), ("deleted", "withdrawn"), ("reverted", "withdrawn"),
])
def test_statuses_turn_into_claim_decisions(status, decision):
    d = OaDecision(decision=status)
    assert d.claim_decision == decision and d.is_final is (decision is not None)


class _Plain:
    """An adapter written against the original protocol: submit and parse_callback only."""

    name = "plain"

    def submit(self, message):
        raise NotImplementedError

    def parse_callback(self, headers, body):
        return OaDecision(decision="approved", doc_no=body.decode())


def test_the_optional_members_fall_back_for_adapters_that_lack_them():
    plain = _Plain()
    assert lookup(plain, "BX1") is None and poll_status(plain, "R1") is None
    outcome = handle_callback(plain, CallbackRequest("POST", {}, {}, b"BX1"))
    assert outcome.decision.doc_no == "BX1" and outcome.reply.status_code == 200


def test_the_base_adapter_defaults():
    base = BaseOaAdapter()
    assert base.lookup("BX1") is None and base.status("R1") is None
    with pytest.raises(CallbackRejected):
        base.handle_callback(CallbackRequest("POST", {}, {}, b"{}"))
