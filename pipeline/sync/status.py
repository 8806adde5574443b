"""Every OA's approval status, normalised to one internal set (``base.OA_STATUSES``), per OA_INTEGRATION.md.

Contract: ``normalise(oa, raw, overrides=None) -> OaStatus`` looks ``raw`` (as text) up in the OA's table below,
after the per-form ``overrides`` from the mapping file (``status_map``), and raises ``UnknownStatus`` for a code it
does not know, so a new OA code is never silently taken for "pending". DingTalk needs two values (instance status
or event type, plus result): pass them as ``"TYPE/result"`` (``dingtalk_key``).

Sources and judgement calls:
* weaver: ``getRequestStatus`` → ``currentNodeType`` 0 创建 / 1 批准 / 2 提交 / 3 归档 (E9 paService docs). A request
  back at its creation node has been sent back (退回) or withdrawn (撤回) to the creator; E9 does not say which, and
  both release the claim, so 0 counts as rejected.
* seeyon: ``flow/state/{flowId}`` answers a bare integer; 0 审批通过 / 1 未发出 / 2 未知 / 3 待处理 / 4 处理中 /
  5 撤销 / 6 回退 / 7 取回 / 15 被终止 (◐ code-search hit of an Odoo integration, not an official page).
* landray: ``docStatus`` 00 废弃 / 10 草稿 / 11 驳回 / 20 待审 / 30 发布 / 40 取消 (EKP ``kmReviewInstanceRestHelp``).
  废弃 (abandoned by a handler) is a final no, so rejected.
* dingtalk: instance ``status`` NEW / RUNNING / COMPLETED / TERMINATED / CANCELED with ``result`` agree / refuse;
  event ``type`` start / finish / terminate / delete with ``result`` on finish.
* wecom: ``SpStatus`` 1 审批中 / 2 已通过 / 3 已驳回 / 4 已撤销 / 6 通过后撤销 / 7 已删除 / 10 已支付; the approval
  engine's ``OpenSpStatus`` 1–4 use the same meanings.
* feishu: PENDING / APPROVED / REJECTED / CANCELED / DELETED / REVERTED / OVERTIME_CLOSE / OVERTIME_RECOVER. An
  instance closed for overtime ends without approval: withdrawn.

WeCom's approver mode codes are inverted between ``applyevent`` (``apv_rel`` 1 会签 / 2 或签 / 3 依次) and the
``sys_approval_change`` callback (``ApproverAttr`` 1 或签 / 2 会签): ``wecom_apv_rel`` / ``wecom_mode_from_apv_rel``
and ``wecom_mode_from_approver_attr`` translate both to the internal ``ApprovalMode`` "all" (会签) / "any" (或签) /
"sequential" (依次).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pipeline.sync.base import OA_STATUSES, OaStatus

ApprovalMode = Literal["all", "any", "sequential"]


class UnknownStatus(ValueError):
    """The OA reported a status code this adapter does not know."""


TABLES: dict[str, dict[str, OaStatus]] = {
    "weaver": {"0": "rejected", "1": "pending", "2": "pending", "3": "approved"},
    "seeyon": {"0": "approved", "1": "pending", "2": "pending", "3": "pending", "4": "pending", "5": "withdrawn",
               "6": "rejected", "7": "withdrawn", "15": "rejected"},
    "landray": {"00": "rejected", "10": "pending", "11": "rejected", "20": "pending", "30": "approved",
                "40": "withdrawn"},
    "dingtalk": {
        "NEW/": "pending", "RUNNING/": "pending", "COMPLETED/agree": "approved", "COMPLETED/refuse": "rejected",
        "TERMINATED/": "withdrawn", "CANCELED/": "withdrawn",
        "start/": "pending", "finish/agree": "approved", "finish/refuse": "rejected", "terminate/": "withdrawn",
        "delete/": "deleted",
    },
    "wecom": {"1": "pending", "2": "approved", "3": "rejected", "4": "withdrawn", "6": "reverted", "7": "deleted",
              "10": "paid"},
    "feishu": {"PENDING": "pending", "APPROVED": "approved", "REJECTED": "rejected", "CANCELED": "withdrawn",
               "DELETED": "deleted", "REVERTED": "reverted", "OVERTIME_CLOSE": "withdrawn",
               "OVERTIME_RECOVER": "pending"},
}


def dingtalk_key(status_or_type: str, result: str | None) -> str:
    """DingTalk's pair as one key; the result only matters where it decides (COMPLETED / finish)."""
    kind = str(status_or_type or "")
    decisive = kind in ("COMPLETED", "finish")
    return f"{kind}/{(result or '').lower() if decisive else ''}"


def normalise(oa: str, raw: object, overrides: Mapping[str, str] | None = None) -> OaStatus:
    key = str(raw).strip()
    if overrides and key in overrides:
        return overrides[key]  # type: ignore[return-value]  # validated by the mapping schema
    table = TABLES.get(oa)
    if table is None:
        raise ValueError(f"no status table for OA {oa!r}")
    if key not in table:
        raise UnknownStatus(f"{oa} reported status {key!r}, which is not one of {sorted(table)}")
    return table[key]


_APV_REL: dict[ApprovalMode, int] = {"all": 1, "any": 2, "sequential": 3}


def wecom_apv_rel(mode: ApprovalMode) -> int:
    """``applyevent`` ``process.node_list[].apv_rel``: 1 会签, 2 或签, 3 依次."""
    return _APV_REL[mode]


def wecom_mode_from_apv_rel(code: int | str) -> ApprovalMode:
    return {1: "all", 2: "any", 3: "sequential"}[int(code)]  # type: ignore[return-value]


def wecom_mode_from_approver_attr(code: int | str) -> ApprovalMode:
    """``sys_approval_change`` ``SpRecord.ApproverAttr``: 1 或签, 2 会签 — the reverse of ``apv_rel``."""
    return {1: "any", 2: "all"}[int(code)]  # type: ignore[return-value]


def check_overrides(overrides: Mapping[str, str]) -> None:
    bad = {k: v for k, v in overrides.items() if v not in OA_STATUSES}
    if bad:
        raise ValueError(f"status_map values must be one of {sorted(OA_STATUSES)}: {bad}")


__all__ = ["ApprovalMode", "TABLES", "UnknownStatus", "check_overrides", "dingtalk_key", "normalise",
           "wecom_apv_rel", "wecom_mode_from_approver_attr", "wecom_mode_from_apv_rel"]
